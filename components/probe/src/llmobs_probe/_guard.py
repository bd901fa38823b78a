"""Accounting for the probe's own failures: every exception in our code is caught and counted here.

The probe must never hurt the app: instrumentation code catches its exceptions, calls
:func:`record_error`, and carries on without telemetry for that call. Counts are exported as the
``llmobs.probe.errors`` and ``llmobs.probe.dropped`` counters; the first error of each kind is
logged once (with its traceback), later ones are only counted.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Dict, Tuple

logger = logging.getLogger("llmobs_probe")

_lock = threading.Lock()
_errors: Dict[str, int] = {}
_dropped: Dict[Tuple[str, str], int] = {}
_warned: set = set()  # type: ignore[type-arg]


def record_error(where: str, exc: BaseException) -> None:
    """Count an exception raised inside the probe at ``where``; log the first of each place."""
    try:
        with _lock:
            _errors[where] = _errors.get(where, 0) + 1
            first = _errors[where] == 1
        if first:
            logger.warning(
                "llmobs probe: internal error in %s (counted, the app is unaffected)",
                where,
                exc_info=(type(exc), exc, exc.__traceback__),
            )
    except Exception:  # noqa: S110  # the accounting itself must never raise into the app
        pass


def record_dropped(signal: str, reason: str, count: int = 1) -> None:
    """Count telemetry items dropped before export (queue full, export failed, ...)."""
    with _lock:
        key = (signal, reason)
        _dropped[key] = _dropped.get(key, 0) + count


def warn_once(key: str, message: str, *args: object) -> None:
    """Log a warning the first time ``key`` is seen in this process."""
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    logger.warning(message, *args)


def errors() -> Dict[str, int]:
    """A copy of the error counts by place."""
    with _lock:
        return dict(_errors)


def dropped() -> Dict[Tuple[str, str], int]:
    """A copy of the drop counts by (signal, reason)."""
    with _lock:
        return dict(_dropped)


def reset_after_fork() -> None:
    """A forked child starts with a fresh lock (the parent's may have been held at fork time)."""
    global _lock  # noqa: PLW0603  # the one lock of this module, replaced in the child
    _lock = threading.Lock()


class RateLimitFilter(logging.Filter):
    """Lets each message template of a logger through once per ``interval_s``.

    The OTLP exporters log every failed attempt; with an endpoint down that would flood the app's
    logs. Drops are counted by the probe (``llmobs.probe.dropped``), so one line a minute is enough.
    """

    def __init__(self, interval_s: float = 60.0) -> None:
        super().__init__()
        self._interval = interval_s
        self._last: Dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        key = str(record.msg)[:80]
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            return False
        if len(self._last) > 256:
            self._last.clear()
        self._last[key] = now
        return True


def quiet_exporter_logs() -> None:
    """Rate-limit the OTLP/HTTP exporters' own warnings (idempotent)."""
    for name in (
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
        "opentelemetry.exporter.otlp.proto.http.metric_exporter",
        "opentelemetry.exporter.otlp.proto.http._log_exporter",
        "opentelemetry.exporter.otlp.proto.http",
    ):
        target = logging.getLogger(name)
        if not any(isinstance(f, RateLimitFilter) for f in target.filters):
            target.addFilter(RateLimitFilter())
