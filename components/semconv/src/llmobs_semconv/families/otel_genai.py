"""OpenTelemetry: the GenAI semantic conventions (current, schema 1.42, and deprecated names),
the general attributes we read, and the GenAI log events that carry content.

Current names: open-telemetry/semantic-conventions-genai (the GenAI conventions moved there in
2026). Deprecated names: opentelemetry-semantic-conventions 0.66b2, whose incubating
``gen_ai_attributes.py`` marks each as deprecated with its replacement. Instrumentations emit
the deprecated generation unless ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``,
so both are read.
"""

from __future__ import annotations

from llmobs_semconv import span_kinds as K
from llmobs_semconv.families import _rows as F
from llmobs_semconv.families._rows import Attr, Family, Kind, LogEvent, SpanEvent

REGISTRY = "open-telemetry/semantic-conventions-genai docs/registry/attributes/gen-ai.md"
GUARDRAILS = "open-telemetry/semantic-conventions-genai docs/gen-ai/gen-ai-guardrails.md"
EVENTS = "open-telemetry/semantic-conventions-genai model/gen-ai/events.yaml"
UTIL_GENAI = "opentelemetry-util-genai 1.3b0 opentelemetry/util/genai/_inference_invocation.py"
DEPRECATED = (
    "opentelemetry-semantic-conventions 0.66b2 "
    "opentelemetry/semconv/_incubating/attributes/gen_ai_attributes.py"
)
OPENAI_V2 = (
    "opentelemetry-instrumentation-openai-v2 2.4b0 "
    "opentelemetry/instrumentation/openai_v2/utils.py (message_to_event, choice_to_event)"
)
GENERAL = "opentelemetry-semantic-conventions 0.66b2 opentelemetry/semconv/attributes/"
EXCEPTIONS = "opentelemetry-sdk 1.45.1 opentelemetry/sdk/trace/__init__.py (Span.record_exception)"


def _operation(value: str, kind: str, source: str = REGISTRY) -> Kind:
    return Kind("gen_ai.operation.name", value, kind, source, rank=70)


FAMILY = Family(
    name="otel-genai",
    title="OpenTelemetry GenAI semantic conventions",
    attributes=(
        Attr("gen_ai.provider.name", F.PROVIDER, REGISTRY, rank=90),
        Attr("gen_ai.request.model", F.REQUEST_MODEL, REGISTRY, rank=90),
        Attr("gen_ai.response.model", F.RESPONSE_MODEL, REGISTRY, rank=90),
        Attr("gen_ai.usage.input_tokens", F.INPUT_TOKENS, REGISTRY, rank=90),
        Attr("gen_ai.usage.output_tokens", F.OUTPUT_TOKENS, REGISTRY, rank=90),
        Attr("gen_ai.usage.cache_read.input_tokens", F.CACHED_TOKENS, REGISTRY, rank=90),
        Attr(
            "gen_ai.usage.cache_creation.input_tokens",
            F.CACHE_CREATION_TOKENS,
            REGISTRY,
            rank=90,
        ),
        # The util-genai helper (used by the openai-v2 instrumentation in its latest mode)
        # writes the cache-creation count under this name.
        Attr(
            "gen_ai.usage.cache_write.input_tokens",
            F.CACHE_CREATION_TOKENS,
            UTIL_GENAI,
            rank=85,
        ),
        Attr("gen_ai.usage.reasoning.output_tokens", F.REASONING_TOKENS, REGISTRY, rank=90),
        Attr("gen_ai.response.time_to_first_chunk", F.TTFT, REGISTRY, rank=90, unit="s"),
        Attr("gen_ai.response.finish_reasons", F.FINISH_REASONS, REGISTRY, rank=90),
        Attr("gen_ai.conversation.id", F.SESSION_ID, REGISTRY, rank=80),
        Attr("gen_ai.tool.name", F.TOOL_NAME, REGISTRY, rank=90),
        Attr("gen_ai.tool.call.arguments", F.TOOL_ARGUMENTS, REGISTRY, rank=90),
        Attr("gen_ai.input.messages", F.CONTENT_INPUT, REGISTRY, rank=90, unit="json"),
        Attr("gen_ai.output.messages", F.CONTENT_OUTPUT, REGISTRY, rank=90, unit="json"),
        Attr("gen_ai.system_instructions", F.CONTENT_SYSTEM, REGISTRY, rank=90, unit="json"),
        Attr("gen_ai.retrieval.query.text", F.CONTENT_INPUT, REGISTRY, rank=70, unit="text"),
        Attr("gen_ai.retrieval.documents", F.CONTENT_OUTPUT, REGISTRY, rank=70, unit="json"),
        Attr("gen_ai.memory.query.text", F.CONTENT_INPUT, REGISTRY, rank=70, unit="text"),
        Attr("gen_ai.memory.records", F.CONTENT_OUTPUT, REGISTRY, rank=70, unit="json"),
        # Deprecated generation (what instrumentations emit without the opt-in).
        Attr("gen_ai.system", F.PROVIDER, DEPRECATED, rank=80),
        Attr("gen_ai.usage.prompt_tokens", F.INPUT_TOKENS, DEPRECATED, rank=80),
        Attr("gen_ai.usage.completion_tokens", F.OUTPUT_TOKENS, DEPRECATED, rank=80),
        Attr("gen_ai.prompt", F.CONTENT_INPUT, DEPRECATED, rank=40, unit="text"),
        Attr("gen_ai.completion", F.CONTENT_OUTPUT, DEPRECATED, rank=40, unit="text"),
        # General OpenTelemetry attributes.
        Attr("error.type", F.ERROR_TYPE, GENERAL + "error_attributes.py", rank=90),
        Attr(
            "http.response.status_code",
            F.STATUS_CODE,
            GENERAL + "http_attributes.py",
            rank=90,
        ),
        Attr(
            "session.id",
            F.SESSION_ID,
            "opentelemetry-semantic-conventions 0.66b2 "
            "opentelemetry/semconv/_incubating/attributes/session_attributes.py",
            rank=90,
        ),
        Attr(
            "user.id",
            F.USER_ID,
            "opentelemetry-semantic-conventions 0.66b2 "
            "opentelemetry/semconv/_incubating/attributes/user_attributes.py",
            rank=90,
        ),
        Attr(
            "enduser.id",
            F.USER_ID,
            "opentelemetry-semantic-conventions 0.66b2 "
            "opentelemetry/semconv/_incubating/attributes/enduser_attributes.py",
            rank=80,
        ),
    ),
    kinds=(
        _operation("chat", K.LLM),
        _operation("text_completion", K.LLM),
        _operation("generate_content", K.LLM),
        _operation("embeddings", K.EMBEDDING),
        _operation("retrieval", K.RETRIEVER),
        _operation("execute_tool", K.TOOL),
        _operation("invoke_agent", K.AGENT),
        _operation("create_agent", K.AGENT),
        _operation("invoke_workflow", K.WORKFLOW),
        _operation("plan", K.CHAIN),
        _operation("apply_guardrail", K.GUARDRAIL, GUARDRAILS),
        _operation("create_memory", K.MEMORY),
        _operation("search_memory", K.MEMORY),
        _operation("update_memory", K.MEMORY),
        _operation("upsert_memory", K.MEMORY),
        _operation("delete_memory", K.MEMORY),
        _operation("create_memory_store", K.MEMORY),
        _operation("delete_memory_store", K.MEMORY),
    ),
    span_events=(SpanEvent("exception", F.EXCEPTION, EXCEPTIONS),),
    log_events=(
        LogEvent("gen_ai.client.inference.operation.details", F.DETAILS, EVENTS),
        # The per-message events of the deprecated generation (still the default).
        LogEvent("gen_ai.system.message", F.MESSAGE, OPENAI_V2, message_role="system"),
        LogEvent("gen_ai.user.message", F.MESSAGE, OPENAI_V2, message_role="user"),
        LogEvent("gen_ai.assistant.message", F.MESSAGE, OPENAI_V2, message_role="assistant"),
        LogEvent("gen_ai.tool.message", F.MESSAGE, OPENAI_V2, message_role="tool"),
        LogEvent("gen_ai.choice", F.CHOICE, OPENAI_V2),
    ),
)
