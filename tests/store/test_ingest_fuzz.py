"""Property: any OTLP trace export, through the real receiver and writer into chDB, is either
refused with a 4xx or has every valid span stored or dead-lettered; the writer never stops."""

import itertools
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_service
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from llmobs_semconv import attributes as A
from tests.store.conftest import RunningStore
from tests.store.otlp_requests import PROTOBUF

NOW = time.time_ns()
_unique = itertools.count(1)
KEYS = [
    A.GEN_AI_OPERATION_NAME, A.GEN_AI_REQUEST_MODEL, A.GEN_AI_RESPONSE_MODEL,
    A.GEN_AI_USAGE_INPUT_TOKENS, A.GEN_AI_USAGE_OUTPUT_TOKENS, A.GEN_AI_RESPONSE_FINISH_REASONS,
    A.GEN_AI_INPUT_MESSAGES, A.GEN_AI_OUTPUT_MESSAGES, A.LLMOBS_TTFT, A.LLMOBS_TPOT,
    A.LLMOBS_COST_USD, A.HTTP_RESPONSE_STATUS_CODE, A.SESSION_ID, A.USER_ID, A.ERROR_TYPE,
    A.LLMOBS_SPAN_KIND, A.OI_SPAN_KIND, "k8s.pod.name", A.SERVICE_NAME,
]  # fmt: skip

u64 = st.one_of(
    st.sampled_from([0, 1, 2**63, 2**64 - 1, NOW, NOW + 10**9]), st.integers(0, 2**64 - 1)
)
i64 = st.one_of(st.sampled_from([0, -1, 2**63 - 1, -(2**63)]), st.integers(-(2**63), 2**63 - 1))


class Huge:
    """A long string, drawn as (piece, count) so a reported example stays short."""

    def __init__(self, piece: str, count: int) -> None:
        self.piece, self.count = piece, count

    def __repr__(self) -> str:
        return f"Huge({self.piece!r} * {self.count})"


def txt(value: "str | Huge") -> str:
    return value.piece * value.count if isinstance(value, Huge) else value


huge = st.builds(
    Huge, st.sampled_from(["[", "{", "x", "é", '["stop"']), st.sampled_from([1, 3000, 50000, 70000])
)
texts = st.one_of(st.text(max_size=20), huge)
floats = st.floats(allow_nan=True, allow_infinity=True)
leaf = st.one_of(
    st.tuples(st.just("s"), texts),
    st.tuples(st.just("i"), i64),
    st.tuples(st.just("d"), floats),
    st.tuples(st.just("b"), st.booleans()),
    st.tuples(st.just("y"), st.binary(max_size=20)),
)
values = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.tuples(st.just("a"), st.lists(inner, max_size=4)),
        st.tuples(st.just("k"), st.lists(st.tuples(st.text(max_size=8), inner), max_size=4)),
    ),
    max_leaves=12,
)
deep = st.integers(1, 120).map(lambda n: ("deep", n))  # past protobuf's nesting limit: 400
attributes = st.lists(
    st.tuples(st.one_of(st.sampled_from(KEYS), st.text(max_size=12)), st.one_of(values, deep)),
    max_size=8,
)


def fill(target: common_pb2.AnyValue, value: tuple[str, Any]) -> None:
    tag, item = value
    if tag == "s":
        target.string_value = txt(item)
    elif tag == "i":
        target.int_value = item
    elif tag == "d":
        target.double_value = item
    elif tag == "b":
        target.bool_value = item
    elif tag == "y":
        target.bytes_value = item
    elif tag == "a":
        target.array_value.SetInParent()
        for child in item:
            fill(target.array_value.values.add(), child)
    elif tag == "k":
        target.kvlist_value.SetInParent()
        for key, child in item:
            pair = target.kvlist_value.values.add(key=key)
            fill(pair.value, child)
    else:  # a chain of single-element arrays, ``item`` deep
        node = target
        for _ in range(item):
            node = node.array_value.values.add()
        node.string_value = "bottom"


spans = st.fixed_dictionaries(
    {
        "valid": st.booleans() | st.just(True),
        "bad_ids": st.tuples(st.binary(max_size=7), st.binary(max_size=15)),
        "name": texts,
        "kind": st.one_of(st.integers(0, 5), st.integers(-(2**31), 2**31 - 1)),
        "start": u64,
        "end": u64,
        "attributes": attributes,
        "events": st.lists(st.tuples(texts, u64, attributes), max_size=2),
        "status": st.tuples(st.integers(-(2**31), 2**31 - 1), texts),
    }
)


def build(drafts: list[dict[str, Any]], resource: list[tuple[str, Any]]) -> tuple[bytes, set[str]]:
    request = trace_service.ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    for key, value in resource:
        fill(rs.resource.attributes.add(key=key).value, value)
    valid: set[str] = set()
    out = rs.scope_spans.add().spans
    for draft in drafts:
        span: trace_pb2.Span = out.add(
            name=txt(draft["name"]), kind=draft["kind"],
            start_time_unix_nano=draft["start"], end_time_unix_nano=draft["end"],
        )  # fmt: skip
        if draft["valid"]:
            n = next(_unique)
            span.trace_id = (0xF0 << 120 | n).to_bytes(16, "big")
            span.span_id = (0xF0 << 56 | n).to_bytes(8, "big")
            valid.add(span.trace_id.hex() + span.span_id.hex())
        else:
            span.trace_id, span.span_id = draft["bad_ids"][1], draft["bad_ids"][0]
        for key, value in draft["attributes"]:
            fill(span.attributes.add(key=key).value, value)
        for name, when, attrs in draft["events"]:
            event = span.events.add(name=txt(name), time_unix_nano=when)
            for key, value in attrs:
                fill(event.attributes.add(key=key).value, value)
        span.status.code, span.status.message = draft["status"][0], txt(draft["status"][1])
    return bytes(request.SerializeToString()), valid


def accounted(store: RunningStore, keys: set[str], table: str = "spans") -> Counter[str]:
    """How often each key is stored (rows, no FINAL: twice shows as 2) or dead-lettered (as an
    item; FINAL, since a replay writes the same letter again by design)."""
    state = store.app.state.store
    db = state.storage.database
    signal = {"spans": "traces", "logs": "logs"}[table]
    found = state.storage.query(
        f"SELECT concat(trace_id, span_id) AS k FROM {db}.{table} "
        "WHERE k IN {keys:Array(String)} "
        f"UNION ALL SELECT concat(trace_id, span_id) AS k FROM {db}.dead_letters FINAL "
        "WHERE signal = {signal:String} AND items = 1 AND k IN {keys:Array(String)}",
        {"keys": sorted(keys), "signal": signal},
    )
    return Counter(row["k"] for row in found)


def assert_each_once(found: Counter[str], keys: set[str], what: str) -> None:
    missing, twice = keys - set(found), {k for k, n in found.items() if n > 1}
    assert not missing, f"{len(missing)} acknowledged {what} neither stored nor dead-lettered"
    assert not twice, f"{len(twice)} acknowledged {what} stored or dead-lettered twice"


@pytest.mark.fuzz
@settings(settings.get_profile("fuzz"))
@given(
    drafts=st.lists(spans, min_size=1, max_size=6),
    resource=attributes,
    corrupt=st.none() | st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
)
def test_every_acknowledged_span_is_stored_or_dead_lettered(
    shared_store: RunningStore,
    drafts: list[dict[str, Any]],
    resource: list[tuple[str, Any]],
    corrupt: tuple[int, int] | None,
) -> None:
    body, valid = build(drafts, resource)
    if corrupt is not None:  # e.g. invalid UTF-8 in a string, a broken length
        at = corrupt[0] % len(body)
        body = body[:at] + bytes([corrupt[1]]) + body[at + 1 :]
        try:
            parsed = trace_service.ExportTraceServiceRequest.FromString(body)
        except Exception:
            parsed = None
        valid = set()
        if parsed is not None:
            valid = {
                s.trace_id.hex() + s.span_id.hex()
                for rs in parsed.resource_spans
                for ss in rs.scope_spans
                for s in ss.spans
                if len(s.trace_id) == 16 and len(s.span_id) == 8 and any(s.trace_id)
                and any(s.span_id)
            }  # fmt: skip
    response = httpx.post(shared_store.url + "/v1/traces", content=body, headers=PROTOBUF)
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert 400 <= response.status_code < 500
        return
    state = shared_store.app.state.store
    shared_store.wait_for(lambda: state.spool.depth_bytes == 0, 30)
    assert_each_once(accounted(shared_store, valid), valid, "spans")
    assert state.writer.healthy


logs_drafts = st.lists(
    st.fixed_dictionaries(
        {
            "time": u64,
            "observed": u64,
            "severity": st.one_of(
                st.integers(-(2**31), 2**31 - 1), st.sampled_from([-1, 0, 9, 300])
            ),
            "text": texts,
            "body": st.one_of(values, deep),
            "attributes": attributes,
            "chunk": st.none() | st.tuples(i64, i64, st.booleans()),  # seq, redacted, last
        }
    ),
    min_size=1,
    max_size=6,
)
points = st.lists(
    st.tuples(st.sampled_from(["gauge", "sum", "histogram"]), u64, floats, i64,
              st.lists(floats, max_size=3), st.lists(u64, max_size=4)),
    min_size=1, max_size=5,
)  # fmt: skip


def build_logs(drafts: list[dict[str, Any]]) -> tuple[bytes, set[str]]:
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_service

    from llmobs_semconv import chunks

    request = logs_service.ExportLogsServiceRequest()
    out = request.resource_logs.add().scope_logs.add().log_records
    keys: set[str] = set()
    for draft in drafts:
        n = next(_unique)
        record = out.add(
            time_unix_nano=draft["time"], observed_time_unix_nano=draft["observed"],
            severity_number=draft["severity"], severity_text=txt(draft["text"]),
            trace_id=(0xE0 << 120 | n).to_bytes(16, "big"),
            span_id=(0xE0 << 56 | n).to_bytes(8, "big"),
        )  # fmt: skip
        fill(record.body, draft["body"])
        for key, value in draft["attributes"]:
            fill(record.attributes.add(key=key).value, value)
        if draft["chunk"] is not None:
            seq, redacted, last = draft["chunk"]
            record.event_name = chunks.EVENT_NAME
            for key, value in ((chunks.ROLE, "output"), (chunks.SEQ, seq),
                               (chunks.REDACTED, redacted), (chunks.LAST, last)):  # fmt: skip
                item = record.attributes.add(key=key)
                if isinstance(value, bool):
                    item.value.bool_value = value
                elif isinstance(value, int):
                    item.value.int_value = value
                else:
                    item.value.string_value = value
            record.body.string_value = "piece"
        else:
            keys.add(record.trace_id.hex() + record.span_id.hex())
    return bytes(request.SerializeToString()), keys


def build_metrics(drafts: list[Any]) -> tuple[bytes, set[str]]:
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_service

    request = metrics_service.ExportMetricsServiceRequest()
    out = request.resource_metrics.add().scope_metrics.add().metrics
    names: set[str] = set()
    for which, when, value, number, bounds, counts in drafts:
        metric = out.add(name=f"fuzz.metric.{next(_unique)}")
        names.add(metric.name)
        if which == "histogram":
            point = metric.histogram.data_points.add(
                time_unix_nano=when, count=counts[0] if counts else 0, sum=value
            )
            point.explicit_bounds.extend(bounds)
            point.bucket_counts.extend(counts)
        else:
            point = getattr(metric, which).data_points.add(time_unix_nano=when)
            if number % 2:
                point.as_int = number
            else:
                point.as_double = value
    return bytes(request.SerializeToString()), names


def dead_letters(store: RunningStore, signal: str) -> int:
    state = store.app.state.store
    found = state.storage.query(
        f"SELECT count() AS n FROM {state.storage.database}.dead_letters FINAL "
        "WHERE signal = {s:String} AND items = 1",
        {"s": signal},
    )
    return int(found[0]["n"])


@pytest.mark.fuzz
@settings(settings.get_profile("fuzz"))
@given(signal=st.sampled_from(["logs", "metrics"]), log_drafts=logs_drafts, point_drafts=points)
def test_every_acknowledged_log_record_and_point_is_stored_or_dead_lettered(
    shared_store: RunningStore,
    signal: str,
    log_drafts: list[dict[str, Any]],
    point_drafts: list[Any],
) -> None:
    state = shared_store.app.state.store
    if signal == "logs":
        _check_logs(shared_store, log_drafts)
    else:
        _check_metrics(shared_store, point_drafts)
    assert state.writer.healthy


def _check_logs(shared_store: RunningStore, log_drafts: list[dict[str, Any]]) -> None:
    state = shared_store.app.state.store
    body, keys = build_logs(log_drafts)
    response = httpx.post(shared_store.url + "/v1/logs", content=body, headers=PROTOBUF)
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        shared_store.wait_for(lambda: state.spool.depth_bytes == 0, 30)
        # Keyed by each record's own ids, so dead-lettered content chunks (also signal "logs",
        # ids of their own) are not mistaken for these records.
        assert_each_once(accounted(shared_store, keys, "logs"), keys, "log records")


def _check_metrics(shared_store: RunningStore, point_drafts: list[Any]) -> None:
    state = shared_store.app.state.store
    db = state.storage.database
    body, names = build_metrics(point_drafts)
    dead_before = dead_letters(shared_store, "metrics")
    response = httpx.post(shared_store.url + "/v1/metrics", content=body, headers=PROTOBUF)
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        shared_store.wait_for(lambda: state.spool.depth_bytes == 0, 30)
        stored = state.storage.query(
            f"SELECT count() AS n FROM {db}.metric_points WHERE name IN {{names:Array(String)}}",
            {"names": sorted(names)},
        )[0]["n"]
        assert stored + dead_letters(shared_store, "metrics") - dead_before == len(names)
