"""Bounded polling: every wait in the e2e suite has a deadline and says what it waited for."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The condition did not hold in time; the message names it and the last value seen."""


def wait_until(
    probe: Callable[[], T | None], what: str, timeout_s: float = 30.0, interval_s: float = 0.2
) -> T:
    """Call ``probe`` until it returns a truthy value (returned) or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise WaitTimeout(
                f"timed out after {timeout_s:.0f}s waiting for {what} (last: {last!r})"
            )
        time.sleep(interval_s)
