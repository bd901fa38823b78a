"""Walk an OTLP export request on the protobuf wire, one span / log record / metric at a time.

Parsing a whole request materialises every item at once (a 27 MiB request of 600k spans is
~100 MiB of messages); walking the bytes parses one resource and one item at a time, so the
writer's memory does not grow with the request. All three signals share the shape
``request.resource_X[1] → {resource[1], scope_X[2] → {items[2]}}``; the field numbers are
read from the generated classes' descriptors, not copied.
"""

from collections.abc import Iterator
from typing import Any

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_service
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_service
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_service
from opentelemetry.proto.resource.v1 import resource_pb2

from llmobs_store.otlp import KIND_LOGS, KIND_METRICS, KIND_TRACES

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


class WireError(ValueError):
    """The bytes are not the protobuf this walker expects (the caller parses them whole)."""


def _varint(data: memoryview, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise WireError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: memoryview, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(field number, start, end) of every length-delimited field in ``data[start:end]``."""
    pos = start
    while pos < end:
        tag, pos = _varint(data, pos, end)
        number, wire = tag >> 3, tag & 7
        if wire == _LENGTH:
            length, pos = _varint(data, pos, end)
            if pos + length > end:
                raise WireError("field runs past its message")
            yield number, pos, pos + length
            pos += length
        elif wire == _VARINT:
            _, pos = _varint(data, pos, end)
        elif wire == _FIXED64:
            pos += 8
        elif wire == _FIXED32:
            pos += 4
        else:
            raise WireError(f"unsupported wire type {wire}")
    if pos != end:
        raise WireError("field runs past its message")


def _number(cls: Any, name: str) -> int:
    return int(cls.DESCRIPTOR.fields_by_name[name].number)


def items(
    payload: bytes, request_cls: Any, group: str, scope: str, leaf: str
) -> Iterator[tuple[int, resource_pb2.Resource, Any]]:
    """(group index, its resource, one item) for every item, in wire (= repeated field) order.

    Raises WireError before yielding anything when the request does not walk cleanly.
    """
    group_field = request_cls.DESCRIPTOR.fields_by_name[group]
    group_cls = group_field.message_type._concrete_class
    scope_field = group_cls.DESCRIPTOR.fields_by_name[scope]
    scope_cls = scope_field.message_type._concrete_class
    leaf_field = scope_cls.DESCRIPTOR.fields_by_name[leaf]
    leaf_cls = leaf_field.message_type._concrete_class
    resource_no, scope_no = _number(group_cls, "resource"), scope_field.number
    data = memoryview(payload)

    def walk() -> Iterator[tuple[int, bytes, Iterator[tuple[int, int]]]]:
        groups = (x for x in fields(data, 0, len(data)) if x[0] == group_field.number)
        for index, (_, start, end) in enumerate(groups):
            inner = [x for x in fields(data, start, end) if x[0] in (resource_no, scope_no)]
            resource = b"".join(data[s:e] for n, s, e in inner if n == resource_no)
            leaves = (
                (s, e)
                for n0, scope_start, scope_end in inner
                if n0 == scope_no
                for n, s, e in fields(data, scope_start, scope_end)
                if n == leaf_field.number
            )
            yield index, resource, leaves

    # A first pass only checks the framing (storing nothing per item): a WireError must come
    # before the first item, so the caller can fall back to parsing the request whole.
    for _, _, leaves in walk():
        for _ in leaves:
            pass
    for index, resource, leaves in walk():
        parsed = resource_pb2.Resource.FromString(resource)
        for start, end in leaves:
            yield index, parsed, leaf_cls.FromString(data[start:end])


Leaves = Iterator[tuple[int, Any, Any]]  # (resource group index, resource, span/record/metric)
_SHAPES: dict[int, tuple[Any, str, str, str]] = {
    KIND_TRACES: (trace_service.ExportTraceServiceRequest, "resource_spans", "scope_spans",
                  "spans"),
    KIND_LOGS: (logs_service.ExportLogsServiceRequest, "resource_logs", "scope_logs",
                "log_records"),
    KIND_METRICS: (metrics_service.ExportMetricsServiceRequest, "resource_metrics",
                   "scope_metrics", "metrics"),
}  # fmt: skip


def request_leaves(kind: int, payload: bytes) -> Leaves:
    """The request's items one at a time off the wire; parsed whole if the walk fails."""
    request_cls, group, scope, leaf = _SHAPES[kind]
    try:
        first = None
        walked = items(payload, request_cls, group, scope, leaf)
        first = next(walked, None)
    except Exception:  # e.g. WireError: the same items, in the same order, parsed at once
        request = request_cls.FromString(payload)
        for index, resource_group in enumerate(getattr(request, group)):
            for scoped in getattr(resource_group, scope):
                for item in getattr(scoped, leaf):
                    yield index, resource_group.resource, item
        return
    if first is not None:
        yield first
        yield from walked


def count_items(kind: int, payload: bytes) -> int:
    """How many items (spans, log records, data points) the request holds, parsed whole."""
    request_cls, group, scope, leaf = _SHAPES[kind]
    request = request_cls.FromString(payload)
    scopes = [s for g in getattr(request, group) for s in getattr(g, scope)]
    leaves = [item for s in scopes for item in getattr(s, leaf)]
    if kind != KIND_METRICS:
        return len(leaves)
    kinds = [(m, m.WhichOneof("data")) for m in leaves]
    return sum(len(getattr(m, which).data_points) for m, which in kinds if which)
