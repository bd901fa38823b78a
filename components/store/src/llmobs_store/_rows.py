"""Rows as ClickHouse reads them: each table's columns and one row as a ``JSONEachRow`` line.

Values are clamped into their column's range (``limits.py``) as a row is encoded, so no row the
store builds can make ClickHouse refuse a batch.
"""

import json
from collections.abc import Mapping
from typing import Any

from llmobs_store.limits import clamp_row
from llmobs_store.normaliser import SPAN_COLUMNS, ContentRecord

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


def values_row(table: str, columns: tuple[str, ...], values: tuple[Any, ...]) -> str:
    return encode(table, dict(zip(columns, values, strict=True)))


def encode(table: str, row: dict[str, Any]) -> str:
    """One row as a JSONEachRow line, its values clamped into their columns' ranges."""
    return json_line(clamp_row(table, row))


def json_line(row: Mapping[str, Any]) -> str:
    # NaN/inf never reach here (the normaliser drops them); keep the check cheap.
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=str)


def content_row(record: ContentRecord, now: str) -> str:
    """One ``content`` row as a JSONEachRow line."""
    values = (
        record.trace_id, record.span_id, record.role, record.format, record.text,
        int(record.complete), record.chunks, len(record.text.encode("utf-8", "replace")),
        record.redacted, now,
    )  # fmt: skip
    return values_row("content", CONTENT_COLUMNS, values)
