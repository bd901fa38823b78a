"""OpenTelemetry of one gateway: spans, content logs and GenAI metrics over OTLP/HTTP.

Everything leaves on background threads (the SDK's batch processors, the metric tables' timer),
so the request path only appends to in-memory queues and tables. Providers are built per app
(never global) so several gateways can live in one process (tests) without sharing state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry._logs import Logger
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics.export import MetricExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.util.re import parse_env_headers

from llmobs_gateway import __version__
from llmobs_gateway._otlp_metrics import HistogramTable, MetricTables
from llmobs_gateway._otlp_spans import OtlpSpanExporter
from llmobs_semconv import attributes as A
from llmobs_semconv import metrics as M


@dataclass
class Telemetry:
    """The providers, and the histograms the request path records into."""

    tracer_provider: TracerProvider
    logger_provider: LoggerProvider
    metrics: MetricTables
    tracer: trace.Tracer
    content_logger: Logger
    token_usage: HistogramTable
    request_duration: HistogramTable
    time_to_first_token: HistogramTable
    time_per_output_token: HistogramTable

    def shutdown(self) -> None:
        """Flush what is queued and stop the export threads (lifespan exit)."""
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()
        self.metrics.shutdown()


def _headers(signal: str) -> dict[str, str]:
    """The standard OTLP header variables (e.g. the store's ingest token)."""
    raw = os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_HEADERS") or os.environ.get(
        "OTEL_EXPORTER_OTLP_HEADERS", ""
    )
    return dict(parse_env_headers(raw, liberal=True))


def build_telemetry(
    service_name: str,
    otlp_endpoint: str | None,
    export_interval_s: float = 10.0,
    span_exporter: SpanExporter | None = None,
    metric_exporter: MetricExporter | None = None,
) -> Telemetry:
    """Providers exporting to ``otlp_endpoint`` (``/v1/traces``, ``/v1/logs``, ``/v1/metrics``).

    With no endpoint the spans are still created (trace context is still forwarded upstream) but
    nothing is exported.
    """
    resource = Resource.create(
        {A.SERVICE_NAME: service_name, "service.version": __version__, A.LLMOBS_LAYER: "gateway"}
    )
    tracer_provider = TracerProvider(resource=resource)
    logger_provider = LoggerProvider(resource=resource)
    base = otlp_endpoint.rstrip("/") if otlp_endpoint else None
    if span_exporter is None and base:
        # Our own encoder (same wire format, a fraction of the SDK encoder's CPU).
        span_exporter = OtlpSpanExporter(f"{base}/v1/traces", headers=_headers("TRACES"))
    if span_exporter is not None:
        tracer_provider.add_span_processor(
            BatchSpanProcessor(span_exporter, max_queue_size=8192, schedule_delay_millis=1000)
        )
    if base:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        logger_provider.add_log_record_processor(
            BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{base}/v1/logs"))
        )
        if metric_exporter is None:
            metric_exporter = OTLPMetricExporter(endpoint=f"{base}/v1/metrics")
    tables = {
        "token_usage": HistogramTable(
            M.CLIENT_TOKEN_USAGE,
            M.UNIT_TOKEN,
            "Tokens per request, by gen_ai.token.type.",
            M.TOKEN_USAGE_BUCKETS,
        ),
        "request_duration": HistogramTable(
            M.SERVER_REQUEST_DURATION,
            M.UNIT_SECONDS,
            "Upstream request duration seen by the gateway.",
            M.DURATION_BUCKETS,
        ),
        "time_to_first_token": HistogramTable(
            M.SERVER_TIME_TO_FIRST_TOKEN,
            M.UNIT_SECONDS,
            "Time to first token seen by the gateway.",
            M.SERVER_TTFT_BUCKETS,
        ),
        "time_per_output_token": HistogramTable(
            M.SERVER_TIME_PER_OUTPUT_TOKEN,
            M.UNIT_SECONDS,
            "Time per output token after the first, seen by the gateway.",
            M.SERVER_TPOT_BUCKETS,
        ),
    }
    metrics = MetricTables(
        list(tables.values()),
        resource=resource,
        scope=InstrumentationScope("llmobs_gateway", __version__),
        exporter=metric_exporter,
        interval_s=export_interval_s,
    )
    return Telemetry(
        tracer_provider=tracer_provider,
        logger_provider=logger_provider,
        metrics=metrics,
        tracer=tracer_provider.get_tracer("llmobs_gateway", __version__),
        content_logger=logger_provider.get_logger("llmobs_gateway.content", __version__),
        token_usage=tables["token_usage"],
        request_duration=tables["request_duration"],
        time_to_first_token=tables["time_to_first_token"],
        time_per_output_token=tables["time_per_output_token"],
    )
