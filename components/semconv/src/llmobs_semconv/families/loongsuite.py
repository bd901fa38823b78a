"""LoongSuite (Alibaba: loongsuite-* on PyPI, alibaba/loongsuite-python-agent).

Names: loongsuite-util-genai 0.5.0 ``opentelemetry/util/genai/extended_semconv/
gen_ai_extended_attributes.py`` (the LoongSuite extensions to OTel GenAI: ``gen_ai.span.kind``,
the entry span's session and user, total tokens, TTFT in nanoseconds) and loongsuite-otel-util-genai
0.9.1 (memory operations and their events). Otherwise LoongSuite writes the OTel GenAI names.
"""

from __future__ import annotations

from llmobs_semconv import span_kinds as K
from llmobs_semconv.families import _rows as F
from llmobs_semconv.families._rows import Attr, Family, Kind, LogEvent

EXTENDED = (
    "loongsuite-util-genai 0.5.0 "
    "opentelemetry/util/genai/extended_semconv/gen_ai_extended_attributes.py"
)
MEMORY = "loongsuite-otel-util-genai 0.9.1 opentelemetry/util/genai/extended_memory/memory_utils.py"
HANDLER = "loongsuite-otel-util-genai 0.9.1 opentelemetry/util/genai/extended_span_utils.py"


def _kind(value: str, kind: str) -> Kind:
    return Kind("gen_ai.span.kind", value, kind, EXTENDED, rank=90)


FAMILY = Family(
    name="loongsuite",
    title="LoongSuite (Alibaba)",
    attributes=(
        Attr("gen_ai.session.id", F.SESSION_ID, EXTENDED, rank=70),
        Attr("gen_ai.user.id", F.USER_ID, EXTENDED, rank=70),
        Attr("gen_ai.usage.total_tokens", F.TOTAL_TOKENS, EXTENDED, rank=60),
        # Nanoseconds: (first token - start) * 1e9, stored as an int.
        Attr("gen_ai.response.time_to_first_token", F.TTFT, EXTENDED, rank=70, unit="ns"),
        Attr("gen_ai.memory.input.messages", F.CONTENT_INPUT, MEMORY, rank=60, unit="json"),
        Attr("gen_ai.memory.output.messages", F.CONTENT_OUTPUT, MEMORY, rank=60, unit="json"),
        Attr("gen_ai.rerank.input_documents", F.CONTENT_INPUT, EXTENDED, rank=50, unit="json"),
        Attr("gen_ai.rerank.output_documents", F.CONTENT_OUTPUT, EXTENDED, rank=50, unit="json"),
    ),
    kinds=(
        _kind("AGENT", K.AGENT),
        _kind("LLM", K.LLM),
        _kind("EMBEDDING", K.EMBEDDING),
        _kind("TOOL", K.TOOL),
        _kind("RETRIEVER", K.RETRIEVER),
        _kind("RERANKER", K.RERANKER),
        _kind("MEMORY", K.MEMORY),
        # The entry point of one call into the AI application (carries session and user).
        _kind("ENTRY", K.WORKFLOW),
        # One Reasoning-Acting iteration of an agent.
        _kind("STEP", K.CHAIN),
        Kind("gen_ai.operation.name", "rerank_documents", K.RERANKER, EXTENDED, rank=70),
        Kind("gen_ai.operation.name", "enter", K.WORKFLOW, EXTENDED, rank=70),
        Kind("gen_ai.operation.name", "react", K.CHAIN, EXTENDED, rank=70),
        Kind("gen_ai.operation.name", "memory_operation", K.MEMORY, MEMORY, rank=70),
    ),
    log_events=(
        LogEvent("gen_ai.client.agent.invoke.operation.details", F.DETAILS, HANDLER),
        LogEvent("gen_ai.memory.operation.details", F.DETAILS, MEMORY),
    ),
)
