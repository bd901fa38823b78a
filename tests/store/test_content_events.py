"""GenAI per-message log events merge into one content record like chunk records do: in any
order, split across requests, duplicated, late, across the wrap of their sequence numbers."""

import json
import os
import time
from typing import Any

import httpx
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as ls
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue, KeyValueList

from llmobs_store import _content_events
from tests.store.conftest import RunningStore
from tests.store.test_merge import post, span_request

WRAP = 2**32


def _value(v: Any) -> AnyValue:
    if isinstance(v, dict):
        return AnyValue(
            kvlist_value=KeyValueList(
                values=[KeyValue(key=k, value=_value(x)) for k, x in v.items()]
            )
        )
    if isinstance(v, int):
        return AnyValue(int_value=v)
    return AnyValue(string_value=str(v))


def events_request(trace_id: bytes, span_id: bytes, events: list[tuple[str, Any, int]]) -> bytes:
    """Log records as the OTel SDK exports them: event name, structured body, observed time."""
    request = ls.ExportLogsServiceRequest()
    records = request.resource_logs.add().scope_logs.add().log_records
    for name, body, observed_ns in events:
        record = records.add(
            trace_id=trace_id,
            span_id=span_id,
            event_name=name,
            observed_time_unix_nano=observed_ns,
        )
        if body is not None:
            record.body.CopyFrom(_value(body))
        record.attributes.add(key="gen_ai.system").value.string_value = "openai"
    return request.SerializeToString()


def _prompt(store: RunningStore, trace_id: bytes, messages: int) -> list[Any]:
    found: list[Any] = []

    def ready() -> bool:
        response = httpx.get(f"{store.url}/api/v1/traces/{trace_id.hex()}")
        if response.status_code != 200:
            return False
        content = response.json()["spans"][0]["content"]["input"]
        if not content:
            return False
        found[:] = json.loads(content["text"])
        return len(found) >= messages

    store.wait_for(ready)
    return found


def test_messages_in_any_order_across_requests_and_the_wrap(shared_store: RunningStore) -> None:
    trace_id, span_id = os.urandom(16), os.urandom(8)
    base = 7 * WRAP - 2_000  # the low 32 bits of these stamps wrap between messages 1 and 2
    emitted = [
        ("gen_ai.system.message", {"content": "sys"}, base),
        ("gen_ai.user.message", {"content": "first"}, base + 1_500),
        ("gen_ai.assistant.message", {"content": "reply"}, base + 3_000),
        ("gen_ai.user.message", {"content": "second"}, base + 4_500),
    ]
    post(shared_store, "/v1/traces", span_request(trace_id, span_id))
    # Newest first, split in two requests, one message sent twice.
    post(shared_store, "/v1/logs", events_request(trace_id, span_id, emitted[:1:-1]))
    post(shared_store, "/v1/logs", events_request(trace_id, span_id, emitted[1::-1] + emitted[3:]))
    prompt = _prompt(shared_store, trace_id, 4)
    assert [(m["role"], m["content"]) for m in prompt] == [
        ("system", "sys"),
        ("user", "first"),
        ("assistant", "reply"),
        ("user", "second"),
    ]
    # A late message (after the set was merged) re-merges the set, in its place.
    late = ("gen_ai.user.message", {"content": "third"}, base + 6_000)
    post(shared_store, "/v1/logs", events_request(trace_id, span_id, [late]))
    prompt = _prompt(shared_store, trace_id, 5)
    assert [m["content"] for m in prompt] == ["sys", "first", "reply", "second", "third"]


def test_events_without_content_or_span_stay_log_records(shared_store: RunningStore) -> None:
    trace_id, span_id = os.urandom(16), os.urandom(8)
    # Content capture off: the openai-v2 instrumentation sends the events with no body.
    post(
        shared_store,
        "/v1/logs",
        events_request(trace_id, span_id, [("gen_ai.user.message", None, time.time_ns())]),
    )
    # No span context: nothing to attach the content to.
    post(
        shared_store,
        "/v1/logs",
        events_request(b"", b"", [("gen_ai.user.message", {"content": "orphan"}, time.time_ns())]),
    )
    state = shared_store.app.state.store
    db = state.storage.database

    def logged() -> bool:
        rows = state.storage.query(
            f"SELECT count() AS n FROM {db}.logs WHERE event_name = 'gen_ai.user.message' "
            f"AND (trace_id = '{trace_id.hex()}' OR body LIKE '%orphan%')"
        )
        return int(rows[0]["n"]) == 2

    shared_store.wait_for(logged)
    chunks = state.storage.query(
        f"SELECT count() AS n FROM {db}.content_chunks WHERE trace_id = '{trace_id.hex()}'"
    )
    assert int(chunks[0]["n"]) == 0


def test_order_rotates_past_the_wrap() -> None:
    assert _content_events.order([5, 3, 9]) == [3, 5, 9]
    assert _content_events.order([WRAP - 10, 4, WRAP - 3]) == [WRAP - 10, WRAP - 3, 4]
    assert _content_events.order([]) == []
