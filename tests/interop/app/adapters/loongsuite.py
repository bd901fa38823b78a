"""Alibaba LoongSuite: its LangChain and LangGraph instrumentations (loongsuite-* on PyPI).

LoongSuite's OpenAI instrumentation is not published on PyPI (its bootstrap fetches it from
the project's own releases), so only what runs through LangChain is instrumented. Session and
user the LoongSuite way: an ENTRY invocation (``enter_ai_application_system``) carrying
``gen_ai.session.id`` / ``gen_ai.user.id``, which it also puts in W3C baggage for a
``BaggageSpanProcessor`` to copy onto the spans inside.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from adapters import _otel

_KEYS = ("gen_ai.session.id", "gen_ai.user.id")
_handler: list[Any] = []


def setup(otlp: str, service: str) -> None:
    from opentelemetry.instrumentation.langchain import LangChainInstrumentor
    from opentelemetry.instrumentation.langgraph import LangGraphInstrumentor
    from opentelemetry.util.genai.extended_handler import get_extended_telemetry_handler

    tracer_provider, _ = _otel.providers(otlp, service, baggage_keys=_KEYS)
    LangChainInstrumentor().instrument(tracer_provider=tracer_provider)
    LangGraphInstrumentor().instrument(tracer_provider=tracer_provider)
    _handler.append(get_extended_telemetry_handler(tracer_provider=tracer_provider))


@contextmanager
def turn(session_id: str, user_id: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    from opentelemetry.util.genai.extended_types import EntryInvocation

    with _handler[0].entry(EntryInvocation(session_id=session_id, user_id=user_id)):
        yield {}, {}


def shutdown() -> None:
    _otel.shutdown()
