"""Poison records: well-formed OTLP that ClickHouse refuses to insert.

Each is valid protobuf the store's receiver accepts (so it is acknowledged and spooled); the
insert is where it fails: a start time past DateTime64's range, a severity number outside
``UInt8``, a finish-reasons attribute that is one unparseable JSON array 50,000 brackets deep.
A store that cannot set such a record aside retries its batch forever and stores nothing after it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_service
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_service
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

SERVICE = "soak-poison"
KINDS = ("span-start-time-max", "log-severity-negative", "span-finish-reasons-brackets")


@dataclass(frozen=True)
class Poison:
    """One poison export request: its kind, OTLP path and body, and the span id it carries."""

    kind: str
    path: str
    body: bytes
    span_id: str  # trace id + span id (hex), "" for a log record


def _attr(key: str, value: str) -> common_pb2.KeyValue:
    return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(string_value=value))


def _resource() -> resource_pb2.Resource:
    return resource_pb2.Resource(attributes=[_attr("service.name", SERVICE)])


def build(number: int) -> Poison:
    """The ``number``-th poison record (the kinds in turn)."""
    kind = KINDS[number % len(KINDS)]
    trace_id, span_id = os.urandom(16), os.urandom(8)
    now = time.time_ns()
    if kind == "log-severity-negative":
        record = logs_pb2.LogRecord(
            time_unix_nano=now,
            observed_time_unix_nano=now,
            severity_number=-1,  # type: ignore[arg-type]  # an open enum: any int32 goes on the wire
            body=common_pb2.AnyValue(string_value=f"soak poison log {number}"),
            trace_id=trace_id,
            span_id=span_id,
        )
        logs = logs_service.ExportLogsServiceRequest(
            resource_logs=[
                logs_pb2.ResourceLogs(
                    resource=_resource(), scope_logs=[logs_pb2.ScopeLogs(log_records=[record])]
                )
            ]
        )
        return Poison(kind, "/v1/logs", logs.SerializeToString(), "")
    start, end = now - 1_000_000, now
    attrs = [_attr("gen_ai.operation.name", "chat")]
    if kind == "span-start-time-max":
        start = end = 2**64 - 1
    else:
        attrs.append(_attr("gen_ai.response.finish_reasons", "[" * 50000))
    span = trace_pb2.Span(
        trace_id=trace_id,
        span_id=span_id,
        name=f"soak poison {kind}",
        kind=trace_pb2.Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=start,
        end_time_unix_nano=end,
        attributes=attrs,
    )
    traces = trace_service.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=_resource(), scope_spans=[trace_pb2.ScopeSpans(spans=[span])]
            )
        ]
    )
    return Poison(kind, "/v1/traces", traces.SerializeToString(), trace_id.hex() + span_id.hex())
