"""Sessions and users: ``llmobs_probe.session(session_id=..., user_id=...)``.

The session and user ride in W3C baggage (``session.id``, ``user.id``): the contrib server
instrumentations read it from incoming requests, the client instrumentations (and the probe, on
the OpenAI SDK's own requests) carry it on outgoing ones, and the span processor stamps
``session.id`` / ``user.id`` (and ``gen_ai.conversation.id`` on GenAI spans) on every span started
under it. So browser, gateway and app share one session without code changes beyond this call.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional

from opentelemetry import baggage, context

from llmobs_semconv import attributes as A


@contextmanager
def session(session_id: Optional[str] = None, user_id: Optional[str] = None) -> Iterator[None]:
    """Run the block with this session and/or user in the W3C baggage of the current context."""
    ctx = context.get_current()
    if session_id is not None:
        ctx = baggage.set_baggage(A.BAGGAGE_SESSION_ID, str(session_id), ctx)
    if user_id is not None:
        ctx = baggage.set_baggage(A.BAGGAGE_USER_ID, str(user_id), ctx)
    token = context.attach(ctx)
    try:
        yield
    finally:
        context.detach(token)


def current_session() -> Optional[str]:
    """The session id in the current baggage, if any."""
    value = baggage.get_baggage(A.BAGGAGE_SESSION_ID)
    return None if value is None else str(value)
