"""The span-kind vocabulary of the llmobs span model.

GenAI kinds follow OpenInference's list plus ``WORKFLOW`` and ``MCP``; a span of none of them keeps
its plain OTel kind (``SERVER``, ``CLIENT``, ``INTERNAL``, ``PRODUCER``, ``CONSUMER``).
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
)
OTEL: Final[tuple[str, ...]] = ("INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
ALL: Final[tuple[str, ...]] = GENAI + OTEL

#: gen_ai.operation.name -> span kind
BY_OPERATION: Final[dict[str, str]] = {
    "chat": LLM,
    "text_completion": LLM,
    "generate_content": LLM,
    "embeddings": EMBEDDING,
    "retrieval": RETRIEVER,
    "execute_tool": TOOL,
    "invoke_agent": AGENT,
    "create_agent": AGENT,
    "invoke_workflow": WORKFLOW,
}

#: openinference.span.kind -> span kind (PROMPT spans are template renders: a CHAIN step)
BY_OPENINFERENCE: Final[dict[str, str]] = {
    "LLM": LLM,
    "EMBEDDING": EMBEDDING,
    "CHAIN": CHAIN,
    "RETRIEVER": RETRIEVER,
    "RERANKER": RERANKER,
    "TOOL": TOOL,
    "AGENT": AGENT,
    "GUARDRAIL": GUARDRAIL,
    "EVALUATOR": EVALUATOR,
    "PROMPT": CHAIN,
}


def from_operation(operation: str | None) -> str | None:
    """The span kind for a ``gen_ai.operation.name`` value, or None when it names none."""
    if operation is None:
        return None
    return BY_OPERATION.get(operation)
