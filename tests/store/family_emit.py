"""Spans and log events as an instrumentation library emits them: the real OpenTelemetry SDK,
exported by its real OTLP/HTTP exporters into a running store.

Each test names the attributes, span kind, span events and log records its library writes
(read from the library's source); this helper only gives them known times, so TTFT and the
like can be asserted exactly, and waits until the store answers for the trace.
"""

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import LogRecord
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Span, SpanKind

from tests.store.conftest import RunningStore

T0_NS = time.time_ns() - 5 * 60 * 10**9  # five minutes ago: inside every default time range
MS = 1_000_000


class Emitter:
    """One service's tracer and logger, exporting to ``store`` as each span/record ends."""

    def __init__(self, store: RunningStore, service: str) -> None:
        resource = Resource.create({"service.name": service})
        self.store = store
        self.tracer_provider = TracerProvider(resource=resource)
        self.tracer_provider.add_span_processor(
            SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{store.url}/v1/traces"))
        )
        self.logger_provider = LoggerProvider(resource=resource)
        self.logger_provider.add_log_record_processor(
            SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{store.url}/v1/logs"))
        )
        self.tracer = self.tracer_provider.get_tracer("family-test")
        self.logger = self.logger_provider.get_logger("family-test")

    def start(
        self,
        name: str,
        attributes: Mapping[str, Any],
        *,
        kind: SpanKind = SpanKind.INTERNAL,
        start_ms: float = 0.0,
        parent: Span | None = None,
        events: tuple[tuple[str, float, Mapping[str, Any]], ...] = (),
    ) -> Span:
        """An open span; ``events`` are (name, ms after the span's start, attributes)."""
        context = trace.set_span_in_context(parent) if parent is not None else None
        start_ns = T0_NS + int(start_ms * MS)
        span = self.tracer.start_span(
            name, context=context, kind=kind, attributes=dict(attributes), start_time=start_ns
        )
        for event_name, at_ms, event_attributes in events:
            span.add_event(event_name, dict(event_attributes), timestamp=start_ns + int(at_ms * MS))
        return span

    @staticmethod
    def end(span: Span, *, start_ms: float = 0.0, duration_ms: float = 1000.0) -> Span:
        span.end(end_time=T0_NS + int((start_ms + duration_ms) * MS))
        return span

    def span(
        self,
        name: str,
        attributes: Mapping[str, Any],
        *,
        kind: SpanKind = SpanKind.INTERNAL,
        start_ms: float = 0.0,
        duration_ms: float = 1000.0,
        parent: Span | None = None,
        events: tuple[tuple[str, float, Mapping[str, Any]], ...] = (),
    ) -> Span:
        """A finished span (see :meth:`start`)."""
        span = self.start(
            name, attributes, kind=kind, start_ms=start_ms, parent=parent, events=events
        )
        return self.end(span, start_ms=start_ms, duration_ms=duration_ms)

    def event(
        self,
        span: Span,
        event_name: str,
        *,
        body: Any = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        """A log event tied to ``span``, emitted the way the GenAI instrumentations do."""
        self.logger.emit(
            LogRecord(
                event_name=event_name,
                body=body,
                attributes=dict(attributes or {}),
                context=trace.set_span_in_context(span),
            )
        )

    def close(self) -> None:
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()


@contextmanager
def emitter(store: RunningStore, service: str) -> Iterator[Emitter]:
    sink = Emitter(store, service)
    try:
        yield sink
    finally:
        sink.close()


def trace_id(span: Span) -> str:
    return f"{span.get_span_context().trace_id:032x}"


def span_id(span: Span) -> str:
    return f"{span.get_span_context().span_id:016x}"


def stored_trace(
    store: RunningStore, span: Span, spans: int, content: int = 0, timeout_s: float = 30.0
) -> dict[str, dict[str, Any]]:
    """The API's spans of ``span``'s trace by span id, once ``spans`` of them (and ``content``
    content records) are there."""
    path = f"/api/v1/traces/{trace_id(span)}"
    found: dict[str, dict[str, Any]] = {}

    def ready() -> bool:
        response = store.get_or_none(path)
        if response is None:
            return False
        found.clear()
        found.update({s["span_id"]: s for s in response["spans"]})
        records = sum(1 for s in found.values() for c in s["content"].values() if c)
        return len(found) >= spans and records >= content

    store.wait_for(ready, timeout_s)
    return found
