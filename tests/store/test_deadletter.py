"""No poison pill: a value ClickHouse refuses, or a record the normaliser chokes on, affects
that item alone (clamped, or dead-lettered with its reason); every other item is stored."""

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.logs.v1 import logs_pb2

from llmobs_semconv import chunks
from llmobs_store.storage import Storage
from tests.store.conftest import RunningStore, serve_store, store_settings
from tests.store.otlp_requests import kv, logs, new_ids, post, span, span_key, traces

MAX_NS = 2**64 - 1


def rows(store: RunningStore, sql: str) -> list[dict[str, Any]]:
    state = store.app.state.store
    return state.storage.query(sql.replace("{db}", state.storage.database))


def stored_spans(store: RunningStore) -> set[str]:
    found = rows(store, "SELECT concat(trace_id, span_id) AS k FROM {db}.spans")
    return {r["k"] for r in found}


def dead_spans(store: RunningStore) -> set[str]:
    found = rows(
        store,
        "SELECT concat(trace_id, span_id) AS k FROM {db}.dead_letters FINAL "
        "WHERE signal = 'traces' AND items = 1",
    )
    return {r["k"] for r in found}


def metric(store: RunningStore, name: str, **labels: str) -> float:
    text = httpx.get(store.url + "/metrics").text
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} ") or (not labels and line.startswith(name + " ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def log_record(**fields: Any) -> logs_pb2.LogRecord:
    trace_id, span_id = new_ids()
    attributes = fields.pop("attributes", {})
    record = logs_pb2.LogRecord(trace_id=trace_id, span_id=span_id, **fields)
    record.attributes.extend(kv(k, v) for k, v in attributes.items())
    return record


def chunk(redacted: int) -> logs_pb2.LogRecord:
    record = log_record(
        event_name=chunks.EVENT_NAME,
        attributes={chunks.ROLE: "output", chunks.SEQ: 0, chunks.LAST: True,
                    chunks.REDACTED: redacted},
    )  # fmt: skip
    record.body.string_value = "done"
    return record


def test_out_of_range_values_are_clamped_and_ingest_goes_on(store: RunningStore) -> None:
    severity = log_record(severity_number=-1, time_unix_nano=time.time_ns())
    severity.body.string_value = "severity -1"
    late = log_record(time_unix_nano=MAX_NS)
    late.body.string_value = "past 2286"
    far = span("far future")
    far.start_time_unix_nano = far.end_time_unix_nano = MAX_NS
    epoch = span("at the epoch")  # older than the retention: the TTL would drop it silently
    epoch.start_time_unix_nano = epoch.end_time_unix_nano = 0
    for signal, body in [
        ("logs", logs(severity, late, chunk(redacted=-1))),
        ("traces", traces(far, epoch)),
    ]:
        assert post(store.url, signal, body).status_code == 200
    good = span("after the bad ones")
    assert post(store.url, "traces", traces(good)).status_code == 200
    store.wait_for(lambda: span_key(good) in stored_spans(store), 30)
    assert span_key(far) in stored_spans(store)
    far_start = rows(
        store, "SELECT toString(start_time) AS t FROM {db}.spans WHERE name = 'far future'"
    )
    assert far_start[0]["t"].startswith("2106-01-08")
    got = {
        r["body"]: r
        for r in rows(store, "SELECT body, severity_number, toString(time) AS t FROM {db}.logs")
    }
    assert got["severity -1"]["severity_number"] == 0
    assert got["past 2286"]["t"].startswith("2106-01-08")  # the TTL reads it as DateTime
    redacted = rows(store, "SELECT redacted FROM {db}.content_chunks")
    assert [r["redacted"] for r in redacted] == [0]
    assert httpx.get(store.url + "/readyz").status_code == 200
    listed = store.get("/api/v1/dead-letters")
    assert listed["total"] == 1
    assert listed["items"][0]["category"] == "older_than_retention"
    assert listed["items"][0]["span_id"] == bytes(epoch.span_id).hex()


def test_a_row_clickhouse_refuses_is_bisected_out_and_dead_lettered(
    store: RunningStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the clamp, severity -1 reaches ClickHouse, which refuses the whole insert.
    monkeypatch.setattr("llmobs_store._rows.clamp_row", lambda table, row: row)
    records = [log_record(severity_number=9) for _ in range(6)]
    records.insert(3, log_record(severity_number=-1))
    for record in records:
        record.body.string_value = "sev " + str(record.severity_number)
    assert post(store.url, "logs", logs(*records)).status_code == 200
    good = span("after")
    assert post(store.url, "traces", traces(good)).status_code == 200
    store.wait_for(lambda: span_key(good) in stored_spans(store), 30)
    counts = rows(store, "SELECT severity_number AS s, count() AS n FROM {db}.logs GROUP BY s")
    assert [(r["s"], r["n"]) for r in counts] == [(9, 6)]
    listed = store.get("/api/v1/dead-letters")
    assert listed["total"] == 1
    assert listed["totals"] == {"traces": 0, "logs": 1, "metrics": 0}
    letter = listed["items"][0]
    assert letter["signal"] == "logs"
    assert letter["category"] == "clickhouse_refused"
    assert "Code: 72" in letter["reason"]
    assert letter["trace_id"] == bytes(records[3].trace_id).hex()
    assert '"severity_number":-1' in letter["record"]
    labels = {"signal": "logs", "reason": "clickhouse_refused"}
    assert metric(store, "llmobs_store_dead_lettered_total", **labels) == 1.0
    assert httpx.get(store.url + "/readyz").status_code == 200


def test_a_span_the_normaliser_chokes_on_loses_nothing_else_even_after_restart(
    tmp_path: Path,
) -> None:
    settings = store_settings(tmp_path, batch_wait_s=0.5)
    acknowledged: set[str] = set()
    poison = span("poison", gen_ai__response__finish_reasons="[" * 50000)
    with serve_store(settings) as store:
        for n in range(40):
            batch = [span(f"innocent {n}.{i}") for i in range(1 + n % 3)]
            if n == 5:
                batch.insert(1, poison)
            assert post(store.url, "traces", traces(*batch)).status_code == 200
            acknowledged |= {span_key(s) for s in batch}
        store.wait_for(lambda: store.app.state.store.spool.depth_bytes == 0, 60)
        stored, dead = stored_spans(store), dead_spans(store)
        assert dead == {span_key(poison)}
        assert stored == acknowledged - dead
        listed = store.get("/api/v1/dead-letters")["items"]
        assert listed[0]["category"] == "normalise_error"
        assert listed[0]["reason"].startswith("RecursionError")
        assert '"name": "poison"' in listed[0]["record"] or '"name":"poison"' in listed[0]["record"]
        labels = {"signal": "traces", "reason": "normalise_error"}
        assert metric(store, "llmobs_store_dead_lettered_total", **labels) == 1.0
    with serve_store(settings) as store:
        store.wait_for(lambda: store.app.state.store.spool.depth_bytes == 0, 60)
        total = rows(store, "SELECT count() AS n FROM {db}.spans")[0]["n"]
        assert total == len(acknowledged) - 1  # nothing lost, nothing stored twice
        assert dead_spans(store) == {span_key(poison)}


def test_dead_letters_go_to_a_file_when_even_that_insert_fails(
    store: RunningStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmobs_store.storage import DataRejected

    real_insert = Storage.insert

    def refuse_dead_letters(self: Storage, table: str, lines: Any) -> None:
        if table == "dead_letters":
            raise DataRejected("Code: 27. refused for the test")
        real_insert(self, table, lines)

    monkeypatch.setattr(Storage, "insert", refuse_dead_letters)
    poison = span("poison", gen_ai__response__finish_reasons="[" * 50000)
    good = span("good")
    assert post(store.url, "traces", traces(poison, good)).status_code == 200
    store.wait_for(lambda: span_key(good) in stored_spans(store), 30)
    store.wait_for(lambda: store.app.state.store.spool.depth_bytes == 0)
    listed = store.get("/api/v1/dead-letters")
    assert listed["file_fallback"]["count"] == 1
    text = Path(listed["file_fallback"]["path"]).read_text()
    assert bytes(poison.span_id).hex() in text
    assert "RecursionError" in text
    assert metric(store, "llmobs_store_dead_lettered_total", signal="traces",
                  reason="normalise_error") == 1.0  # fmt: skip


def test_dead_letter_api_is_paged_newest_first_behind_the_query_token(tmp_path: Path) -> None:
    settings = store_settings(tmp_path, query_token="q-secret")
    auth = {"authorization": "Bearer q-secret"}
    with serve_store(settings) as store:
        poisons = [span(f"p{i}", gen_ai__response__finish_reasons="[" * 5000) for i in range(3)]
        for poison in poisons:
            assert post(store.url, "traces", traces(poison)).status_code == 200
            store.wait_for(lambda: store.app.state.store.spool.depth_bytes == 0)
        assert httpx.get(store.url + "/api/v1/dead-letters").status_code == 401
        first = httpx.get(store.url + "/api/v1/dead-letters?limit=2", headers=auth).json()
        second = httpx.get(store.url + "/api/v1/dead-letters?limit=2&offset=2", headers=auth).json()
        assert first["total"] == 3
        assert first["totals"]["traces"] == 3
        ids = [i["span_id"] for i in first["items"] + second["items"]]
        assert ids == [bytes(p.span_id).hex() for p in reversed(poisons)]
        assert first["items"][0]["time_ms"] >= first["items"][1]["time_ms"]
        bad = httpx.get(store.url + "/api/v1/dead-letters?limit=0", headers=auth)
        assert bad.status_code == 422


def test_a_merged_record_clickhouse_refuses_does_not_hold_up_the_other_sets(
    store: RunningStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmobs_store.storage import DataRejected

    bad, good = chunk(redacted=0), chunk(redacted=0)
    bad_trace = bytes(bad.trace_id).hex()
    real_insert = Storage.insert

    def refuse_one_set(self: Storage, table: str, lines: Any) -> None:
        if table == "content" and any(bad_trace in line for line in lines):
            raise DataRejected("Code: 27. refused for the test", 27)
        real_insert(self, table, lines)

    monkeypatch.setattr(Storage, "insert", refuse_one_set)
    assert post(store.url, "logs", logs(bad, good)).status_code == 200
    good_trace = bytes(good.trace_id).hex()
    store.wait_for(
        lambda: (
            rows(store, f"SELECT count() AS n FROM {{db}}.content WHERE trace_id = '{good_trace}'")[
                0
            ]["n"]
            == 1
        )
    )
    store.wait_for(lambda: store.get("/api/v1/dead-letters")["total"] == 1)
    letter = store.get("/api/v1/dead-letters")["items"][0]
    assert letter["table_name"] == "content"
    assert letter["trace_id"] == bad_trace
    assert letter["items"] == 0  # the pieces are stored; only the merged record is missing
    assert store.app.state.store.writer.merger.backlog == 0
