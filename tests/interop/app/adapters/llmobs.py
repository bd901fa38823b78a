"""Our own probe, injected as in a pod: the bundle's bootstrap first on ``PYTHONPATH``.

The suite sets ``PYTHONPATH=<bundle>/bootstrap`` and the ``OTEL_*`` / ``LLMOBS_*`` variables, so
the probe is running before this module loads; nothing is set up here. Session and user the
probe's way: ``llmobs_probe.session`` (W3C baggage, stamped on every span).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def setup(otlp: str, service: str) -> None:
    import llmobs_probe  # noqa: F401  # fails loudly here if the bootstrap did not load


@contextmanager
def turn(session_id: str, user_id: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    import llmobs_probe

    with llmobs_probe.session(session_id=session_id, user_id=user_id):
        yield {}, {}


def shutdown() -> None:
    return None  # the probe flushes at exit (LLMOBS_SHUTDOWN_TIMEOUT)
