"""The store's settings: one pydantic-settings class, ``LLMOBS_STORE_`` environment prefix."""

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class StoreSettings(BaseSettings):
    """Everything ``llmobs store serve`` can be told; built in ``main()`` or the app factory."""

    model_config = SettingsConfigDict(env_prefix="LLMOBS_STORE_", extra="forbid")

    host: str = Field("127.0.0.1", description="Address the HTTP server listens on.")
    port: int = Field(4318, ge=0, le=65535, description="Port of OTLP/HTTP, query API and UI.")
    db: str = Field(
        "chdb://.llmobs/data",
        description="chdb://PATH for the embedded engine, or http(s)://user:pass@host:port/db "
        "for a ClickHouse server or cluster.",
    )
    db_user: str = Field(
        "", description="User for an http(s) --db; overrides the URL's (e.g. from a Secret)."
    )
    db_password: str = Field(
        "", description="Password for an http(s) --db; overrides the URL's (keep it in a Secret)."
    )
    database: str = Field(
        "llmobs", description="ClickHouse database (chdb:// only; http takes it from the URL path)."
    )
    cluster: str = Field(
        "",
        description="ClickHouse cluster name: renders ON CLUSTER, "
        "Replicated engines and Distributed tables when set.",
    )
    retention_days: int = Field(30, ge=1, description="TTL of spans, content, logs and metrics.")
    spool_dir: Path = Field(Path(".llmobs/spool"), description="Write-ahead spool directory.")
    spool_max_bytes: int = Field(
        2 * 1024**3, ge=1024 * 1024, description="Spool backlog above which ingest answers 503."
    )
    spool_segment_bytes: int = Field(
        64 * 1024**2, ge=64 * 1024, description="Size at which the spool starts a new segment."
    )
    spool_fsync: bool = Field(True, description="fsync every acknowledged request (durability).")
    batch_rows: int = Field(20000, ge=1, description="Rows per ClickHouse insert, at most.")
    batch_bytes: int = Field(
        64 * 1024**2,
        ge=1024,
        description="Encoded row bytes per ClickHouse insert, about (bounds memory with large "
        "rows as batch_rows does with many).",
    )
    batch_wait_s: float = Field(0.5, gt=0, description="Longest wait to fill an insert batch.")
    dead_letter_record_bytes: int = Field(
        64 * 1024,
        ge=256,
        le=16 * 1024**2,
        description="Largest piece of a dead-lettered row or record kept with it, bytes "
        "(the rest is cut, marked as cut).",
    )
    max_inflight_requests: int = Field(
        64, ge=1, description="Concurrent ingest requests above which ingest answers 429."
    )
    max_request_bytes: int = Field(
        32 * 1024**2, ge=1024, description="Largest accepted request body (decompressed), bytes."
    )
    content_grace_s: float = Field(
        60.0,
        gt=0,
        description="How long an incomplete set of content chunks waits for its "
        "missing pieces before it is stored flagged incomplete.",
    )
    tree_settle_s: float = Field(
        2.0,
        gt=0,
        le=3600,
        description="How long after a trace receives spans its tree pass runs (which span "
        "counts, inherited session and user, stand-in root); aggregates are exact that long "
        "after a trace's last span is stored.",
    )
    ingest_token: str = Field("", description="Bearer token required on /v1/* when set.")
    query_token: str = Field("", description="Bearer token required on /api/* when set.")
    price_file: Path | None = Field(
        None, description="JSON price table whose entries are tried before the shipped defaults."
    )
    scrape_targets_file: Path | None = Field(
        None,
        description="JSON file of Prometheus endpoints to scrape (model servers, GPU exporters): "
        '{"interval_s": N, "targets": [{"url", "kind", "labels"}]}; re-read every round.',
    )
    scrape_interval_s: float = Field(
        15.0, gt=0, description="Scrape interval when the targets file names none, seconds."
    )
    scrape_timeout_s: float = Field(
        5.0, gt=0, le=60, description="Timeout of one scrape of one target, seconds."
    )
    rum_enabled: bool = Field(
        False,
        description="Accept OTLP from browsers: CORS on POST /v1/traces and /v1/logs for "
        "rum_allowed_origins (nothing else is opened).",
    )
    # NoDecode: the environment gives a comma-separated list (as the operator writes it), not JSON.
    rum_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port]) browsers may send RUM from; comma-separated "
        "in LLMOBS_STORE_RUM_ALLOWED_ORIGINS.",
    )
    log_level: str = Field("info", description="Log level: debug, info, warning, error.")

    @field_validator("db")
    @classmethod
    def _check_db(cls, value: str) -> str:
        if not value.startswith(("chdb://", "http://", "https://")):
            raise ValueError("db must start with chdb://, http:// or https://")
        return value

    @field_validator("rum_allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("rum_allowed_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            url = urlparse(origin)
            if url.scheme not in ("http", "https") or not url.netloc or url.path not in ("", "/"):
                raise ValueError(f"{origin!r} is not an origin like https://app.example.com")
        return [origin.rstrip("/") for origin in value]
