"""OpenTelemetry's official OpenAI instrumentation (opentelemetry-instrumentation-openai-v2).

Which conventions it emits follows ``OTEL_SEMCONV_STABILITY_OPT_IN`` (the suite runs it with
``gen_ai_latest_experimental`` and without); content capture follows
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``. The library has no session API: the
OpenTelemetry way is W3C baggage (``session.id``, ``user.id``) copied onto every span by the
contrib ``BaggageSpanProcessor``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from adapters import _otel

_KEYS = ("session.id", "user.id")


def setup(otlp: str, service: str) -> None:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    tracer_provider, logger_provider = _otel.providers(otlp, service, baggage_keys=_KEYS)
    OpenAIInstrumentor().instrument(
        tracer_provider=tracer_provider, logger_provider=logger_provider
    )


@contextmanager
def turn(session_id: str, user_id: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    from opentelemetry import baggage, context

    ctx = baggage.set_baggage("session.id", session_id)
    ctx = baggage.set_baggage("user.id", user_id, context=ctx)
    token = context.attach(ctx)
    try:
        yield {}, {}
    finally:
        context.detach(token)


def shutdown() -> None:
    _otel.shutdown()
