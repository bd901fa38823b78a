"""OpenTelemetry providers of one gateway: spans, content logs and metrics over OTLP/HTTP.

Everything leaves through the SDK's batch processors and periodic reader, on their own threads, so
the request path only appends to in-memory queues. Providers are built per app (never global) so
several gateways can live in one process (tests) without sharing state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from opentelemetry import metrics as otel_metrics
from opentelemetry import trace
from opentelemetry._logs import Logger
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.util.re import parse_env_headers

from llmobs_gateway import __version__
from llmobs_gateway._otlp_spans import OtlpSpanExporter
from llmobs_semconv import attributes as A
from llmobs_semconv import metrics as M


@dataclass
class Telemetry:
    """The providers, and the instruments the request path records into."""

    tracer_provider: TracerProvider
    logger_provider: LoggerProvider
    meter_provider: MeterProvider
    tracer: trace.Tracer
    content_logger: Logger
    token_usage: otel_metrics.Histogram
    request_duration: otel_metrics.Histogram
    time_to_first_token: otel_metrics.Histogram
    time_per_output_token: otel_metrics.Histogram

    def shutdown(self) -> None:
        """Flush what is queued and stop the export threads (lifespan exit)."""
        for provider in (self.tracer_provider, self.logger_provider, self.meter_provider):
            provider.shutdown()


def build_telemetry(
    service_name: str,
    otlp_endpoint: str | None,
    export_interval_s: float = 10.0,
    span_exporter: SpanExporter | None = None,
    metric_reader: MetricReader | None = None,
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
    readers: list[MetricReader] = []
    base = otlp_endpoint.rstrip("/") if otlp_endpoint else None
    if span_exporter is None and base:
        # Our own encoder (same wire format, a fraction of the CPU); the standard header
        # variables still apply, e.g. the store's ingest token.
        headers = parse_env_headers(
            os.environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
            or os.environ.get("OTEL_EXPORTER_OTLP_HEADERS", ""),
            liberal=True,
        )
        span_exporter = OtlpSpanExporter(f"{base}/v1/traces", headers=headers)
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
        readers.append(
            PeriodicExportingMetricReader(
                OTLPMetricExporter(endpoint=f"{base}/v1/metrics"),
                export_interval_millis=export_interval_s * 1000,
            )
        )
    if metric_reader is not None:
        readers.append(metric_reader)
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    meter = meter_provider.get_meter("llmobs_gateway", __version__)
    return Telemetry(
        tracer_provider=tracer_provider,
        logger_provider=logger_provider,
        meter_provider=meter_provider,
        tracer=tracer_provider.get_tracer("llmobs_gateway", __version__),
        content_logger=logger_provider.get_logger("llmobs_gateway.content", __version__),
        token_usage=meter.create_histogram(
            M.CLIENT_TOKEN_USAGE,
            unit=M.UNIT_TOKEN,
            description="Tokens per request, by gen_ai.token.type.",
            explicit_bucket_boundaries_advisory=list(M.TOKEN_USAGE_BUCKETS),
        ),
        request_duration=meter.create_histogram(
            M.SERVER_REQUEST_DURATION,
            unit=M.UNIT_SECONDS,
            description="Upstream request duration seen by the gateway.",
            explicit_bucket_boundaries_advisory=list(M.DURATION_BUCKETS),
        ),
        time_to_first_token=meter.create_histogram(
            M.SERVER_TIME_TO_FIRST_TOKEN,
            unit=M.UNIT_SECONDS,
            description="Time to first token seen by the gateway.",
            explicit_bucket_boundaries_advisory=list(M.SERVER_TTFT_BUCKETS),
        ),
        time_per_output_token=meter.create_histogram(
            M.SERVER_TIME_PER_OUTPUT_TOKEN,
            unit=M.UNIT_SECONDS,
            description="Time per output token after the first, seen by the gateway.",
            explicit_bucket_boundaries_advisory=list(M.SERVER_TPOT_BUCKETS),
        ),
    )
