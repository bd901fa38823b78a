"""Streamed-content merge over real HTTP: any order, duplicates, several requests, late pieces."""

import os
import time
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as ls
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from llmobs_semconv import chunks
from tests.store.conftest import RunningStore, serve_store, store_settings

PROTO = {"content-type": "application/x-protobuf"}


def chunk_request(
    trace_id: bytes,
    span_id: bytes,
    role: str,
    pieces: list[tuple[int, str, bool]],
    fmt: str = "text",
) -> bytes:
    request = ls.ExportLogsServiceRequest()
    records = request.resource_logs.add().scope_logs.add().log_records
    for seq, text, last in pieces:
        record = chunks.ChunkRecord(trace_id.hex(), span_id.hex(), role, seq, last, text, fmt)
        log = records.add(
            trace_id=trace_id,
            span_id=span_id,
            event_name=chunks.EVENT_NAME,
            time_unix_nano=time.time_ns(),
            body=AnyValue(string_value=text),
        )
        for key, value in record.attributes().items():
            attr = log.attributes.add(key=key)
            if isinstance(value, bool):
                attr.value.bool_value = value
            elif isinstance(value, int):
                attr.value.int_value = value
            else:
                attr.value.string_value = value
    return request.SerializeToString()


def span_request(trace_id: bytes, span_id: bytes) -> bytes:
    request = ts.ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.add(key="service.name").value.string_value = "merge-svc"
    span = rs.scope_spans.add().spans.add(
        trace_id=trace_id,
        span_id=span_id,
        name="chat m",
        start_time_unix_nano=time.time_ns(),
        end_time_unix_nano=time.time_ns() + 1000,
    )
    span.attributes.add(key="gen_ai.operation.name").value.string_value = "chat"
    return request.SerializeToString()


def post(store: RunningStore, path: str, body: bytes) -> None:
    response = httpx.post(store.url + path, content=body, headers=PROTO)
    assert response.status_code == 200, response.text


def content_of(store: RunningStore, trace_id: bytes) -> dict[str, Any]:
    response = httpx.get(f"{store.url}/api/v1/traces/{trace_id.hex()}")
    if response.status_code != 200:
        return {}
    return response.json()["spans"][0]["content"]


def test_out_of_order_duplicated_pieces_across_requests_merge_into_one(
    shared_store: RunningStore,
) -> None:
    trace_id, span_id = os.urandom(16), os.urandom(8)
    text = "Größe → 模型 streaming output " * 300
    pieces = list(chunks.split_utf8(text, 512))
    n = len(pieces)
    assert n > 5
    indexed = [(i, p, i == n - 1) for i, p in enumerate(pieces)]
    # Second half first (with the last piece and duplicates), then the span, then the rest.
    post(
        shared_store,
        "/v1/logs",
        chunk_request(trace_id, span_id, "output", indexed[n // 2 :][::-1]),
    )
    post(
        shared_store,
        "/v1/logs",
        chunk_request(trace_id, span_id, "output", indexed[n // 2 : n // 2 + 3]),
    )
    post(shared_store, "/v1/traces", span_request(trace_id, span_id))
    post(shared_store, "/v1/logs", chunk_request(trace_id, span_id, "output", indexed[: n // 2]))
    post(
        shared_store,
        "/v1/logs",
        chunk_request(
            trace_id,
            span_id,
            "input",
            [(0, '[{"role":"user",', False), (1, '"content":"q"}]', True)],
            "json",
        ),
    )

    # Wait for the *complete* records: on a loaded machine the grace period (1 s here) may pass
    # between the first and the last request, and an incomplete record is then stored first and
    # replaced once the rest arrives — behaviour the next test covers.
    def complete(role: str) -> bool:
        return bool(content_of(shared_store, trace_id).get(role, {}).get("complete"))

    shared_store.wait_for(lambda: complete("output"))
    shared_store.wait_for(lambda: complete("input"))
    content = content_of(shared_store, trace_id)
    assert content["output"]["text"] == text
    assert content["output"]["complete"] is True
    assert content["output"]["chunks"] == n
    assert content["input"] == {
        "text": '[{"role":"user","content":"q"}]',
        "format": "json",
        "complete": True,
        "chunks": 2,
        "bytes": 31,
        "redacted": 0,
    }
    storage = shared_store.app.state.store.storage
    rows = storage.query(
        f"SELECT count() AS n FROM {storage.database}.content FINAL WHERE trace_id = {{t:String}}",
        {"t": trace_id.hex()},
    )
    assert rows[0]["n"] == 2  # one record per (span, role), duplicates and all


def test_missing_pieces_are_flagged_incomplete_after_grace_and_a_late_piece_completes(
    shared_store: RunningStore,
) -> None:
    trace_id, span_id = os.urandom(16), os.urandom(8)
    post(shared_store, "/v1/traces", span_request(trace_id, span_id))
    post(
        shared_store,
        "/v1/logs",
        chunk_request(trace_id, span_id, "output", [(0, "alpha ", False), (2, "gamma", True)]),
    )
    started = time.monotonic()
    shared_store.wait_for(lambda: bool(content_of(shared_store, trace_id).get("output")))
    # Stored only after the grace period (1 s in tests), never dropped, flagged incomplete.
    assert time.monotonic() - started >= 0.9
    output = content_of(shared_store, trace_id)["output"]
    assert (output["text"], output["complete"], output["chunks"]) == ("alpha gamma", False, 2)
    post(
        shared_store, "/v1/logs", chunk_request(trace_id, span_id, "output", [(1, "beta ", False)])
    )
    shared_store.wait_for(lambda: content_of(shared_store, trace_id)["output"]["complete"] is True)
    assert content_of(shared_store, trace_id)["output"]["text"] == "alpha beta gamma"


def test_invalid_chunk_records_are_rejected_partially(shared_store: RunningStore) -> None:
    trace_id, span_id = os.urandom(16), os.urandom(8)
    request = ls.ExportLogsServiceRequest.FromString(
        chunk_request(trace_id, span_id, "output", [(0, "ok", True)])
    )
    bad = (
        request.resource_logs[0]
        .scope_logs[0]
        .log_records.add(trace_id=trace_id, span_id=span_id, event_name=chunks.EVENT_NAME)
    )
    bad.body.string_value = "no seq"
    bad.attributes.add(key=chunks.ROLE).value.string_value = "output"
    response = httpx.post(
        shared_store.url + "/v1/logs", content=request.SerializeToString(), headers=PROTO
    )
    parsed = ls.ExportLogsServiceResponse.FromString(response.content)
    assert response.status_code == 200
    assert parsed.partial_success.rejected_log_records == 1
    assert chunks.SEQ in parsed.partial_success.error_message


def test_open_sets_are_recovered_after_a_restart(tmp_path: Path) -> None:
    trace_id, span_id = os.urandom(16), os.urandom(8)
    # A long grace period: the pieces are stored but the set is still open when the store stops.
    first = store_settings(tmp_path / "a", content_grace_s=600)
    with serve_store(first) as store:
        post(store, "/v1/logs", chunk_request(trace_id, span_id, "output", [(0, "kept ", False)]))
        post(store, "/v1/traces", span_request(trace_id, span_id))
        store.wait_spans(1)
        assert store.app.state.store.writer.merger.backlog == 1
    again = store_settings(tmp_path / "b", database=first.database, content_grace_s=0.5)
    with serve_store(again) as store:
        store.wait_for(lambda: bool(content_of(store, trace_id).get("output")))
        output = content_of(store, trace_id)["output"]
        assert (output["text"], output["complete"]) == ("kept ", False)
