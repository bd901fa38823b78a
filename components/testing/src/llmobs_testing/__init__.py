"""llmobs testing: an OpenAI-compatible model-server simulator with vLLM metrics."""

__version__ = "0.1.0"
