"""One simulated engine per model: a concurrency limit with a FIFO waiting queue and a KV cache.

A sequence holds a slot from admission until its last token; requests beyond ``max_concurrent``
wait for a slot (their queue time is measured). KV-cache usage is the prompt plus generated tokens
of the running sequences over the simulated capacity, like a paged cache filling up.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass
class Sequence:
    """A running sequence's KV footprint (prompt tokens plus tokens generated so far)."""

    prompt_tokens: int
    generated: int = 0


@dataclass
class Engine:
    """Admission control and live state of one model."""

    model_name: str
    max_concurrent: int
    kv_cache_tokens: int
    waiting: int = 0
    _sequences: set[int] = field(default_factory=set)
    _by_id: dict[int, Sequence] = field(default_factory=dict)
    _semaphore: asyncio.Semaphore | None = None

    @property
    def running(self) -> int:
        """Sequences holding a slot now."""
        return len(self._by_id)

    @property
    def kv_cache_usage(self) -> float:
        """Fraction (0..1) of the simulated KV cache the running sequences occupy."""
        used = sum(s.prompt_tokens + s.generated for s in self._by_id.values())
        return min(1.0, used / self.kv_cache_tokens)

    @contextlib.asynccontextmanager
    async def admit(self, prompt_tokens: int) -> AsyncIterator[Sequence]:
        """Wait (FIFO) for a slot, then hold it for the body of the ``async with``."""
        if self._semaphore is None:
            # Created lazily so it belongs to the loop the server runs on.
            self._semaphore = asyncio.Semaphore(self.max_concurrent)
        self.waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self.waiting -= 1
        seq = Sequence(prompt_tokens)
        self._by_id[id(seq)] = seq
        try:
            yield seq
        finally:
            del self._by_id[id(seq)]
            self._semaphore.release()
