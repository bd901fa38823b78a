"""The instrumentation families the compatibility suite runs, as data.

Each row says which environment (``envs/<env>``) and app adapter (``app/adapters/<adapter>.py``)
a family runs with, its extra environment, which of the app's model calls it instruments, which
span kinds its telemetry names, where it records time to first token and how it names a session
and a user, each with the library file it comes from (read in the pinned release).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: The app's steps, in the order it runs them (app/steps.py).
STEPS = (
    "chat",
    "stream",
    "embeddings",
    "chain",
    "rag-index",
    "agent",
    "llamaindex",
    "remote-parent",
    "session",
)
#: The model-server endpoints a step's calls reach.
ENDPOINTS = {"/v1/chat/completions": "chat", "/v1/embeddings": "embeddings"}
#: Every (step, endpoint) the app calls; a family instrumenting the OpenAI SDK sees all.
EVERY_CALL = frozenset(f"{step}:{kind}" for step in STEPS for kind in ENDPOINTS.values())


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    env: str
    adapter: str
    packages: tuple[str, ...]  # the distributions the doc lists with their pinned versions
    kinds: frozenset[str]  # span kinds (the store's model) its telemetry names in this app
    ttft: str  # where the library records time to first token; "" when it does not
    session: str  # how the family names a session and a user (the app does it this way)
    sees: frozenset[str] = EVERY_CALL  # "step:chat|embeddings" calls it instruments
    environ: Mapping[str, str] = field(default_factory=dict)
    injected: bool = False  # our probe: loaded from its bundle, not installed in the env
    coverage: str = "every model call (the OpenAI SDK underneath)"  # `sees`, in words


_OTEL_PACKAGES = ("opentelemetry-instrumentation-openai-v2", "opentelemetry-util-genai")
_OTEL_SESSION = (
    "W3C baggage `session.id` / `user.id`, copied onto spans by the contrib BaggageSpanProcessor "
    "(the instrumentation has no session API)"
)

FAMILIES: tuple[Family, ...] = (
    Family(
        name="llmobs",
        title="llmobs probe (reference)",
        env="app",
        adapter="llmobs",
        packages=("llmobs-probe",),
        kinds=frozenset({"LLM", "EMBEDDING"}),
        ttft="`llmobs.ttft_s` (llmobs_probe/_call.py)",
        session="`llmobs_probe.session(session_id=, user_id=)` (W3C baggage)",
        environ={"LLMOBS_CAPTURE_CONTENT": "true"},
        injected=True,
    ),
    Family(
        name="otel-latest",
        title="OpenTelemetry openai-v2, `gen_ai_latest_experimental`",
        env="otel",
        adapter="otel",
        packages=_OTEL_PACKAGES,
        kinds=frozenset({"LLM", "EMBEDDING"}),
        ttft="",
        session=_OTEL_SESSION,
        environ={
            "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
        },
    ),
    Family(
        name="otel-default",
        title="OpenTelemetry openai-v2, default conventions",
        env="otel",
        adapter="otel",
        packages=_OTEL_PACKAGES,
        kinds=frozenset({"LLM", "EMBEDDING"}),
        ttft="",
        session=_OTEL_SESSION,
        environ={"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"},
    ),
    Family(
        name="openinference",
        title="OpenInference (openai, langchain, llama-index)",
        env="openinference",
        adapter="openinference",
        packages=(
            "openinference-instrumentation-openai",
            "openinference-instrumentation-langchain",
            "openinference-instrumentation-llama-index",
        ),
        kinds=frozenset({"LLM", "EMBEDDING", "CHAIN", "AGENT", "TOOL", "RETRIEVER"}),
        ttft='span event "First Token Stream Event" '
        "(openinference/instrumentation/openai/_stream.py)",
        session="`using_session()` / `using_user()` (openinference-instrumentation)",
    ),
    Family(
        name="openllmetry",
        title="OpenLLMetry (traceloop-sdk)",
        env="openllmetry",
        adapter="openllmetry",
        packages=(
            "traceloop-sdk",
            "opentelemetry-instrumentation-openai",
            "opentelemetry-instrumentation-langchain",
            "opentelemetry-instrumentation-llamaindex",
        ),
        # traceloop.span.kind task → CHAIN; gen_ai.operation.name vector_db_retrieve → RETRIEVER
        kinds=frozenset({"LLM", "EMBEDDING", "CHAIN", "AGENT", "TOOL", "RETRIEVER"}),
        ttft="span events `gen_ai.content.completion.chunk`, one per chunk "
        "(opentelemetry/instrumentation/openai/shared/chat_wrappers.py)",
        session="`Traceloop.set_association_properties({session_id, user_id})`",
        environ={"TRACELOOP_TELEMETRY": "false"},
    ),
    Family(
        name="openlit",
        title="OpenLIT",
        env="openlit",
        adapter="openlit",
        packages=("openlit",),
        kinds=frozenset({"LLM", "EMBEDDING", "WORKFLOW", "AGENT", "TOOL", "RETRIEVER"}),
        ttft="`gen_ai.server.time_to_first_token` (openlit/instrumentation/openai/utils.py)",
        session=(
            "LangChain run metadata `session_id` → `gen_ai.conversation.id`; "
            '`openlit.using_attributes({"user.id": ...})` (no session API)'
        ),
    ),
    Family(
        name="loongsuite",
        title="LoongSuite (langchain, langgraph)",
        env="loongsuite",
        adapter="loongsuite",
        packages=(
            "loongsuite-instrumentation-langchain",
            "loongsuite-instrumentation-langgraph",
            "loongsuite-otel-util-genai",
        ),
        kinds=frozenset({"LLM", "CHAIN", "AGENT", "TOOL", "RETRIEVER"}),
        ttft="",
        session=(
            "an ENTRY invocation with `gen_ai.session.id` / `gen_ai.user.id` (also W3C baggage, "
            "copied by a BaggageSpanProcessor)"
        ),
        sees=frozenset({"chain:chat", "agent:chat", "remote-parent:chat", "session:chat"}),
        coverage="LangChain and LangGraph chat calls only (chain, agent, remote parent, session)",
        environ={
            # Its util-genai captures content only under the latest conventions.
            "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
        },
    ),
)

BY_NAME = {family.name: family for family in FAMILIES}
