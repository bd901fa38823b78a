"""OpenLIT: ``openlit.init`` instruments every library it knows and exports OTLP/HTTP.

OpenLIT has no session API of its own: its LangChain instrumentation reads a ``session_id``
(or ``thread_id`` / ``conversation_id``) from the run's metadata into
``gen_ai.conversation.id``; the user goes on every span in scope with
``openlit.using_attributes({"user.id": ...})``, the example its own docstring gives. Content
capture is on by default. The price list it would fetch from the internet is out of reach
here, so it prices nothing (``gen_ai.usage.cost`` 0).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def setup(otlp: str, service: str) -> None:
    import openlit

    openlit.init(otlp_endpoint=otlp, service_name=service, application_name=service)


@contextmanager
def turn(session_id: str, user_id: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    import openlit

    with openlit.using_attributes({"user.id": user_id}):
        yield {"metadata": {"session_id": session_id}}, {}


def shutdown() -> None:
    from opentelemetry import _logs, trace

    for provider in (trace.get_tracer_provider(), _logs.get_logger_provider()):
        flush: Any = getattr(provider, "force_flush", None)
        if flush is not None:
            flush()
