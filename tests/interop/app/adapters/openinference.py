"""Arize OpenInference: the OpenAI, LangChain and LlamaIndex instrumentors.

Session and user the OpenInference way: ``using_session`` / ``using_user`` from
openinference-instrumentation, which put ``session.id`` / ``user.id`` on every span in scope.
Content capture is on by default (``OPENINFERENCE_HIDE_*`` turn it off).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from adapters import _otel


def setup(otlp: str, service: str) -> None:
    from openinference.instrumentation.langchain import LangChainInstrumentor
    from openinference.instrumentation.llama_index import LlamaIndexInstrumentor
    from openinference.instrumentation.openai import OpenAIInstrumentor

    tracer_provider, _ = _otel.providers(otlp, service)
    for instrumentor in (OpenAIInstrumentor, LangChainInstrumentor, LlamaIndexInstrumentor):
        instrumentor().instrument(tracer_provider=tracer_provider)


@contextmanager
def turn(session_id: str, user_id: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    from openinference.instrumentation import using_session, using_user

    with using_session(session_id), using_user(user_id):
        yield {}, {}


def shutdown() -> None:
    _otel.shutdown()
