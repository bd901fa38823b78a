"""llmobs operator: the LLMObservability CRD, reconciled components and probe injection."""

__version__ = "0.1.0"
