"""Request decoding (issue 12, items 4 and 5): gzip members, leftovers, bombs, deep nesting.

Unit checks call ``decompress``/``parse`` directly; the HTTP checks post to a real store and
read the spans back from chDB, so "accepted" means stored, not only answered 200.
"""

import gzip
import json
import time
import zlib
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
from opentelemetry.proto.common.v1 import common_pb2 as common

from llmobs_store._nesting import MAX_JSON_DEPTH, PROTOBUF_MAX_DEPTH
from llmobs_store.normaliser import key_values
from llmobs_store.otlp import (
    JSON,
    KIND_LOGS,
    KIND_TRACES,
    MAX_GZIP_MEMBERS,
    PROTOBUF,
    OtlpError,
    decompress,
    parse,
)
from tests.store.conftest import RunningStore

PROTO_GZIP = {"content-type": PROTOBUF, "content-encoding": "gzip"}


def _request(trace_id: bytes, names: list[str]) -> ts.ExportTraceServiceRequest:
    req = ts.ExportTraceServiceRequest()
    scope = req.resource_spans.add().scope_spans.add()
    for i, name in enumerate(names):
        span = scope.spans.add(trace_id=trace_id, span_id=bytes([1, 2, 3, 4, 5, 6, 7, i + 1]))
        span.name = name
        span.start_time_unix_nano = time.time_ns() - 1_000_000
        span.end_time_unix_nano = time.time_ns()
    return req


def test_every_gzip_member_is_decoded() -> None:
    a, b = b'{"a": 1, ', b'"b": 2}'
    assert decompress(gzip.compress(a) + gzip.compress(b), "gzip", 1024) == a + b
    # Members spanning the pieces the inflater is fed, and an empty member in between.
    big = bytes(range(256)) * 1000
    body = gzip.compress(big, 0) + gzip.compress(b"") + gzip.compress(b"tail")
    assert decompress(body, "gzip", 10**6) == big + b"tail"


def test_leftovers_after_gzip_or_deflate_are_refused() -> None:
    for tail in (b"garbage", b"\x00\x00\x00\x00", b"\x1f"):
        with pytest.raises(OtlpError) as info:
            decompress(gzip.compress(b"{}") + tail, "gzip", 1024)
        assert info.value.status == 400, tail
        assert "member 2" in info.value.message or "ends in the middle" in info.value.message
    with pytest.raises(OtlpError) as info:
        decompress(zlib.compress(b"{}") + b"junk", "deflate", 1024)
    assert info.value.status == 400
    assert "after the end" in info.value.message
    with pytest.raises(OtlpError) as info:
        decompress(gzip.compress(b"x" * 1000)[:-6], "gzip", 4096)
    assert info.value.status == 400
    assert "ends in the middle" in info.value.message


def test_members_together_are_bounded_and_a_bomb_stays_cheap() -> None:
    limit = 1024
    half = gzip.compress(b"x" * (limit // 2 + 1))
    assert len(decompress(half, "gzip", limit)) == limit // 2 + 1
    with pytest.raises(OtlpError) as info:
        decompress(half + half, "gzip", limit)  # each fits, together they do not
    assert info.value.status == 413
    bomb = gzip.compress(b"\x00" * 200_000_000)  # ~200 KB inflating to 200 MB
    started = time.perf_counter()
    with pytest.raises(OtlpError) as info:
        decompress(bomb, "gzip", 32 * 1024**2)
    assert info.value.status == 413
    assert time.perf_counter() - started < 2.0
    # Thousands of empty members would each cost an inflater: refused by count.
    with pytest.raises(OtlpError) as info:
        decompress(gzip.compress(b"") * 100_000, "gzip", limit)
    assert info.value.status == 400
    assert str(MAX_GZIP_MEMBERS) in info.value.message


def test_a_second_gzip_member_spans_are_stored(shared_store: RunningStore) -> None:
    first, second = _request(b"\x41" * 16, ["one"]), _request(b"\x42" * 16, ["two"])
    body = gzip.compress(first.SerializeToString()) + gzip.compress(second.SerializeToString())
    r = httpx.post(shared_store.url + "/v1/traces", content=body, headers=PROTO_GZIP)
    assert r.status_code == 200, r.content
    for trace_id in ("41" * 16, "42" * 16):
        shared_store.wait_for(
            lambda t=trace_id: httpx.get(f"{shared_store.url}/api/v1/traces/{t}").status_code == 200
        )
    r = httpx.post(shared_store.url + "/v1/traces", content=body + b"trailing", headers=PROTO_GZIP)
    assert r.status_code == 400


def _nested(depth: int, kind: str) -> dict[str, Any]:
    """An OTLP/JSON AnyValue with ``depth`` arrays or kvlists around a string (iteratively)."""
    value: dict[str, Any] = {"stringValue": "leaf"}
    for _ in range(depth):
        if kind == "array":
            value = {"arrayValue": {"values": [value]}}
        else:
            value = {"kvlistValue": {"values": [{"key": "k", "value": value}]}}
    return value


def _json_traces(value: dict[str, Any], trace_hex: str = "43" * 16) -> bytes:
    span = {
        "traceId": trace_hex,
        "spanId": "0102030405060708",
        "name": "deep",
        "startTimeUnixNano": str(time.time_ns() - 1000),
        "endTimeUnixNano": str(time.time_ns()),
        "events": [{"name": "e", "attributes": [{"key": "deep", "value": value}]}],
    }
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    # json.dumps recurses too: build the text around the nested part by hand for deep values.
    return json.dumps(doc).encode()


def _deep_json(depth: int, kind: str) -> bytes:
    if kind == "array":
        inner = '{"arrayValue":{"values":[' * depth + '{"stringValue":"x"}' + "]}}" * depth
    else:
        opening = '{"kvlistValue":{"values":[{"key":"k","value":'
        inner = opening * depth + '{"stringValue":"x"}' + "}]}}" * depth
    head = (
        '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"d","attributes":[{"key":"a","value":'
    )
    return (head + inner + "}]}]}]}]}").encode()


@pytest.mark.parametrize("kind", ["array", "kvlist"])
@pytest.mark.parametrize("depth", [1_000, 10_000, 100_000])
def test_deeply_nested_json_is_a_400_naming_the_limit(kind: str, depth: int) -> None:
    with pytest.raises(OtlpError) as info:
        parse(KIND_TRACES, JSON, _deep_json(depth, kind))
    assert info.value.status == 400
    assert str(MAX_JSON_DEPTH) in info.value.message


# A span attribute's AnyValue is the 10th JSON level; each array adds 3 levels, each kvlist 4.
@pytest.mark.parametrize(("kind", "deepest"), [("array", 30), ("kvlist", 22)])
def test_json_nesting_limit_is_exact_and_what_passes_is_safe_downstream(
    kind: str, deepest: int
) -> None:
    ok = parse(KIND_TRACES, JSON, _deep_json(deepest, kind))
    # What the JSON path accepts re-parses from protobuf (the spool's format) and the
    # normaliser's recursive any_value handles it.
    again = parse(KIND_TRACES, PROTOBUF, ok.SerializeToString())
    span = again.resource_spans[0].scope_spans[0].spans[0]
    assert "a" in key_values(span.attributes)
    with pytest.raises(OtlpError) as info:
        parse(KIND_TRACES, JSON, _deep_json(deepest + 1, kind))
    assert info.value.status == 400
    assert f"deeper than {MAX_JSON_DEPTH} levels" in info.value.message


def test_protobuf_as_deep_as_protobuf_allows_is_safe_downstream() -> None:
    req = _request(b"\x43" * 16, ["deep"])
    kv = req.resource_spans[0].scope_spans[0].spans[0].attributes.add(key="deep")
    kv.value.CopyFrom(_proto_nested(40, "array"))
    parsed = parse(KIND_TRACES, PROTOBUF, req.SerializeToString())
    value = key_values(parsed.resource_spans[0].scope_spans[0].spans[0].attributes)["deep"]
    for _ in range(40):
        (value,) = value
    assert value == "leaf"


def _proto_nested(depth: int, kind: str) -> common.AnyValue:
    value = common.AnyValue(string_value="leaf")
    for _ in range(depth):
        if kind == "array":
            value = common.AnyValue(array_value=common.ArrayValue(values=[value]))
        else:
            pair = common.KeyValue(key="k", value=value)
            value = common.AnyValue(kvlist_value=common.KeyValueList(values=[pair]))
    return value


@pytest.mark.parametrize("depth", [PROTOBUF_MAX_DEPTH, 10_000, 100_000])
def test_deep_protobuf_is_a_400_naming_the_limit(depth: int) -> None:
    # Built as bytes: the SDK itself cannot build messages this deep.
    with pytest.raises(OtlpError) as info:
        parse(KIND_LOGS, PROTOBUF, _log_with_body(_deep_array_bytes(depth)))
    assert info.value.status == 400
    assert f"nested deeper than {PROTOBUF_MAX_DEPTH}" in info.value.message


def _deep_array_bytes(depth: int) -> bytes:
    """AnyValue{array_value: ArrayValue{values: [...]}} ``depth`` times, as wire bytes.

    Length-delimited fields put every header before its content, so the message is the
    headers, outermost first, then the leaf; lengths are summed from the inside out."""
    leaf = b"\x0a\x01x"  # AnyValue.string_value = "x"
    headers: list[bytes] = []
    size = len(leaf)
    for _ in range(depth):
        inner = b"\x0a" + _varint(size)  # ArrayValue.values = 1
        size += len(inner)
        outer = b"\x2a" + _varint(size)  # AnyValue.array_value = 5
        size += len(outer)
        headers.append(outer + inner)
    return b"".join(reversed(headers)) + leaf


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _log_with_body(body_value: bytes) -> bytes:
    record = b"\x2a" + _varint(len(body_value)) + body_value  # LogRecord.body = 5
    scope_logs = b"\x12" + _varint(len(record)) + record  # ScopeLogs.log_records = 2
    resource_logs = b"\x12" + _varint(len(scope_logs)) + scope_logs  # ResourceLogs.scope_logs = 2
    return b"\x0a" + _varint(len(resource_logs)) + resource_logs  # resource_logs = 1


def test_deep_json_over_http_is_a_400_and_a_real_depth_is_stored(
    shared_store: RunningStore,
) -> None:
    url = shared_store.url + "/v1/traces"
    for kind in ("array", "kvlist"):
        r = httpx.post(url, content=_deep_json(100_000, kind), headers={"content-type": JSON})
        assert r.status_code == 400, r.text
        assert str(MAX_JSON_DEPTH) in r.json()["message"]
    # What an SDK sends (a log body mirroring a nested dict, a few levels) is stored.
    body = _json_traces(_nested(5, "kvlist"), "44" * 16)
    r = httpx.post(url, content=body, headers={"content-type": JSON})
    assert r.status_code == 200, r.text
    shared_store.wait_for(
        lambda: httpx.get(f"{shared_store.url}/api/v1/traces/{'44' * 16}").status_code == 200
    )
