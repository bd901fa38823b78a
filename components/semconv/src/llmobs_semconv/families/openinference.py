"""OpenInference (Arize: openinference-instrumentation-openai, -langchain, -llama-index, ...).

Names: openinference-semantic-conventions 0.1.42, ``openinference/semconv/trace/__init__.py``
(Arize-ai/openinference python/openinference-semantic-conventions). Messages and documents are
flattened into indexed attributes (``llm.input_messages.0.message.role``); the first streamed
token is a span event.
"""

from __future__ import annotations

from llmobs_semconv import span_kinds as K
from llmobs_semconv.families import _rows as F
from llmobs_semconv.families._rows import Attr, Family, Flattened, Kind, SpanEvent

SEMCONV = "openinference-semantic-conventions 0.1.42 openinference/semconv/trace/__init__.py"
STREAM = (
    "openinference-instrumentation-openai 0.1.66 openinference/instrumentation/openai/_stream.py"
)
_MESSAGE_WRAPPERS = ("message", "message_content", "tool_call")


def _kind(value: str, kind: str) -> Kind:
    return Kind("openinference.span.kind", value, kind, SEMCONV, rank=90)


FAMILY = Family(
    name="openinference",
    title="OpenInference (Arize)",
    attributes=(
        Attr("llm.provider", F.PROVIDER, SEMCONV, rank=70),
        Attr("llm.system", F.PROVIDER, SEMCONV, rank=60),
        Attr("llm.model_name", F.MODEL, SEMCONV, rank=70),
        Attr("llm.request.model_name", F.REQUEST_MODEL, SEMCONV, rank=70),
        Attr("llm.response.model_name", F.RESPONSE_MODEL, SEMCONV, rank=70),
        Attr("embedding.model_name", F.MODEL, SEMCONV, rank=70),
        Attr("reranker.model_name", F.MODEL, SEMCONV, rank=60),
        Attr("llm.token_count.prompt", F.INPUT_TOKENS, SEMCONV, rank=70),
        Attr("llm.token_count.completion", F.OUTPUT_TOKENS, SEMCONV, rank=70),
        Attr("llm.token_count.total", F.TOTAL_TOKENS, SEMCONV, rank=70),
        Attr("llm.token_count.prompt_details.cache_read", F.CACHED_TOKENS, SEMCONV, rank=70),
        Attr(
            "llm.token_count.prompt_details.cache_write",
            F.CACHE_CREATION_TOKENS,
            SEMCONV,
            rank=70,
        ),
        Attr(
            "llm.token_count.completion_details.reasoning",
            F.REASONING_TOKENS,
            SEMCONV,
            rank=70,
        ),
        Attr("llm.cost.total", F.COST_USD, SEMCONV, rank=80),
        Attr("llm.cost.prompt", F.INPUT_COST_USD, SEMCONV, rank=80),
        Attr("llm.cost.completion", F.OUTPUT_COST_USD, SEMCONV, rank=80),
        Attr("llm.finish_reason", F.FINISH_REASONS, SEMCONV, rank=60),
        # DECISION spans: a model call answering typed questions (decision_spans.md).
        Attr("decision.provider", F.PROVIDER, SEMCONV, rank=65),
        Attr("decision.system", F.PROVIDER, SEMCONV, rank=55),
        Attr("decision.model_name", F.MODEL, SEMCONV, rank=65),
        Attr("decision.request.model_name", F.REQUEST_MODEL, SEMCONV, rank=65),
        Attr("decision.response.model_name", F.RESPONSE_MODEL, SEMCONV, rank=65),
        Attr("decision.token_count.input", F.INPUT_TOKENS, SEMCONV, rank=65),
        Attr("decision.token_count.output", F.OUTPUT_TOKENS, SEMCONV, rank=65),
        Attr("session.id", F.SESSION_ID, SEMCONV, rank=90),
        Attr("user.id", F.USER_ID, SEMCONV, rank=90),
        Attr("tool.name", F.TOOL_NAME, SEMCONV, rank=70),
        Attr("input.value", F.CONTENT_INPUT, SEMCONV, rank=60, unit="text"),
        Attr("output.value", F.CONTENT_OUTPUT, SEMCONV, rank=60, unit="text"),
    ),
    kinds=(
        _kind("LLM", K.LLM),
        _kind("EMBEDDING", K.EMBEDDING),
        _kind("CHAIN", K.CHAIN),
        _kind("RETRIEVER", K.RETRIEVER),
        _kind("RERANKER", K.RERANKER),
        _kind("TOOL", K.TOOL),
        _kind("AGENT", K.AGENT),
        _kind("GUARDRAIL", K.GUARDRAIL),
        _kind("EVALUATOR", K.EVALUATOR),
        _kind("PROMPT", K.CHAIN),  # a template render: a step of a chain
        _kind("DECISION", K.LLM),  # a model call with typed answers, tokens and a model
    ),
    span_events=(SpanEvent("First Token Stream Event", F.FIRST_TOKEN, STREAM),),
    flattened=(
        Flattened("llm.input_messages.", F.CONTENT_INPUT, SEMCONV, 80, _MESSAGE_WRAPPERS),
        Flattened("llm.output_messages.", F.CONTENT_OUTPUT, SEMCONV, 80, _MESSAGE_WRAPPERS),
        Flattened("retrieval.documents.", F.CONTENT_OUTPUT, SEMCONV, 50, ("document",)),
    ),
)
