"""The gateway's one settings class (``LLMOBS_`` environment variables, or CLI flags)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """Process-wide settings; routing (upstreams, routes, limits) lives in the config file."""

    model_config = SettingsConfigDict(
        env_prefix="LLMOBS_", extra="ignore", frozen=True, populate_by_name=True
    )

    host: str = Field(default="127.0.0.1", description="Address the gateway listens on.")
    port: int = Field(default=4000, ge=0, le=65535, description="Port the gateway listens on.")
    config_file: str | None = Field(
        default=None,
        description="YAML/JSON routing file (upstreams, routes, limits); also read from "
        "LLMOBS_GATEWAY_CONFIG (what the operator sets).",
        validation_alias=AliasChoices("LLMOBS_CONFIG_FILE", "LLMOBS_GATEWAY_CONFIG"),
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="Base URL of the OTLP/HTTP receiver (the store), e.g. http://store:4318; "
        "also read from OTEL_EXPORTER_OTLP_ENDPOINT. Unset records nothing remotely "
        "(Prometheus /metrics still works).",
        validation_alias=AliasChoices("LLMOBS_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
    )
    service_name: str = Field(
        default="llmobs-gateway",
        description="OTel service.name; also read from OTEL_SERVICE_NAME.",
        validation_alias=AliasChoices("LLMOBS_SERVICE_NAME", "OTEL_SERVICE_NAME"),
    )
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024, gt=0, description="Largest request body accepted (413 above)."
    )
    max_attempts: int = Field(
        default=3, ge=1, le=10, description="Upstream attempts per request, failover included."
    )
    request_deadline_s: float = Field(
        default=120.0, gt=0, description="Total time allowed to reach a first byte, all attempts."
    )
    breaker_failures: int = Field(
        default=3, ge=1, description="Consecutive failures that open an upstream's circuit."
    )
    breaker_cooldown_s: float = Field(
        default=30.0, gt=0, description="How long an open circuit keeps an upstream out."
    )
    capture_content: bool = Field(
        default=False, description="Record prompts and completions as OTLP chunk logs (opt-in)."
    )
    redact_content: bool = Field(
        default=True, description="Redact secrets and PII patterns from captured content."
    )
    max_chunk_bytes: int = Field(
        default=64 * 1024, ge=64, description="Largest captured content piece (one log record)."
    )
    prices_file: str | None = Field(
        default=None, description="JSON price-table overrides (llmobs_semconv.pricing format)."
    )
    export_interval_s: float = Field(
        default=10.0, gt=0, description="OTLP metrics export interval; spans are batched anyway."
    )
    forward_header_prefixes: tuple[str, ...] = Field(
        default=(),
        description="Client headers starting with one of these (lower-case) prefixes are passed "
        "upstream, e.g. x-sim- for the simulator's controls; none by default.",
    )
    keepalive_s: float = Field(
        default=30.0, gt=0, description="Idle client keep-alive connections are closed after this."
    )
    read_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="A client must send a whole request (head and body) within this (408 after).",
    )
    shutdown_grace_s: float = Field(
        default=10.0, ge=0, description="On SIGTERM, how long requests in flight may finish."
    )
    max_upstream_header_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        description="Largest upstream response head (1xx responses included); over it the "
        "client gets a 502.",
    )
    max_upstream_body_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024,
        description="Largest non-streamed upstream response body (an embeddings reply can be "
        "large); over it the client gets a 502. Streamed bodies pass through unbounded.",
    )
    max_upstream_error_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest upstream error (4xx/5xx) body passed on; over it the client gets a "
        "502.",
    )
    client_write_stall_s: float = Field(
        default=30.0,
        gt=0,
        description="A client that takes none of a response for this long (its socket buffer "
        "full) is cut and its upstream request cancelled.",
    )
    max_requests_per_client_ip: int = Field(
        default=0,
        ge=0,
        description="Concurrent requests one client address may have in flight (429 above); 0 "
        "for no limit (clients behind one proxy or load balancer share its address).",
    )
    log_level: str = Field(default="info", description="Log level of the structured JSON logs.")
    log_requests: bool = Field(
        default=False, description="Log one structured line per request (off: hot path)."
    )
