"""Per-key coalescing of bursty triggers into few, throttled runs of one async action.

A child workload's rollout produces a burst of watch events (each replica's readiness, each
observedGeneration bump); refreshing the owner's status on every one would be a status write per
event. A :class:`Coalescer` turns the burst into one run after ``delay_s``, at most one run per
``min_interval_s`` for a key, and never loses the last trigger: one arriving while the action runs
schedules another run after it.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


def next_delay(now: float, last_run: float | None, delay_s: float, min_interval_s: float) -> float:
    """Seconds to wait before the next run: ``delay_s``, stretched to keep ``min_interval_s``
    since the previous run started."""
    if last_run is None:
        return delay_s
    return max(delay_s, last_run + min_interval_s - now)


class Coalescer:
    """Runs ``action(key)`` soon after ``trigger(key)``, merging triggers that arrive meanwhile.

    ``action`` returns True to ask for another run later (its input was not settled yet, e.g. the
    owner not reconciled), at most ``max_retries`` times in a row. Errors are logged, not raised:
    a failed run is retried at the next trigger.
    """

    def __init__(
        self,
        action: Callable[[str], Awaitable[bool]],
        *,
        delay_s: float,
        min_interval_s: float,
        max_retries: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._action = action
        self._delay_s = delay_s
        self._min_interval_s = min_interval_s
        self._max_retries = max_retries
        self._clock = clock
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._dirty: set[str] = set()
        self._last_run: dict[str, float] = {}

    def trigger(self, key: str) -> None:
        """Ask for a run for ``key`` (call from the running event loop; never blocks)."""
        task = self._tasks.get(key)
        if task is not None and not task.done():
            self._dirty.add(key)  # the pending or running task picks it up
            return
        self._tasks[key] = asyncio.get_running_loop().create_task(self._run(key))

    def forget(self, key: str) -> None:
        """Drop a key's throttle state (its owner is gone); a pending run still happens."""
        self._last_run.pop(key, None)

    async def _run(self, key: str) -> None:
        retries = 0
        try:
            while True:
                wait = next_delay(
                    self._clock(), self._last_run.get(key), self._delay_s, self._min_interval_s
                )
                await asyncio.sleep(max(0.0, wait))
                # Triggers up to here are covered: the action reads the state fresh.
                self._dirty.discard(key)
                self._last_run[key] = self._clock()
                again = False
                try:
                    again = await self._action(key)
                except Exception:  # a refresh must not kill the loop; the next event retries
                    logger.exception("refresh of %s failed", key)
                retries = retries + 1 if again else 0
                if key in self._dirty:
                    continue
                if not again or retries > self._max_retries:
                    return
        finally:
            if self._tasks.get(key) is asyncio.current_task():
                del self._tasks[key]

    async def aclose(self) -> None:
        """Cancel every pending run and wait for them to end."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._dirty.clear()
