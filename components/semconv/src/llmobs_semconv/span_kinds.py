"""The span-kind vocabulary of the llmobs span model.

GenAI kinds follow OpenInference's list plus ``WORKFLOW``, ``MCP`` and ``MEMORY`` (memory
operations: OTel GenAI ``search_memory`` and kin, LoongSuite's ``MEMORY`` spans); a span of none
of them keeps its plain OTel kind (``SERVER``, ``CLIENT``, ``INTERNAL``, ``PRODUCER``,
``CONSUMER``).
"""

from __future__ import annotations

from typing import Final

LLM: Final = "LLM"
EMBEDDING: Final = "EMBEDDING"
RETRIEVER: Final = "RETRIEVER"
RERANKER: Final = "RERANKER"
TOOL: Final = "TOOL"
AGENT: Final = "AGENT"
CHAIN: Final = "CHAIN"
WORKFLOW: Final = "WORKFLOW"
GUARDRAIL: Final = "GUARDRAIL"
EVALUATOR: Final = "EVALUATOR"
MCP: Final = "MCP"
MEMORY: Final = "MEMORY"

GENAI: Final[tuple[str, ...]] = (
    LLM,
    EMBEDDING,
    RETRIEVER,
    RERANKER,
    TOOL,
    AGENT,
    CHAIN,
    WORKFLOW,
    GUARDRAIL,
    EVALUATOR,
    MCP,
    MEMORY,
)
OTEL: Final[tuple[str, ...]] = ("INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
ALL: Final[tuple[str, ...]] = GENAI + OTEL


def from_operation(operation: str | None) -> str | None:
    """The span kind for a ``gen_ai.operation.name`` value, or None when it names none.

    Read from the family tables (``llmobs_semconv.families``), the one place operation names
    are mapped.
    """
    if operation is None:
        return None
    from llmobs_semconv.families import KINDS  # the tables import this module's names

    row = KINDS.get("gen_ai.operation.name", {}).get(operation.lower())
    return None if row is None else row.kind
