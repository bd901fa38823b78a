"""Per-key and per-model limits: requests per minute and tokens per minute.

Each limit is a token bucket refilled continuously (capacity = the per-minute limit). Requests take
one unit up front; tokens are only known from the response, so they are charged afterwards and may
drive the bucket below zero, which then refuses requests until it has refilled (Retry-After).
"""

from __future__ import annotations

import fnmatch
import math
import time

from llmobs_gateway.config import LimitConfig


class _Bucket:
    __slots__ = ("capacity", "level", "rate", "updated")

    def __init__(self, per_minute: int, now: float) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.level = float(per_minute)
        self.updated = now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` is available (0 when it is now)."""
        missing = amount - self.level
        return 0.0 if missing <= 0 else missing / self.rate


class RateLimiter:
    """Checks and charges the configured limits; state is per process (one gateway replica)."""

    _MAX_BUCKETS = 100_000  # bounded: keys and model names come from callers

    def __init__(self, limits: list[LimitConfig]) -> None:
        self._limits = limits
        self._buckets: dict[tuple[int, str, str], _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return bool(self._limits)

    def _applicable(self, key_id: str, model: str) -> list[tuple[int, LimitConfig, str]]:
        out = []
        for i, limit in enumerate(self._limits):
            subject = key_id if limit.scope == "key" else model
            if limit.match == "*" or fnmatch.fnmatchcase(subject, limit.match):
                out.append((i, limit, subject))
        return out

    def _bucket(self, i: int, kind: str, subject: str, per_minute: int, now: float) -> _Bucket:
        key = (i, kind, subject)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._MAX_BUCKETS:
                self._buckets.clear()  # forgetting limits beats unbounded memory
            bucket = self._buckets[key] = _Bucket(per_minute, now)
        else:
            bucket.refill(now)
        return bucket

    def acquire(self, key_id: str, model: str) -> tuple[int, str] | None:
        """Take one request; None when allowed, else (Retry-After seconds, which limit)."""
        if not self._limits:
            return None
        now = time.monotonic()
        worst: tuple[float, str] | None = None
        takes: list[_Bucket] = []
        for i, limit, subject in self._applicable(key_id, model):
            for kind, per_minute, amount in (("rpm", limit.rpm, 1.0), ("tpm", limit.tpm, 1e-9)):
                if per_minute is None:
                    continue
                bucket = self._bucket(i, kind, subject, per_minute, now)
                wait = bucket.wait_for(amount)
                if wait > 0:
                    if worst is None or wait > worst[0]:
                        worst = (wait, f"{limit.scope} {kind} limit of {per_minute}")
                elif kind == "rpm":
                    takes.append(bucket)
        if worst is not None:
            return max(1, math.ceil(worst[0])), worst[1]
        for bucket in takes:
            bucket.level -= 1.0
        return None

    def charge_tokens(self, key_id: str, model: str, tokens: int) -> None:
        """Charge the tokens a response used against the tokens-per-minute limits."""
        if not self._limits or tokens <= 0:
            return
        now = time.monotonic()
        for i, limit, subject in self._applicable(key_id, model):
            if limit.tpm is not None:
                self._bucket(i, "tpm", subject, limit.tpm, now).level -= tokens
