"""OpenLLMetry (Traceloop: traceloop-sdk and its opentelemetry-instrumentation-* packages).

Names: opentelemetry-semantic-conventions-ai 0.5.1 ``opentelemetry/semconv_ai/__init__.py``
(traceloop/openllmetry packages/opentelemetry-semantic-conventions-ai), which keeps the legacy
``llm.*`` and flattened ``gen_ai.prompt.<n>.*`` names next to the current ones. The decorators
(``@workflow``, ``@task``, ``@agent``, ``@tool``) set ``traceloop.span.kind``; the LangChain
instrumentation also sets ``gen_ai.operation.name`` (``invoke_agent`` on every workflow, so
the Traceloop kind outranks the operation there), ``execute_task`` and ``vector_db_retrieve``.
"""

from __future__ import annotations

from llmobs_semconv import span_kinds as K
from llmobs_semconv.families import _rows as F
from llmobs_semconv.families._rows import Attr, Family, Flattened, Kind, SpanEvent

SEMCONV_AI = "opentelemetry-semantic-conventions-ai 0.5.1 opentelemetry/semconv_ai/__init__.py"
DECORATORS = "traceloop-sdk 0.62.4 traceloop/sdk/decorators/base.py"
ASSOCIATIONS = "traceloop-sdk 0.62.4 traceloop/sdk/associations/associations.py"
GUARDRAIL = "traceloop-sdk 0.62.4 traceloop/sdk/guardrail/guardrail.py"
LANGCHAIN = (
    "opentelemetry-instrumentation-langchain 0.62.4 "
    "opentelemetry/instrumentation/langchain/callback_handler.py"
)
CHAT = (
    "opentelemetry-instrumentation-openai 0.62.4 "
    "opentelemetry/instrumentation/openai/shared/chat_wrappers.py"
)
_PROPERTIES = "traceloop.association.properties."


def _traceloop(value: str, kind: str, rank: int = 85) -> Kind:
    return Kind("traceloop.span.kind", value, kind, SEMCONV_AI, rank=rank)


FAMILY = Family(
    name="openllmetry",
    title="OpenLLMetry (Traceloop)",
    attributes=(
        Attr("gen_ai.usage.total_tokens", F.TOTAL_TOKENS, SEMCONV_AI, rank=60),
        Attr("llm.usage.total_tokens", F.TOTAL_TOKENS, SEMCONV_AI, rank=50),
        Attr("gen_ai.usage.cache_read_input_tokens", F.CACHED_TOKENS, SEMCONV_AI, rank=60),
        Attr(
            "gen_ai.usage.cache_creation_input_tokens",
            F.CACHE_CREATION_TOKENS,
            SEMCONV_AI,
            rank=60,
        ),
        Attr("gen_ai.usage.reasoning_tokens", F.REASONING_TOKENS, SEMCONV_AI, rank=60),
        Attr("llm.usage.reasoning_tokens", F.REASONING_TOKENS, SEMCONV_AI, rank=50),
        Attr("gen_ai.response.finish_reason", F.FINISH_REASONS, SEMCONV_AI, rank=50),
        Attr("gen_ai.user", F.USER_ID, SEMCONV_AI, rank=50),
        Attr("llm.user", F.USER_ID, SEMCONV_AI, rank=40),
        Attr(_PROPERTIES + "session_id", F.SESSION_ID, ASSOCIATIONS, rank=70),
        Attr(_PROPERTIES + "user_id", F.USER_ID, ASSOCIATIONS, rank=70),
        Attr("traceloop.entity.input", F.CONTENT_INPUT, DECORATORS, rank=55, unit="json"),
        Attr("traceloop.entity.output", F.CONTENT_OUTPUT, DECORATORS, rank=55, unit="json"),
        Attr("gen_ai.task.input", F.CONTENT_INPUT, LANGCHAIN, rank=50, unit="json"),
        Attr("gen_ai.task.output", F.CONTENT_OUTPUT, LANGCHAIN, rank=50, unit="json"),
    ),
    kinds=(
        _traceloop("workflow", K.WORKFLOW),
        _traceloop("agent", K.AGENT),
        _traceloop("tool", K.TOOL),
        # A task is any decorated step: weaker than an operation naming what it does
        # (``vector_db_retrieve`` on LangChain retriever tasks).
        _traceloop("task", K.CHAIN, rank=40),
        Kind("gen_ai.operation.name", "execute_task", K.CHAIN, LANGCHAIN, rank=70),
        Kind("gen_ai.operation.name", "vector_db_retrieve", K.RETRIEVER, LANGCHAIN, rank=70),
        Kind("gen_ai.operation.name", "llm_request", K.LLM, SEMCONV_AI, rank=70),
        Kind("gen_ai.operation.name", "guardrail.run", K.GUARDRAIL, GUARDRAIL, rank=70),
        Kind("gen_ai.operation.name", "guard", K.GUARDRAIL, GUARDRAIL, rank=70),
        # Legacy request type (LLMRequestTypeValues), on older instrumentation releases.
        Kind("llm.request.type", "chat", K.LLM, SEMCONV_AI, rank=60),
        Kind("llm.request.type", "completion", K.LLM, SEMCONV_AI, rank=60),
        Kind("llm.request.type", "embedding", K.EMBEDDING, SEMCONV_AI, rank=60),
        Kind("llm.request.type", "rerank", K.RERANKER, SEMCONV_AI, rank=60),
    ),
    span_events=(
        # One event per streamed chunk: the first one's time is the first token.
        SpanEvent("gen_ai.content.completion.chunk", F.FIRST_TOKEN, CHAT),
        SpanEvent("llm.content.completion.chunk", F.FIRST_TOKEN, SEMCONV_AI),
    ),
    flattened=(
        # Legacy flattened prompts/completions (LLM_PROMPTS / LLM_COMPLETIONS + ".<n>.role").
        Flattened("gen_ai.prompt.", F.CONTENT_INPUT, SEMCONV_AI, 75),
        Flattened("gen_ai.completion.", F.CONTENT_OUTPUT, SEMCONV_AI, 75),
    ),
)
