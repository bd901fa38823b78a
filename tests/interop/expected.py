"""The cells of the compatibility matrix known to fail today, and why: the one table to flip.

Each entry is (family, capability) -> what the store is missing. The suite marks these cells
``xfail(strict=True)``: when a fix lands and a cell starts passing, the suite fails until its
entry is removed here (and docs/compatibility.md regenerated with ``python -m
tests.interop.report``), so this table is always the current list of the store's gaps, and the
spec for closing them.
"""

from __future__ import annotations

from tests.interop.families import FAMILIES

_ROOTLESS = (
    "A trace whose root span belongs to another service (the app was called with a W3C "
    "`traceparent`: the remote-parent step) has no root span in the store, and the trace search "
    "pages root spans only (`parent_span_id = ''`, queries.py), so the trace is never listed. "
    "A trace's root for listing should be its earliest span whose parent is not in the store."
)
_OI_TWICE = (
    "Every call made through a framework is recorded twice with the same usage and both are "
    "counted: LlamaIndex's `OpenAI.chat` LLM span over the SDK's `ChatCompletion` LLM span "
    "(nested, one trace), and LangChain's `ChatOpenAI` LLM span beside the SDK's "
    "`ChatCompletion`, which is a separate root trace, because OpenInference's LangChain tracer "
    "never makes its span current (openinference/instrumentation/langchain/_tracer.py, by "
    "design). An LLM span with an LLM descendant must not be counted; and the SDK span that "
    "is a trace of its own must be recognised as the framework span's call (same service, "
    "model and usage, inside the framework span's time) and not counted either."
)
_OI_SESSION = (
    "Follows from the separate SDK traces: each LangChain turn is two traces (`ChatOpenAI`, "
    "and the SDK's `ChatCompletion` under no parent), both carrying the session, so the 3-turn "
    "session lists 6 turns. The SDK trace has to be folded into the turn it belongs to."
)

EXPECTED_FAILURES: dict[tuple[str, str], str] = {
    **{(family.name, "listed"): _ROOTLESS for family in FAMILIES},
    ("otel-default", "content"): (
        "Under the default (pre-latest) conventions openai-v2 sends content as OTLP log events "
        "`gen_ai.user.message` / `gen_ai.assistant.message` / `gen_ai.choice` with the text in "
        "the body's `content` and the span's trace and span ids (openai_v2/utils.py "
        "`message_to_event`, `choice_to_event`); the store keeps them as logs and never makes "
        "them the span's input and output content."
    ),
    ("openinference", "model"): (
        "OpenInference EMBEDDING spans name their model `embedding.model_name`, which the "
        "normaliser does not read (only `llm.model_name`): embedding spans are stored without "
        "a model."
    ),
    ("openinference", "cost"): (
        "Follows from the embedding model: without `embedding.model_name` read, the embedding "
        "spans cannot be priced (cost 0)."
    ),
    ("openinference", "session"): _OI_SESSION,
    ("openinference", "counted_once"): _OI_TWICE,
    ("openllmetry", "kinds"): (
        "`traceloop.span.kind` is not read: `task` spans (LangChain runnables, LangGraph nodes) "
        "stay INTERNAL instead of CHAIN (`workflow` spans come out AGENT through their "
        "`gen_ai.operation.name` invoke_agent, tools TOOL through execute_tool); and the "
        "retriever's span, `gen_ai.operation.name` `vector_db_retrieve`, should be RETRIEVER."
    ),
    ("openllmetry", "ttft"): (
        "The streamed call's span carries one `gen_ai.content.completion.chunk` event per chunk "
        "and no TTFT attribute; the store derives TTFT only from OpenInference's "
        "\"First Token Stream Event\". TTFT is the first chunk event's time minus the span's "
        "start."
    ),
    ("openllmetry", "session"): (
        "The session is `traceloop.association.properties.session_id`, not read."
    ),
    ("openllmetry", "user"): "The user is `traceloop.association.properties.user_id`, not read.",
    ("openlit", "ttft"): (
        "OpenLIT puts TTFT on the client span as `gen_ai.server.time_to_first_token` (seconds; "
        "also `gen_ai.server.time_per_output_token`), not read."
    ),
    ("openlit", "counted_once"): (
        "OpenLIT's `invoke_workflow` (WORKFLOW) and `invoke_agent` (AGENT) spans repeat the "
        "usage of the LLM calls under them (the agent's two calls appear again on their "
        "`invoke_agent` spans, the last once more on the workflow), and the store adds them to "
        "the LLM spans' usage. Tokens and cost on a span with LLM descendants must not be "
        "counted."
    ),
    ("loongsuite", "kinds"): (
        "`gen_ai.span.kind` is not read: LoongSuite's CHAIN spans stay INTERNAL (AGENT, TOOL, "
        "RETRIEVER and LLM come through `gen_ai.operation.name`). Its ENTRY and STEP kinds have "
        "no counterpart in the store's model yet either."
    ),
    ("loongsuite", "session"): "The session is `gen_ai.session.id`, not read.",
    ("loongsuite", "user"): "The user is `gen_ai.user.id`, not read.",
}
