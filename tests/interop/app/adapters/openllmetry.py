"""Traceloop OpenLLMetry (traceloop-sdk): ``Traceloop.init`` instruments every library it knows.

It builds its own OpenTelemetry pipeline, exporting OTLP/HTTP to ``api_endpoint``. Session and
user the Traceloop way: association properties (``session_id``, ``user_id``), which it writes
as ``traceloop.association.properties.*`` on the spans that follow. Its anonymous usage
telemetry is switched off (``TRACELOOP_TELEMETRY=false``, set by the suite).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def setup(otlp: str, service: str) -> None:
    from traceloop.sdk import Traceloop

    Traceloop.init(app_name=service, api_endpoint=otlp, telemetry_enabled=False)


@contextmanager
def turn(session_id: str, user_id: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    from traceloop.sdk import Traceloop

    Traceloop.set_association_properties({"session_id": session_id, "user_id": user_id})
    yield {}, {}


def shutdown() -> None:
    from opentelemetry import trace

    provider: Any = trace.get_tracer_provider()
    provider.force_flush()
    provider.shutdown()
