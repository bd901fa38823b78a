"""Turn spooled OTLP requests into table rows: the pure half of the writer.

A :class:`Batch` collects the rows of several requests per table, already encoded as
``JSONEachRow`` lines: ClickHouse parses those in C++ far faster than a Python client can build
its native format, and the same bytes work for chDB and for a server. The writer inserts a batch
whole and only then moves the spool checkpoint.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_service
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_service
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_service

from llmobs_semconv import attributes as A
from llmobs_semconv import chunks
from llmobs_semconv.pricing import PriceTable
from llmobs_store.normaliser import (
    SPAN_COLUMNS,
    ContentRecord,
    ResourceInfo,
    any_value,
    as_text,
    ch_time,
    key_values,
    normalise_span,
    now_time,
)
from llmobs_store.otlp import KIND_LOGS, KIND_METRICS, KIND_TRACES, valid_span_ids

CONTENT_COLUMNS = (
    "trace_id", "span_id", "role", "format", "text", "complete", "chunks", "bytes", "redacted",
    "updated_at",
)  # fmt: skip
CHUNK_COLUMNS = (
    "trace_id", "span_id", "role", "seq", "last", "format", "text", "redacted", "received_at",
)  # fmt: skip
LOG_COLUMNS = (
    "time", "trace_id", "span_id", "service", "severity", "severity_number", "event_name",
    "body", "attributes", "resource_attributes",
)  # fmt: skip
METRIC_COLUMNS = (
    "time", "name", "type", "unit", "service", "attributes", "resource_attributes", "value",
    "count", "sum", "bucket_bounds", "bucket_counts",
)  # fmt: skip

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "spans": SPAN_COLUMNS,
    "content": CONTENT_COLUMNS,
    "content_chunks": CHUNK_COLUMNS,
    "logs": LOG_COLUMNS,
    "metric_points": METRIC_COLUMNS,
}


@dataclass
class Batch:
    """Rows per table, plus the chunk keys the merger must look at."""

    rows: dict[str, list[str]] = field(
        default_factory=lambda: {table: [] for table in TABLE_COLUMNS}
    )
    chunk_keys: list[tuple[str, str, str, int, bool]] = field(default_factory=list)
    span_keys: list[str] = field(default_factory=list)  # trace_id+span_id, parallel to spans
    spans: int = 0

    @property
    def size(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def add(self, kind: int, payload: bytes, prices: PriceTable) -> None:
        """Decode one spooled request (always valid protobuf: it was parsed before spooling)."""
        now = now_time()
        if kind == KIND_TRACES:
            self._add_traces(payload, prices, now)
        elif kind == KIND_LOGS:
            self._add_logs(payload, now)
        elif kind == KIND_METRICS:
            self._add_metrics(payload)

    def drop_spans(self, known: Callable[[str], bool]) -> int:
        """Remove span rows whose key ``known`` says are stored already; returns how many."""
        keep_rows, keep_keys, seen = [], [], set()
        for row, key in zip(self.rows["spans"], self.span_keys, strict=True):
            if key in seen or known(key):
                continue
            seen.add(key)
            keep_rows.append(row)
            keep_keys.append(key)
        dropped = len(self.span_keys) - len(keep_keys)
        self.rows["spans"], self.span_keys = keep_rows, keep_keys
        self.spans -= dropped
        return dropped

    def add_content(self, record: ContentRecord, now: str) -> None:
        self.rows["content"].append(content_row(record, now))

    def _add_traces(self, payload: bytes, prices: PriceTable, now: str) -> None:
        request = trace_service.ExportTraceServiceRequest.FromString(payload)
        spans = self.rows["spans"]
        for rs in request.resource_spans:
            resource = ResourceInfo.of(key_values(rs.resource.attributes))
            for ss in rs.scope_spans:
                for span in ss.spans:
                    if not valid_span_ids(span):
                        continue
                    result = normalise_span(span, resource, prices, now)
                    spans.append(_line(result.row))
                    self.span_keys.append(result.row["trace_id"] + result.row["span_id"])
                    for record in result.content:
                        self.add_content(record, now)
                    self.spans += 1

    def _add_logs(self, payload: bytes, now: str) -> None:
        request = logs_service.ExportLogsServiceRequest.FromString(payload)
        for rl in request.resource_logs:
            resource = key_values(rl.resource.attributes)
            resource_text = {k: as_text(v) for k, v in resource.items()}
            service = str(resource.get(A.SERVICE_NAME, "unknown_service"))
            for sl in rl.scope_logs:
                for record in sl.log_records:
                    attrs = key_values(record.attributes)
                    if chunks.is_chunk(attrs, record.event_name):
                        self._add_chunk(record, attrs, now)
                        continue
                    ts = record.time_unix_nano or record.observed_time_unix_nano
                    body = record.body
                    text = (
                        body.string_value
                        if body.WhichOneof("value") == "string_value"
                        else as_text(_body_value(body))
                    )
                    self._row(
                        "logs",
                        LOG_COLUMNS,
                        (
                            ch_time(ts) if ts else now,
                            record.trace_id.hex(),
                            record.span_id.hex(),
                            service,
                            record.severity_text,
                            min(record.severity_number, 255),
                            record.event_name or str(attrs.get(chunks.EVENT_NAME_ATTRIBUTE, "")),
                            text,
                            {k: as_text(v) for k, v in attrs.items()},
                            resource_text,
                        ),
                    )

    def _add_chunk(self, record: Any, attrs: Mapping[str, Any], now: str) -> None:
        body = (
            record.body.string_value if record.body.WhichOneof("value") == "string_value" else None
        )
        try:
            piece = chunks.ChunkRecord.from_log(
                record.trace_id.hex(), record.span_id.hex(), attrs, body
            )
        except ValueError:
            return  # counted as rejected when the request was accepted
        self._row(
            "content_chunks",
            CHUNK_COLUMNS,
            (
                piece.trace_id,
                piece.span_id,
                piece.role,
                piece.seq,
                int(piece.last),
                piece.format,
                piece.text,
                piece.redacted,
                now,
            ),
        )
        self.chunk_keys.append((piece.trace_id, piece.span_id, piece.role, piece.seq, piece.last))

    def _row(self, table: str, columns: tuple[str, ...], values: tuple[Any, ...]) -> None:
        self.rows[table].append(_line(dict(zip(columns, values, strict=True))))

    def _add_metrics(self, payload: bytes) -> None:
        request = metrics_service.ExportMetricsServiceRequest.FromString(payload)
        for rm in request.resource_metrics:
            resource = key_values(rm.resource.attributes)
            resource_text = {k: as_text(v) for k, v in resource.items()}
            service = str(resource.get(A.SERVICE_NAME, "unknown_service"))
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    which = metric.WhichOneof("data")
                    if which is None:
                        continue
                    for point in getattr(metric, which).data_points:
                        attrs = {k: as_text(v) for k, v in key_values(point.attributes).items()}
                        value, count, total, bounds, counts = _point_values(which, point)
                        self._row(
                            "metric_points",
                            METRIC_COLUMNS,
                            (
                                ch_time(point.time_unix_nano),
                                metric.name,
                                which,
                                metric.unit,
                                service,
                                attrs,
                                resource_text,
                                value,
                                count,
                                total,
                                bounds,
                                counts,
                            ),
                        )


def _point_values(which: str, point: Any) -> tuple[float, int, float, list[float], list[int]]:
    if which in ("gauge", "sum"):
        number = point.as_double if point.WhichOneof("value") == "as_double" else point.as_int
        return float(number), 0, 0.0, [], []
    if which == "histogram":
        return 0.0, point.count, point.sum, list(point.explicit_bounds), list(point.bucket_counts)
    return 0.0, point.count, point.sum, [], []


def _body_value(body: Any) -> Any:
    return any_value(body)


def _line(row: Mapping[str, Any]) -> str:
    # NaN/inf never reach here (the normaliser drops them); keep the check cheap.
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=str)


def content_row(record: ContentRecord, now: str) -> str:
    """One ``content`` row as a JSONEachRow line."""
    values = (
        record.trace_id, record.span_id, record.role, record.format, record.text,
        int(record.complete), record.chunks, len(record.text.encode("utf-8")), record.redacted,
        now,
    )  # fmt: skip
    return _line(dict(zip(CONTENT_COLUMNS, values, strict=True)))
