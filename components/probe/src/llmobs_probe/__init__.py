"""llmobs probe: zero-code OpenTelemetry instrumentation for LLM applications (CPython 3.9+)."""

__version__ = "0.1.0"
