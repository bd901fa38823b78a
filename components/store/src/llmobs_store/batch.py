"""Turn spooled OTLP requests into table rows: the pure half of the writer.

:func:`request_items` walks one request item by item (span, log record, data point) and yields
each item's rows, already encoded as ``JSONEachRow`` lines (ClickHouse parses those in C++ far
faster than a Python client can build its native format, and the same bytes work for chDB and
for a server). Any exception while turning one item into rows makes that item a dead letter and
nothing else: the rest of the request, and the requests after it, go on. Values are clamped into
their column's range (``limits.py``) as rows are encoded. A :class:`Batch` collects the items of
one insert; the writer fills it up to ``batch_rows`` rows, also inside one large request.
"""

import base64
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from llmobs_semconv import attributes as A
from llmobs_semconv import chunks
from llmobs_semconv.pricing import PriceTable
from llmobs_store import _content_events, _wire
from llmobs_store._rows import (
    CHUNK_COLUMNS,
    LOG_COLUMNS,
    METRIC_COLUMNS,
    TABLE_COLUMNS,
    content_row,
    encode,
    json_line,
    values_row,
)
from llmobs_store._tree import Node, node_of
from llmobs_store.deadletter import EXPIRED, NORMALISE, RECORD, DeadLetter, bounded, make_key
from llmobs_store.limits import is_expired
from llmobs_store.normaliser import (
    ResourceInfo,
    any_value,
    as_text,
    ch_time,
    key_values,
    normalise_span,
    now_time,
)
from llmobs_store.otlp import KIND_LOGS, KIND_METRICS, KIND_TRACES, valid_span_ids

# (trace, span, role, seq, last, open_ended): what the merger indexes of a stored piece.
ChunkKey = tuple[str, str, str, int, bool, bool]
_SIGNALS = {KIND_TRACES: "traces", KIND_LOGS: "logs", KIND_METRICS: "metrics"}


@dataclass
class Item:
    """What one item of a request became: rows per table, or a dead letter."""

    index: int
    rows: list[tuple[str, str]] = field(default_factory=list)  # (table, JSONEachRow line)
    span_key: str = ""
    node: Node | None = None
    chunk_keys: list[ChunkKey] = field(default_factory=list)
    dead: DeadLetter | None = None
    raw: str = ""  # a dead record's bytes in full (its letter keeps ``record_limit`` of them)


@dataclass
class Batch:
    """Rows per table, the dead letters of the normaliser, and what the merger must look at."""

    rows: dict[str, list[str]] = field(
        default_factory=lambda: {table: [] for table in TABLE_COLUMNS}
    )
    # Where each row came from (spool origin, item index, row of the item), parallel to rows:
    # a refused row's dead-letter key, the same on replay and distinct for every row.
    origins: dict[str, list[str]] = field(
        default_factory=lambda: {table: [] for table in TABLE_COLUMNS}
    )
    chunk_keys: list[ChunkKey] = field(default_factory=list)
    span_keys: list[str] = field(default_factory=list)  # trace_id+span_id, parallel to spans
    spans: int = 0
    bytes: int = 0  # of the encoded rows (str length: ~bytes of the JSON text)
    dead: list[DeadLetter] = field(default_factory=list)
    raw: list[tuple[DeadLetter, str]] = field(default_factory=list)  # letter, record in full
    # The writer's insert progress, kept here so a retry resumes where it stopped: whether the
    # spans were checked for duplicates, (start, end) ranges of a table's rows still to insert
    # (a refused range is split in two), and rows refused on their own.
    checked: bool = False
    parts: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    refused: list[DeadLetter] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)  # span key -> node, for the tree pass
    begun_at: float = 0.0  # wall time the batch was begun (no row of it was stamped earlier)

    @property
    def size(self) -> int:
        return sum(len(rows) for rows in self.rows.values()) + len(self.dead)

    def add_item(self, item: Item, origin: str = "") -> None:
        for number, (table, line) in enumerate(item.rows):
            self.rows[table].append(line)
            self.origins[table].append(f"{origin}/{item.index}/{number}")
            self.bytes += len(line)
        if item.raw and item.dead is not None:
            self.raw.append((item.dead, item.raw))
        if item.span_key:
            self.span_keys.append(item.span_key)
            self.spans += 1
            if item.node is not None:
                self.nodes[item.span_key] = item.node
        self.chunk_keys.extend(item.chunk_keys)
        if item.dead is not None:
            self.dead.append(item.dead)

    def drop_spans(self, known: Callable[[str], bool]) -> int:
        """Remove span rows whose key ``known`` says are stored already; returns how many."""
        keep_rows, keep_keys, keep_origins, seen = [], [], [], set()
        spans = zip(self.rows["spans"], self.span_keys, self.origins["spans"], strict=True)
        for row, key, origin in spans:
            if key in seen or known(key):
                continue
            seen.add(key)
            keep_rows.append(row)
            keep_keys.append(key)
            keep_origins.append(origin)
        dropped = len(self.span_keys) - len(keep_keys)
        self.rows["spans"], self.span_keys = keep_rows, keep_keys
        self.origins["spans"] = keep_origins
        self.spans -= dropped
        return dropped


def request_items(
    kind: int, payload: bytes, prices: PriceTable, *, origin: str, skip: int, record_limit: int
) -> Iterator[Item]:
    """Every item of one spooled request from index ``skip`` on, as rows or a dead letter.

    ``origin`` names the request (its spool position) in dead-letter keys, so a replay writes
    the same keys. Indices count every item, valid or not, so they are stable across replays.
    """
    walker = _Walker(kind, prices, now_time(), origin, record_limit)
    try:
        stream = _wire.request_leaves(kind, payload)
        first = next(stream, None)
    except Exception as exc:  # cannot happen for what accept() parsed; never stop on it
        yield Item(skip, dead=walker.dead(RECORD, exc, base64.b64encode(payload).decode()))
        return
    if first is None:
        return
    leaves = itertools.chain([first], stream)
    walk = {KIND_TRACES: walker.traces, KIND_LOGS: walker.logs, KIND_METRICS: walker.metrics}
    last = skip - 1
    try:
        for item in walk[kind](leaves, skip):
            last = item.index
            yield item
    except Exception as exc:  # the walk itself broke (not one item): keep the rest as bytes
        yield walker.remainder(exc, payload, last + 1)


@dataclass
class _Walker:
    kind: int
    prices: PriceTable
    now: str
    origin: str
    record_limit: int

    def dead(self, category: str, exc: BaseException, record: str, index: int = -1) -> DeadLetter:
        return DeadLetter(
            key=make_key(self.origin, index),
            signal=_SIGNALS.get(self.kind, "traces"),
            category=category,
            reason=f"{type(exc).__name__}: {str(exc)[:500]}",
            table_name="",
            trace_id="",
            span_id="",
            items=1 if index >= 0 else 0,
            record=bounded(record, self.record_limit),
        )

    def remainder(self, exc: BaseException, payload: bytes, first: int) -> Item:
        """The items from ``first`` on of a request whose walk broke: counted, kept in full."""
        try:
            left = max(_wire.count_items(self.kind, payload) - first, 0)
        except Exception:  # accept() parsed it, so this cannot happen; never stop on it
            left = 0
        record = f"from item {first}: {base64.b64encode(payload).decode()}"
        letter = self.dead(RECORD, exc, record, first)
        return Item(first, dead=DeadLetter(**{**letter.__dict__, "items": left}), raw=record)

    def _failed(self, index: int, exc: BaseException, message: Message, ids: Any) -> Item:
        letter = self.dead(NORMALISE, exc, _message_text(message), index)
        trace_id, span_id = bytes(ids.trace_id).hex(), bytes(ids.span_id).hex()
        letter = DeadLetter(**{**letter.__dict__, "trace_id": trace_id, "span_id": span_id})
        return Item(index, dead=letter)

    def traces(self, leaves: _wire.Leaves, skip: int) -> Iterator[Item]:
        group = -1
        resource: ResourceInfo | None = None
        problem: BaseException | None = None
        for index, (in_group, resource_message, span) in enumerate(leaves):
            if index < skip:
                continue
            if in_group != group:
                group, resource, problem = in_group, None, None
                try:
                    resource = ResourceInfo.of(key_values(resource_message.attributes))
                except Exception as exc:  # every span of this resource fails with it
                    problem = exc
            if not valid_span_ids(span):
                yield Item(index)  # rejected (partial_success) when it was accepted
                continue
            try:
                if problem is not None or resource is None:
                    raise RuntimeError(f"resource of the span: {problem!r}")
                yield self._span(index, span, resource)
            except Exception as exc:
                yield self._failed(index, exc, span, span)

    def _span(self, index: int, span: Any, resource: ResourceInfo) -> Item:
        result = normalise_span(span, resource, self.prices, self.now)
        if self._expired(index, "spans", result.row):
            return self._expired_item(index, "spans", result.row)
        rows = [("spans", encode("spans", result.row))]
        rows += [("content", content_row(record, self.now)) for record in result.content]
        key, node = result.row["trace_id"] + result.row["span_id"], node_of(result.row)
        return Item(index, rows, span_key=key, node=node)

    def logs(self, leaves: _wire.Leaves, skip: int) -> Iterator[Item]:
        for index, (_, resource_message, record) in enumerate(leaves):
            if index < skip:
                continue
            try:
                yield self._log(index, record, _plain_resource(resource_message))
            except Exception as exc:
                yield self._failed(index, exc, record, record)

    def _log(self, index: int, record: Any, resource: tuple[str, dict[str, str]]) -> Item:
        attrs = key_values(record.attributes)
        if chunks.is_chunk(attrs, record.event_name):
            return self._chunk(index, record, attrs)
        ts = record.time_unix_nano or record.observed_time_unix_nano
        body = record.body
        event = _content_events.content_event(record.event_name, attrs)
        if event is not None and len(record.trace_id) == 16 and len(record.span_id) == 8:
            # A GenAI event carrying its span's content joins that span's content set.
            found = _content_events.pieces(event, attrs, any_value(body), ts)
            if found:
                return self._pieces(index, record, found)
        text = (
            body.string_value
            if body.WhichOneof("value") == "string_value"
            else as_text(any_value(body))
        )
        values = (
            ch_time(ts) if ts else self.now,
            record.trace_id.hex(),
            record.span_id.hex(),
            resource[0],
            record.severity_text,
            record.severity_number,
            record.event_name or str(attrs.get(chunks.EVENT_NAME_ATTRIBUTE, "")),
            text,
            {k: as_text(v) for k, v in attrs.items()},
            resource[1],
        )
        return self._item(index, "logs", LOG_COLUMNS, values)

    def _chunk(self, index: int, record: Any, attrs: Mapping[str, Any]) -> Item:
        body = (
            record.body.string_value if record.body.WhichOneof("value") == "string_value" else None
        )
        try:
            piece = chunks.ChunkRecord.from_log(
                record.trace_id.hex(), record.span_id.hex(), attrs, body
            )
        except ValueError:
            return Item(index)  # counted as rejected when the request was accepted
        values = (
            piece.trace_id, piece.span_id, piece.role, piece.seq, int(piece.last), piece.format,
            piece.text, piece.redacted, self.now,
        )  # fmt: skip
        key = (piece.trace_id, piece.span_id, piece.role, piece.seq, piece.last, False)
        chunk_row = values_row("content_chunks", CHUNK_COLUMNS, values)
        return Item(index, [("content_chunks", chunk_row)],
                    chunk_keys=[key])  # fmt: skip

    def _pieces(self, index: int, record: Any, found: list[_content_events.Piece]) -> Item:
        trace_id, span_id = record.trace_id.hex(), record.span_id.hex()
        item = Item(index)
        for piece in found:
            values = (
                trace_id, span_id, piece.role, piece.seq, int(piece.last), piece.format,
                piece.text, 0, self.now,
            )  # fmt: skip
            item.rows.append(
                ("content_chunks", values_row("content_chunks", CHUNK_COLUMNS, values))
            )
            item.chunk_keys.append(
                (trace_id, span_id, piece.role, piece.seq, piece.last, piece.open_ended)
            )
        return item

    def metrics(self, leaves: _wire.Leaves, skip: int) -> Iterator[Item]:
        index = -1
        for _, resource_message, metric in leaves:
            which = metric.WhichOneof("data")
            if which is None:
                continue
            for point in getattr(metric, which).data_points:
                index += 1
                if index < skip:
                    continue
                try:
                    resource = _plain_resource(resource_message)
                    yield self._point(index, resource, metric, which, point)
                except Exception as exc:
                    yield self._failed(index, exc, point, _NO_IDS)

    def _point(
        self, index: int, resource: tuple[str, dict[str, str]], metric: Any, which: str, point: Any
    ) -> Item:
        attrs = {k: as_text(v) for k, v in key_values(point.attributes).items()}
        value, count, total, bounds, counts = _point_values(which, point)
        values = (
            ch_time(point.time_unix_nano), metric.name, which, metric.unit,
            resource[0], attrs, resource[1], value, count, total, bounds, counts,
        )  # fmt: skip
        return self._item(index, "metric_points", METRIC_COLUMNS, values)

    def _item(
        self, index: int, table: str, columns: tuple[str, ...], values: tuple[Any, ...]
    ) -> Item:
        row = dict(zip(columns, values, strict=True))
        if self._expired(index, table, row):
            return self._expired_item(index, table, row)
        return Item(index, [(table, encode(table, row))])

    def _expired(self, index: int, table: str, row: dict[str, Any]) -> bool:
        return is_expired(table, row, int(self.now.partition(".")[0]))

    def _expired_item(self, index: int, table: str, row: dict[str, Any]) -> Item:
        # Stored, it would vanish at insert (ClickHouse applies the TTL): say so instead.
        reason = ValueError(f"{table} row older than the retention (TTL) when it arrived")
        letter = self.dead(EXPIRED, reason, json_line(row), index)
        ids = {"trace_id": str(row.get("trace_id", "")), "span_id": str(row.get("span_id", ""))}
        return Item(index, dead=DeadLetter(**{**letter.__dict__, **ids}))


_RESOURCES: dict[int, tuple[Any, tuple[str, dict[str, str]]]] = {}


def _plain_resource(message: Any) -> tuple[str, dict[str, str]]:
    """(service, attributes as text) of a log/metric resource, computed once per message."""
    cached = _RESOURCES.get(id(message))
    if cached is not None and cached[0] is message:
        return cached[1]
    values = key_values(message.attributes)
    found = (
        str(values.get(A.SERVICE_NAME, "unknown_service")),
        {k: as_text(v) for k, v in values.items()},
    )
    _RESOURCES.clear()  # one resource at a time: the walk visits them in order
    _RESOURCES[id(message)] = (message, found)
    return found


_NO_IDS = SimpleNamespace(trace_id=b"", span_id=b"")  # a data point has none


def _message_text(message: Message) -> str:
    try:
        return str(json_format.MessageToJson(message, indent=None))
    except Exception:  # e.g. too deep for JSON: keep the bytes
        return base64.b64encode(message.SerializeToString()).decode()


def _point_values(which: str, point: Any) -> tuple[float, int, float, list[float], list[int]]:
    if which in ("gauge", "sum"):
        number = point.as_double if point.WhichOneof("value") == "as_double" else point.as_int
        return float(number), 0, 0.0, [], []
    if which == "histogram":
        return 0.0, point.count, point.sum, list(point.explicit_bounds), list(point.bucket_counts)
    return 0.0, point.count, point.sum, [], []
