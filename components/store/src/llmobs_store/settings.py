"""The store's settings: one pydantic-settings class, ``LLMOBS_STORE_`` environment prefix."""

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    batch_wait_s: float = Field(0.5, gt=0, description="Longest wait to fill an insert batch.")
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
    ingest_token: str = Field("", description="Bearer token required on /v1/* when set.")
    query_token: str = Field("", description="Bearer token required on /api/* when set.")
    price_file: Path | None = Field(
        None, description="JSON price table whose entries are tried before the shipped defaults."
    )
    log_level: str = Field("info", description="Log level: debug, info, warning, error.")

    @field_validator("db")
    @classmethod
    def _check_db(cls, value: str) -> str:
        if not value.startswith(("chdb://", "http://", "https://")):
            raise ValueError("db must start with chdb://, http:// or https://")
        return value
