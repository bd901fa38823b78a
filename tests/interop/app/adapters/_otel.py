"""The OpenTelemetry SDK pipeline of the families that leave it to the application.

Tracer and logger providers exporting OTLP/HTTP protobuf to the suite's endpoint, with an
optional ``BaggageSpanProcessor`` (opentelemetry-processor-baggage) for the families whose own
way of naming a session is W3C baggage copied onto spans.
"""

from __future__ import annotations

from typing import Any

_providers: list[Any] = []


def providers(otlp: str, service: str, *, baggage_keys: tuple[str, ...] = ()) -> tuple[Any, Any]:
    """(tracer provider, logger provider), installed as the global ones."""
    from opentelemetry import _logs, trace
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": service})
    tracer_provider = TracerProvider(resource=resource)
    if baggage_keys:
        from opentelemetry.processor.baggage import BaggageSpanProcessor

        keys = frozenset(baggage_keys)
        tracer_provider.add_span_processor(BaggageSpanProcessor(lambda key: key in keys))
    tracer_provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"{otlp}/v1/traces"), schedule_delay_millis=200
        )
    )
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(
            OTLPLogExporter(endpoint=f"{otlp}/v1/logs"), schedule_delay_millis=200
        )
    )
    trace.set_tracer_provider(tracer_provider)
    _logs.set_logger_provider(logger_provider)
    _providers.extend((tracer_provider, logger_provider))
    return tracer_provider, logger_provider


def shutdown() -> None:
    """Flush and stop what ``providers`` built (everything reaches the endpoint first)."""
    for provider in _providers:
        provider.force_flush()
        provider.shutdown()
