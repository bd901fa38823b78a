"""The telemetry pipeline: tracer, meter and logger providers exporting OTLP/HTTP protobuf.

Built once from :class:`~llmobs_probe._settings.ProbeSettings`. Finished spans and content records
go through :class:`~llmobs_probe._export_worker.ExportWorker` (bounded, counted, fork-safe); the
meter provider is collected by that same worker. The providers never register their own atexit
hooks: :meth:`Pipeline.shutdown` bounds the time the probe may add to process exit.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List, Optional

from opentelemetry import baggage
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider, sampling

from llmobs_probe import _guard
from llmobs_probe._export_worker import ExportWorker
from llmobs_probe._settings import ProbeSettings
from llmobs_semconv import attributes as A
from llmobs_semconv import metrics as M

try:
    from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
except ImportError:  # pragma: no cover - the logs SDK is present in every supported version
    LoggerProvider = None  # type: ignore[misc,assignment]
    LogRecordProcessor = object  # type: ignore[misc,assignment]


class QueueingSpanProcessor(SpanProcessor):
    """Stamps session and user (W3C baggage) on every span; hands finished spans to the worker."""

    def __init__(self, worker: ExportWorker) -> None:
        self._worker = worker

    def on_start(self, span: Span, parent_context: Optional[Context] = None) -> None:
        try:
            entries = baggage.get_all(parent_context)
            if entries:
                session = entries.get(A.BAGGAGE_SESSION_ID)
                if session:
                    span.set_attribute(A.SESSION_ID, str(session))
                    attrs = span.attributes
                    if attrs is not None and A.GEN_AI_OPERATION_NAME in attrs:
                        span.set_attribute(A.GEN_AI_CONVERSATION_ID, str(session))
                user = entries.get(A.BAGGAGE_USER_ID)
                if user:
                    span.set_attribute(A.USER_ID, str(user))
        except Exception as exc:
            _guard.record_error("span start", exc)

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is not None and span.context.trace_flags.sampled:
            self._worker.put_span(span)

    def shutdown(self) -> None:
        """The pipeline shuts the worker down (bounded); nothing to do per processor."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self._worker.flush_once(final=True)
        return True


class QueueingLogProcessor(LogRecordProcessor):
    """Hands log records to the worker; works with both the old (emit) and new (on_emit) SDK."""

    def __init__(self, worker: ExportWorker) -> None:
        self._worker = worker
        try:
            from opentelemetry.sdk._logs import ReadableLogRecord

            self._readable: Any = ReadableLogRecord
        except ImportError:  # SDK < 1.39: the exporter takes the LogData we are given
            self._readable = None

    def on_emit(self, log_record: Any) -> None:
        readable = self._readable
        if readable is not None and not isinstance(log_record, readable):
            log_record = readable(
                log_record=log_record.log_record,
                resource=log_record.resource,
                instrumentation_scope=log_record.instrumentation_scope,
                limits=log_record.limits,
            )
        inner = getattr(log_record, "log_record", log_record)
        body = getattr(inner, "body", None)
        self._worker.put_log(log_record, len(body) if isinstance(body, str) else 0)

    def emit(self, log_data: Any) -> None:
        self.on_emit(log_data)

    def shutdown(self) -> None:
        """The pipeline shuts the worker down."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self._worker.flush_once(final=True)
        return True


def build_sampler(settings: ProbeSettings) -> sampling.Sampler:
    """The sampler named by ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG``."""
    name, ratio = settings.sampler, settings.sampler_arg
    root: sampling.Sampler
    if name.endswith("always_off"):
        root = sampling.ALWAYS_OFF
    elif name.endswith("traceidratio"):
        root = sampling.TraceIdRatioBased(ratio)
    else:
        root = sampling.ALWAYS_ON
    return sampling.ParentBased(root) if name.startswith("parentbased_") else root


class Pipeline:
    """The three providers and the worker behind them."""

    def __init__(self, settings: ProbeSettings, resource: Optional[Resource] = None) -> None:
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        self.settings = settings
        _guard.quiet_exporter_logs()
        if resource is None:
            given: Dict[str, Any] = dict(settings.resource_attributes)
            if settings.service_name:
                given[A.SERVICE_NAME] = settings.service_name
            resource = Resource.create(given)
        self.resource = resource
        common: Dict[str, Any] = {"headers": dict(settings.headers), "timeout": settings.timeout_s}
        if settings.compression == "gzip":
            common["compression"] = Compression.Gzip
        exporting = settings.exporters
        span_exporter = (
            OTLPSpanExporter(endpoint=settings.endpoints["traces"], **common)
            if "traces" in exporting
            else None
        )
        log_exporter = (
            OTLPLogExporter(endpoint=settings.endpoints["logs"], **common)
            if "logs" in exporting
            else None
        )
        readers: List[Any] = []
        if "metrics" in exporting:
            metric_exporter = OTLPMetricExporter(endpoint=settings.endpoints["metrics"], **common)
            # Interval infinite: no reader thread; the worker collects on its own schedule.
            readers.append(
                PeriodicExportingMetricReader(
                    metric_exporter,
                    export_interval_millis=math.inf,
                    export_timeout_millis=settings.timeout_s * 1000,
                )
            )
        self._readers = readers
        self.worker = ExportWorker(
            span_exporter=span_exporter,
            log_exporter=log_exporter,
            collect_metrics=self._collect if readers else None,
            max_queue_size=settings.max_queue_size,
            max_batch_size=settings.max_export_batch_size,
            max_log_bytes=settings.content_queue_bytes,
            schedule_delay_s=settings.schedule_delay_s,
            metric_interval_s=settings.metric_interval_s,
        )
        self.tracer_provider = TracerProvider(
            resource=self.resource, sampler=build_sampler(settings), shutdown_on_exit=False
        )
        self.tracer_provider.add_span_processor(QueueingSpanProcessor(self.worker))
        self.meter_provider = MeterProvider(
            resource=self.resource, metric_readers=readers, shutdown_on_exit=False
        )
        self.logger_provider: Any = None
        if LoggerProvider is not None:
            self.logger_provider = LoggerProvider(resource=self.resource, shutdown_on_exit=False)
            self.logger_provider.add_log_record_processor(QueueingLogProcessor(self.worker))
        self._register_self_metrics()
        self._shut = False

    def _collect(self) -> None:
        for reader in self._readers:
            reader.collect(timeout_millis=self.settings.timeout_s * 1000)

    def _register_self_metrics(self) -> None:
        meter = self.meter_provider.get_meter("llmobs_probe")

        def dropped(_options: CallbackOptions) -> Iterable[Observation]:
            return [
                Observation(n, {M.PROBE_SIGNAL: signal, M.PROBE_REASON: reason})
                for (signal, reason), n in _guard.dropped().items()
            ]

        def errors(_options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(n, {M.PROBE_REASON: where}) for where, n in _guard.errors().items()]

        meter.create_observable_counter(
            M.PROBE_DROPPED, [dropped], unit=M.UNIT_ITEM, description="Telemetry items dropped"
        )
        meter.create_observable_counter(
            M.PROBE_ERRORS, [errors], unit="{error}", description="Exceptions caught in the probe"
        )

    def install(self) -> None:
        """Make these the global providers (the contrib instrumentations use the globals)."""
        from opentelemetry import metrics, trace

        trace.set_tracer_provider(self.tracer_provider)
        metrics.set_meter_provider(self.meter_provider)
        if self.logger_provider is not None:
            from opentelemetry import _logs

            _logs.set_logger_provider(self.logger_provider)

    def force_flush(self) -> None:
        """Export everything queued now, on the caller's thread (tests, explicit flushes)."""
        self.worker.flush_once(final=True)

    def shutdown(self) -> None:
        """Flush within ``LLMOBS_SHUTDOWN_TIMEOUT`` and report drops; idempotent."""
        if self._shut:
            return
        self._shut = True
        self.worker.shutdown(self.settings.shutdown_timeout_s)
        lost = _guard.dropped()
        if lost:
            _guard.logger.warning(
                "llmobs probe: telemetry dropped in this process: %s",
                ", ".join(f"{s}/{r}={n}" for (s, r), n in sorted(lost.items())),
            )
