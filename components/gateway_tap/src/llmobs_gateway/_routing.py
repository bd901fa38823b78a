"""Upstreams (one keep-alive pool and one circuit breaker each) and the routes to them."""

from __future__ import annotations

import random
import ssl
import time
from dataclasses import dataclass, field

from llmobs_gateway._upstream_http import UpstreamPool
from llmobs_gateway.config import ConfigError, GatewayConfig, RouteConfig, UpstreamConfig


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; one trial passes after the cool-down."""

    __slots__ = ("cooldown_s", "failures", "open_until", "threshold")

    def __init__(self, threshold: int, cooldown_s: float) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self.failures = 0
        self.open_until = 0.0

    def available(self, now: float) -> bool:
        """Closed, or open with its cool-down over (half-open: the next call is the trial)."""
        return self.failures < self.threshold or now >= self.open_until

    @property
    def is_open(self) -> bool:
        return self.failures >= self.threshold and time.monotonic() < self.open_until

    def record_success(self) -> None:
        self.failures = 0

    def record_failure(self, now: float) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            # A failed half-open trial re-opens the circuit for a full cool-down.
            self.open_until = now + self.cooldown_s


@dataclass
class Upstream:
    """One model server: its settings, its pooled HTTP client, its breaker."""

    config: UpstreamConfig
    pool: UpstreamPool
    breaker: CircuitBreaker
    auth_header: bytes | None = field(default=None, repr=False)  # never printed

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def name_bytes(self) -> bytes:
        return self.config.name.encode()


def build_upstreams(
    config: GatewayConfig,
    breaker_failures: int,
    breaker_cooldown_s: float,
    *,
    max_header_bytes: int = 64 * 1024,
) -> dict[str, Upstream]:
    """One keep-alive connection pool per upstream (HTTP/1.1, shared by all requests)."""
    out: dict[str, Upstream] = {}
    for i, cfg in enumerate(config.upstreams):
        key = cfg.read_api_key()
        try:
            pool = UpstreamPool(
                cfg.base_url,
                max_connections=cfg.max_connections,
                connect_timeout_s=cfg.connect_timeout_s,
                ca_file=cfg.ca_file,
                tls_verify=cfg.tls_verify,
                max_header_bytes=max_header_bytes,
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"upstreams[{i}].ca_file: unusable CA bundle: {exc}") from None
        out[cfg.name] = Upstream(
            config=cfg,
            pool=pool,
            breaker=CircuitBreaker(breaker_failures, breaker_cooldown_s),
            auth_header=f"Bearer {key}".encode() if key else None,
        )
    return out


class Router:
    """Maps a requested model to the ordered upstreams to try (exact routes before patterns)."""

    def __init__(self, config: GatewayConfig, upstreams: dict[str, Upstream]) -> None:
        self._upstreams = upstreams
        self._exact: dict[str, RouteConfig] = {}
        self._patterns: list[RouteConfig] = []
        for route in config.resolved_routes():
            if route.is_pattern:
                self._patterns.append(route)
            else:
                self._exact.setdefault(route.model, route)
        self._cache: dict[str, RouteConfig | None] = {}

    def route(self, model: str) -> RouteConfig | None:
        if model in self._exact:
            return self._exact[model]
        if model in self._cache:
            return self._cache[model]
        found = next((r for r in self._patterns if r.matches(model)), None)
        if len(self._cache) < 10_000:  # bounded: callers choose model names
            self._cache[model] = found
        return found

    def candidates(self, route: RouteConfig) -> list[Upstream]:
        """Upstreams to try in order, open circuits left out.

        When every circuit is open the first upstream is tried anyway: refusing outright would turn
        a brief outage of all upstreams into a full cool-down of errors.
        """
        now = time.monotonic()
        chosen = [self._upstreams[name] for name in route.upstreams]
        if route.balance == "weighted" and len(chosen) > 1:
            # Weighted pick among the best (lowest) priority; the rest stay for failover.
            best = min(u.config.priority for u in chosen)
            tier = [u for u in chosen if u.config.priority == best]
            first = random.choices(tier, weights=[u.config.weight for u in tier])[0]
            chosen.remove(first)
            chosen.insert(0, first)
        healthy = [u for u in chosen if u.breaker.available(now)]
        return healthy or chosen[:1]

    def served_models(self) -> list[tuple[str, str]]:
        """(model id, owner) for /v1/models: exact routes, and the models of pattern routes."""
        seen: dict[str, str] = {}
        for model, route in self._exact.items():
            seen.setdefault(model, route.upstreams[0])
        for route in self._patterns:
            for name in route.upstreams:
                for model in self._upstreams[name].config.models:
                    if route.matches(model):
                        seen.setdefault(model, name)
        return sorted(seen.items())
