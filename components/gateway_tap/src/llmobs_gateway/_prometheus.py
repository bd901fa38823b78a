"""Prometheus ``/metrics`` of one gateway (a registry per app, never the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from llmobs_semconv import metrics as M

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class GatewayMetrics:
    """Requests, errors, tokens, TTFT/TPOT histograms, upstream health, in-flight requests."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "llmobs_gateway_requests",
            "Requests answered, by model, upstream and HTTP status.",
            ["model", "upstream", "status"],
            registry=r,
        )
        self.errors = Counter(
            "llmobs_gateway_errors",
            "Requests that failed, by model, upstream and error type.",
            ["model", "upstream", "error_type"],
            registry=r,
        )
        self.upstream_failures = Counter(
            "llmobs_gateway_upstream_failures",
            "Failed upstream attempts (connect error, timeout, 429, 5xx), failover included.",
            ["upstream", "reason"],
            registry=r,
        )
        self.tokens = Counter(
            "llmobs_gateway_tokens",
            "Tokens reported by upstreams, by model and type (input/output).",
            ["model", "type"],
            registry=r,
        )
        self.cost = Counter(
            "llmobs_gateway_cost_usd", "Cost of answered requests, USD.", ["model"], registry=r
        )
        self.ttft = Histogram(
            "llmobs_gateway_time_to_first_token_seconds",
            "Time from the request to the first output chunk.",
            ["model"],
            buckets=M.SERVER_TTFT_BUCKETS,
            registry=r,
        )
        self.tpot = Histogram(
            "llmobs_gateway_time_per_output_token_seconds",
            "Mean time per output token after the first.",
            ["model"],
            buckets=M.SERVER_TPOT_BUCKETS,
            registry=r,
        )
        self.duration = Histogram(
            "llmobs_gateway_request_duration_seconds",
            "Whole request duration, to the last byte.",
            ["model"],
            buckets=M.DURATION_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "llmobs_gateway_in_flight_requests", "Requests being served now.", registry=r
        )
        self.upstream_up = Gauge(
            "llmobs_gateway_upstream_up",
            "1 while the upstream's circuit is closed, 0 while it is open.",
            ["upstream"],
            registry=r,
        )
        self.rate_limited = Counter(
            "llmobs_gateway_rate_limited",
            "Requests refused by a limit.",
            ["model"],
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
