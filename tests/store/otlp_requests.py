"""OTLP requests built with the real opentelemetry-proto classes, posted over real HTTP."""

import itertools
import time
from typing import Any

import httpx
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_service
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_service
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_service
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

PROTOBUF = {"content-type": "application/x-protobuf"}
_ids = itertools.count(1)


def new_ids() -> tuple[bytes, bytes]:
    """A fresh (trace_id, span_id) pair, unique in the test run."""
    n = next(_ids)
    return (0xABC0_0000_0000_0000_0000_0000_0000_0000 + n).to_bytes(16, "big"), (
        0x5000_0000_0000_0000 + n
    ).to_bytes(8, "big")


def kv(key: str, value: Any) -> common_pb2.KeyValue:
    item = common_pb2.KeyValue(key=key)
    if isinstance(value, bool):
        item.value.bool_value = value
    elif isinstance(value, int):
        item.value.int_value = value
    elif isinstance(value, float):
        item.value.double_value = value
    else:
        item.value.string_value = str(value)
    return item


def span(name: str = "op", **attributes: Any) -> trace_pb2.Span:
    trace_id, span_id = new_ids()
    now = time.time_ns()
    result = trace_pb2.Span(
        trace_id=trace_id,
        span_id=span_id,
        name=name,
        start_time_unix_nano=now - 1_000_000,
        end_time_unix_nano=now,
    )
    result.attributes.extend(kv(k.replace("__", "."), v) for k, v in attributes.items())
    return result


def traces(*spans: trace_pb2.Span, service: str = "ingest-test") -> bytes:
    request = trace_service.ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.append(kv("service.name", service))
    rs.scope_spans.add().spans.extend(spans)
    return bytes(request.SerializeToString())


def logs(*records: logs_pb2.LogRecord) -> bytes:
    request = logs_service.ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    rl.resource.attributes.append(kv("service.name", "ingest-test"))
    rl.scope_logs.add().log_records.extend(records)
    return bytes(request.SerializeToString())


def metrics(request: metrics_service.ExportMetricsServiceRequest) -> bytes:
    return bytes(request.SerializeToString())


def post(url: str, signal: str, body: bytes) -> httpx.Response:
    return httpx.post(f"{url}/v1/{signal}", content=body, headers=PROTOBUF, timeout=60)


def span_key(item: trace_pb2.Span) -> str:
    return bytes(item.trace_id).hex() + bytes(item.span_id).hex()
