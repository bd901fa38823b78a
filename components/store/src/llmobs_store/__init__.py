"""llmobs store: OTLP ingest, content merge, ClickHouse storage, query API and web UI."""

__version__ = "0.1.0"
