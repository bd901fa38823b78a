"""PromptFlow tracing (``promptflow-tracing`` on PyPI, microsoft/promptflow src/promptflow-tracing).

Names: promptflow-tracing 1.18.5 ``promptflow/tracing/_trace.py`` (``enrich_span_with_trace``,
``_input``/``_output``/``_llm``/``_openai_tokens``) and ``contracts/trace.py`` (``TraceType``).
The names are generic (``inputs``, ``output``, ``span_type``), so they are read only on spans
marked ``framework=promptflow``. ``__computed__.cumulative_token_count.*`` sums a span's children
and is deliberately not read: counting it would count every call twice.
"""

from __future__ import annotations

from llmobs_semconv import span_kinds as K
from llmobs_semconv.families import _rows as F
from llmobs_semconv.families._rows import Attr, Family, Kind

TRACE = "promptflow-tracing 1.18.5 promptflow/tracing/_trace.py"
TYPES = "promptflow-tracing 1.18.5 promptflow/tracing/contracts/trace.py (TraceType)"


def _kind(value: str, kind: str, rank: int = 80) -> Kind:
    return Kind("span_type", value, kind, TYPES, rank=rank)


FAMILY = Family(
    name="promptflow",
    title="PromptFlow tracing (Microsoft)",
    guard=("framework", "promptflow"),
    attributes=(
        Attr("llm.response.model", F.RESPONSE_MODEL, TRACE, rank=50),
        Attr("llm.usage.prompt_tokens", F.INPUT_TOKENS, TRACE, rank=50),
        Attr("llm.usage.completion_tokens", F.OUTPUT_TOKENS, TRACE, rank=50),
        Attr("llm.usage.total_tokens", F.TOTAL_TOKENS, TRACE, rank=50),
        Attr("inputs", F.CONTENT_INPUT, TRACE, rank=40, unit="json"),
        Attr("output", F.CONTENT_OUTPUT, TRACE, rank=40, unit="json"),
        Attr("llm.generated_message", F.CONTENT_OUTPUT, TRACE, rank=45, unit="json"),
    ),
    kinds=(
        _kind("LLM", K.LLM),
        _kind("Embedding", K.EMBEDDING),
        _kind("Retrieval", K.RETRIEVER),
        _kind("Flow", K.WORKFLOW),
        _kind("Function", K.CHAIN, rank=40),
        _kind("LangChain", K.CHAIN, rank=40),
    ),
)
