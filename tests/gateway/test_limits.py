"""Requests-per-minute and tokens-per-minute limits, per key and per model."""

import pytest

from llmobs_gateway._limits import RateLimiter
from llmobs_gateway.config import LimitConfig


def test_rpm_per_key_refuses_the_request_over_the_limit_with_retry_after() -> None:
    limiter = RateLimiter([LimitConfig(scope="key", rpm=3)])
    assert [limiter.acquire("k1", "m") for _ in range(3)] == [None, None, None]
    refused = limiter.acquire("k1", "m")
    assert refused is not None
    retry_after, which = refused
    assert 1 <= retry_after <= 20
    assert "key rpm limit of 3" in which
    assert limiter.acquire("k2", "m") is None  # another key has its own bucket


def test_tpm_counts_tokens_from_responses() -> None:
    limiter = RateLimiter([LimitConfig(scope="model", match="big-*", tpm=1000)])
    assert limiter.acquire("k", "big-1") is None
    limiter.charge_tokens("k", "big-1", 1500)  # the response used more than the minute allows
    refused = limiter.acquire("k", "big-1")
    assert refused is not None
    assert refused[0] >= 29  # 500 tokens short at 1000/60 per second
    assert limiter.acquire("k", "small-1") is None  # pattern does not match: unlimited


def test_a_refused_request_takes_nothing() -> None:
    limiter = RateLimiter([LimitConfig(scope="key", rpm=1), LimitConfig(scope="model", rpm=1000)])
    assert limiter.acquire("k", "m") is None
    assert limiter.acquire("k", "m") is not None
    bucket = next(b for (i, kind, _), b in limiter._buckets.items() if i == 1)
    assert bucket.capacity - bucket.level == pytest.approx(1.0, abs=0.1)


def test_no_limits_means_no_state() -> None:
    limiter = RateLimiter([])
    assert not limiter.enabled
    assert limiter.acquire("k", "m") is None
    limiter.charge_tokens("k", "m", 10)
    assert limiter._buckets == {}
