"""llmobs gateway tap: an OpenAI-compatible AI gateway that records every request."""

__version__ = "0.1.0"
