"""The gateway's span exporter: OTLP/HTTP protobuf, encoded by hand.

Why not the SDK's ``OTLPSpanExporter``: its encoder builds a protobuf object per attribute and per
value, and the gateway's spans carry ~30 attributes; on the 2-core benchmark that was ~100 us of
CPU per request on the export thread, the largest cost left after the relay itself. This module
writes the same ``ExportTraceServiceRequest`` wire format directly and reuses the bytes of
attribute pairs that repeat from span to span (model, upstream, operation, caller identity...).
A test decodes its output with the official protobuf classes and compares it with the SDK
encoder's output for the same spans.
"""

from __future__ import annotations

import logging
import random
import struct
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import requests
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind

log = logging.getLogger("llmobs_gateway.export")

_DOUBLE = struct.Struct("<d").pack
_FIXED64 = struct.Struct("<Q").pack
_FIXED32 = struct.Struct("<I").pack
_SMALL = [bytes([n]) for n in range(128)]
_KINDS = {
    SpanKind.INTERNAL: b"\x30\x01",
    SpanKind.SERVER: b"\x30\x02",
    SpanKind.CLIENT: b"\x30\x03",
    SpanKind.PRODUCER: b"\x30\x04",
    SpanKind.CONSUMER: b"\x30\x05",
}
_HAS_IS_REMOTE = 0x100  # SpanFlags: the context says whether the parent is remote
_IS_REMOTE = 0x200
_CACHE_LIMIT = 10_000


def _varint(n: int) -> bytes:
    if n < 0x80:
        return _SMALL[n]
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field."""
    return tag + _varint(len(payload)) + payload


def _any_value(value: Any) -> bytes:
    """The payload of an ``AnyValue`` message."""
    if value is None:
        return b""
    if isinstance(value, bool):  # before int: bool is an int
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return _field(b"\x0a", value.encode("utf-8"))
    if isinstance(value, int):
        return b"\x18" + _varint(value & 0xFFFFFFFFFFFFFFFF)  # int64: two's complement
    if isinstance(value, float):
        return b"\x21" + _DOUBLE(value)
    if isinstance(value, bytes):
        return _field(b"\x3a", value)
    if isinstance(value, Sequence):
        return _field(b"\x2a", b"".join(_field(b"\x0a", _any_value(v)) for v in value))
    if isinstance(value, Mapping):
        pairs = b"".join(_field(b"\x0a", _key_value(str(k), v)) for k, v in value.items())
        return _field(b"\x32", pairs)
    raise TypeError(f"cannot encode {type(value).__name__} as an OTLP value")


def _key_value(key: str, value: Any) -> bytes:
    """The payload of a ``KeyValue`` message."""
    return _field(b"\x0a", key.encode("utf-8")) + _field(b"\x12", _any_value(value))


def _span_flags(parent: SpanContext | None) -> int:
    if parent is not None and parent.is_remote:
        return _HAS_IS_REMOTE | _IS_REMOTE
    return _HAS_IS_REMOTE


class SpanEncoder:
    """ReadableSpans -> ``ExportTraceServiceRequest`` bytes (OTLP protobuf)."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[bytes, str, type, object], bytes] = {}  # by field tag too
        self._resources: dict[Resource, bytes] = {}
        self._scopes: dict[InstrumentationScope | None, bytes] = {}

    def _attributes(self, tag: bytes, attributes: Mapping[str, Any] | None) -> list[bytes]:
        out: list[bytes] = []
        if not attributes:
            return out
        pairs = self._pairs
        for key, value in attributes.items():
            kind = type(value)
            # Strings, ints and bools repeat from span to span (model, upstream, status...);
            # latencies and costs never do, and sequences are not hashable.
            cacheable = kind is str or kind is int or kind is bool
            cached = pairs.get((tag, key, kind, value)) if cacheable else None
            if cached is None:
                try:
                    cached = _field(tag, _key_value(key, value))
                except (TypeError, ValueError) as exc:
                    log.warning("attribute %s not exported: %s", key, exc)
                    continue
                if cacheable:
                    if len(pairs) >= _CACHE_LIMIT:
                        pairs.clear()  # bounded: values come from requests
                    pairs[(tag, key, kind, value)] = cached
            out.append(cached)
        return out

    def _resource(self, resource: Resource) -> bytes:
        encoded = self._resources.get(resource)
        if encoded is None:
            encoded = _field(b"\x0a", b"".join(self._attributes(b"\x0a", resource.attributes)))
            if len(self._resources) < 16:
                self._resources[resource] = encoded
        return encoded

    def _scope(self, scope: InstrumentationScope | None) -> bytes:
        encoded = self._scopes.get(scope)
        if encoded is None:
            body = b""
            if scope is not None:
                if scope.name:
                    body += _field(b"\x0a", scope.name.encode())
                if scope.version:
                    body += _field(b"\x12", scope.version.encode())
                body += b"".join(self._attributes(b"\x1a", scope.attributes))
            encoded = _field(b"\x0a", body)
            if len(self._scopes) < 16:
                self._scopes[scope] = encoded
        return encoded

    def span(self, span: ReadableSpan) -> bytes:
        """One ``Span`` message (without its field tag)."""
        ctx = span.get_span_context()
        assert ctx is not None
        parts = [
            b"\x0a\x10" + ctx.trace_id.to_bytes(16, "big"),
            b"\x12\x08" + ctx.span_id.to_bytes(8, "big"),
        ]
        if ctx.trace_state:
            state = ",".join(f"{k}={v}" for k, v in ctx.trace_state.items())
            parts.append(_field(b"\x1a", state.encode()))
        parent = span.parent
        if parent is not None:
            parts.append(b"\x22\x08" + parent.span_id.to_bytes(8, "big"))
        if span.name:
            parts.append(_field(b"\x2a", span.name.encode("utf-8")))
        parts.append(_KINDS[span.kind])
        if span.start_time:
            parts.append(b"\x39" + _FIXED64(span.start_time))
        if span.end_time:
            parts.append(b"\x41" + _FIXED64(span.end_time))
        parts.extend(self._attributes(b"\x4a", span.attributes))
        if span.dropped_attributes:
            parts.append(b"\x50" + _varint(span.dropped_attributes))
        for event in span.events:
            body = b"\x09" + _FIXED64(event.timestamp) if event.timestamp else b""
            if event.name:
                body += _field(b"\x12", event.name.encode("utf-8"))
            body += b"".join(self._attributes(b"\x1a", event.attributes))
            if event.dropped_attributes:
                body += b"\x20" + _varint(event.dropped_attributes)
            parts.append(_field(b"\x5a", body))
        if span.dropped_events:
            parts.append(b"\x60" + _varint(span.dropped_events))
        for link in span.links:
            body = b"\x0a\x10" + link.context.trace_id.to_bytes(16, "big")
            body += b"\x12\x08" + link.context.span_id.to_bytes(8, "big")
            body += b"".join(self._attributes(b"\x22", link.attributes))
            if link.dropped_attributes:
                body += b"\x28" + _varint(link.dropped_attributes)
            body += b"\x35" + _FIXED32(_span_flags(link.context))
            parts.append(_field(b"\x6a", body))
        if span.dropped_links:
            parts.append(b"\x70" + _varint(span.dropped_links))
        status = span.status
        body = b""
        if status.description:
            body += _field(b"\x12", status.description.encode("utf-8"))
        if status.status_code.value:
            body += b"\x18" + _varint(status.status_code.value)
        parts.append(_field(b"\x7a", body))
        parts.append(b"\x85\x01" + _FIXED32(_span_flags(parent)))
        return b"".join(parts)

    def request(self, spans: Sequence[ReadableSpan]) -> bytes:
        """A whole ``ExportTraceServiceRequest``: spans grouped by resource, then scope."""
        groups: dict[Resource, dict[InstrumentationScope | None, list[bytes]]] = {}
        for span in spans:
            by_scope = groups.setdefault(span.resource, {})
            by_scope.setdefault(span.instrumentation_scope, []).append(
                _field(b"\x12", self.span(span))
            )
        out = []
        for resource, by_scope in groups.items():
            body = [self._resource(resource)]
            for scope, encoded in by_scope.items():
                scope_spans = self._scope(scope) + b"".join(encoded)
                if scope is not None and scope.schema_url:
                    scope_spans += _field(b"\x1a", scope.schema_url.encode())
                body.append(_field(b"\x12", scope_spans))
            if resource.schema_url:
                body.append(_field(b"\x1a", resource.schema_url.encode()))
            out.append(_field(b"\x0a", b"".join(body)))
        return b"".join(out)


_RETRYABLE = frozenset({408, 429, 502, 503, 504})


class OtlpSpanExporter(SpanExporter):
    """POSTs encoded spans to ``endpoint`` (``.../v1/traces``), retrying what is retryable.

    Runs on the batch processor's thread. Connection errors and 408/429/502/503/504 are retried
    with exponential backoff (honouring Retry-After) for at most ``max_retry_s``; anything else
    drops the batch with one warning (rate-limited, never the payload).
    """

    def __init__(
        self,
        endpoint: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
        max_retry_s: float = 30.0,
    ) -> None:
        self.endpoint = endpoint
        self.encoder = SpanEncoder()
        self.timeout_s = timeout_s
        self.max_retry_s = max_retry_s
        self._session = requests.Session()
        self._session.headers.update({"Content-Type": "application/x-protobuf", **(headers or {})})
        self._stopped = threading.Event()
        self._warned_at = 0.0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._stopped.is_set():
            return SpanExportResult.FAILURE
        try:
            data = self.encoder.request(spans)
        except Exception:  # a span that cannot be encoded must not stop the others next time
            log.exception("encoding %d spans failed", len(spans))
            return SpanExportResult.FAILURE
        deadline = time.monotonic() + self.max_retry_s
        delay = 0.5
        while True:
            wait: float | None = delay
            try:
                response = self._session.post(self.endpoint, data=data, timeout=self.timeout_s)
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__}"
            else:
                if response.ok:
                    return SpanExportResult.SUCCESS
                problem = f"HTTP {response.status_code}"
                if response.status_code not in _RETRYABLE:
                    wait = None
                else:
                    wait = _retry_after(response.headers.get("retry-after")) or delay
            if wait is None or time.monotonic() + wait > deadline:
                self._warn(f"dropped {len(spans)} spans: {problem} from {self.endpoint}")
                return SpanExportResult.FAILURE
            if self._stopped.wait(wait * random.uniform(0.8, 1.2)):  # jittered
                return SpanExportResult.FAILURE
            delay = min(delay * 2, 8.0)

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self._warned_at >= 60:
            self._warned_at = now
            log.warning(message)

    def shutdown(self) -> None:
        self._stopped.set()
        self._session.close()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, min(float(value), 30.0))
    except ValueError:
        return None
