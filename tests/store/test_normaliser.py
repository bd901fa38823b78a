"""The normaliser: every vocabulary lands as the same span model (unit and property-based)."""

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from llmobs_semconv import attributes as A
from llmobs_semconv import families, span_kinds
from llmobs_semconv.families import _rows
from llmobs_store.normaliser import (
    SPAN_COLUMNS,
    CachedPrices,
    ResourceInfo,
    any_value,
    normalise_span,
    now_time,
)

START_NS = 1_700_000_000_000_000_000
PRICES = CachedPrices()


def value(v: Any) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, list):
        return AnyValue(array_value=ArrayValue(values=[value(x) for x in v]))
    return AnyValue(string_value=str(v))


def make_span(attrs: dict[str, Any], **kw: Any) -> Span:
    span = Span(
        trace_id=bytes(range(1, 17)),
        span_id=bytes(range(1, 9)),
        name=kw.get("name", "chat"),
        kind=kw.get("kind", Span.SPAN_KIND_CLIENT),
        start_time_unix_nano=START_NS,
        end_time_unix_nano=START_NS + kw.get("duration_ns", 2_000_000_000),
        status=Status(code=kw.get("status", Status.STATUS_CODE_UNSET), message=kw.get("msg", "")),
    )
    span.attributes.extend(KeyValue(key=k, value=value(v)) for k, v in attrs.items())
    for name, offset_ns in kw.get("events", []):
        event = span.events.add()
        event.name = name
        event.time_unix_nano = START_NS + offset_ns
    return span


def norm(
    attrs: dict[str, Any], resource: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    res = resource or {"service.name": "svc"}
    out = normalise_span(make_span(attrs, **kw), ResourceInfo.of(res), PRICES, now_time())
    return out.row | {"_content": {c.role: c.text for c in out.content}}


MODEL_FIELDS = (
    "kind",
    "provider",
    "request_model",
    "response_model",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "ttft_ms",
    "session_id",
    "user_id",
    "input_cost_usd",
    "output_cost_usd",
    "cost_usd",
    "_content",
)


def test_current_deprecated_and_openinference_land_as_the_same_model() -> None:
    current = norm(
        {
            A.GEN_AI_OPERATION_NAME: "chat",
            A.GEN_AI_PROVIDER_NAME: "openai",
            A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
            A.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini",
            A.GEN_AI_USAGE_INPUT_TOKENS: 1200,
            A.GEN_AI_USAGE_OUTPUT_TOKENS: 300,
            A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 200,
            A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 50,
            A.LLMOBS_TTFT: 0.25,
            A.SESSION_ID: "s-1",
            A.USER_ID: "u-1",
            A.OI_INPUT_VALUE: "hello",
            A.OI_OUTPUT_VALUE: "hi",
        }
    )
    deprecated = norm(
        {
            A.GEN_AI_OPERATION_NAME: "chat",
            A.GEN_AI_SYSTEM: "openai",
            A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
            A.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini",
            A.GEN_AI_USAGE_PROMPT_TOKENS: 1200,
            A.GEN_AI_USAGE_COMPLETION_TOKENS: 300,
            A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 200,
            A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 50,
            A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: 0.25,
            A.GEN_AI_CONVERSATION_ID: "s-1",
            A.USER_ID: "u-1",
            A.GEN_AI_PROMPT: "hello",
            A.GEN_AI_COMPLETION: "hi",
        }
    )
    openinference = norm(
        {
            A.OI_SPAN_KIND: "LLM",
            A.OI_LLM_PROVIDER: "openai",
            A.OI_LLM_MODEL_NAME: "gpt-4o-mini",
            A.OI_TOKEN_COUNT_PROMPT: 1200,
            A.OI_TOKEN_COUNT_COMPLETION: 300,
            A.OI_TOKEN_COUNT_CACHE_READ: 200,
            A.OI_TOKEN_COUNT_REASONING: 50,
            A.SESSION_ID: "s-1",
            A.USER_ID: "u-1",
            A.OI_INPUT_VALUE: "hello",
            A.OI_OUTPUT_VALUE: "hi",
        },
        events=[(A.OI_FIRST_TOKEN_EVENT, 250_000_000)],
    )
    for field in MODEL_FIELDS:
        assert current[field] == deprecated[field] == openinference[field], field
    assert current["kind"] == span_kinds.LLM
    assert current["input_tokens"] == 1200
    assert current["output_tokens"] == 300
    assert current["ttft_ms"] == 250.0
    # Cost from the shipped price table: 1000 uncached + 200 cached input, 300 output.
    expected_in = (1000 * 0.15 + 200 * 0.075) / 1e6
    assert abs(current["input_cost_usd"] - expected_in) < 1e-12
    assert abs(current["output_cost_usd"] - 300 * 0.60 / 1e6) < 1e-12
    # TPOT derived from duration and TTFT when the producer did not give it.
    assert abs(current["tpot_ms"] - (2000 - 250) / 299) < 1e-9
    # Originals are kept (except content, which moves to the content table).
    assert deprecated["attributes"][A.GEN_AI_SYSTEM] == "openai"
    assert A.GEN_AI_PROMPT not in deprecated["attributes"]


def test_contract_extras_cost_and_kubernetes() -> None:
    row = norm(
        {
            A.LLMOBS_SPAN_KIND: "llm",
            A.GEN_AI_REQUEST_MODEL: "m",
            A.LLMOBS_COST_USD: 0.5,
            A.LLMOBS_COST_INPUT_USD: 0.2,
            A.LLMOBS_COST_OUTPUT_USD: 0.3,
            A.LLMOBS_TPOT: 0.02,
            A.LLMOBS_TBT_MAX: 0.3,
            A.LLMOBS_TBT_P95: 0.1,
            A.LLMOBS_LAYER: "gateway",
            A.GEN_AI_RESPONSE_FINISH_REASONS: ["stop", "length"],
            A.HTTP_RESPONSE_STATUS_CODE: 200,
        },
        resource={
            A.SERVICE_NAME: "gw",
            A.K8S_NAMESPACE_NAME: "prod",
            A.K8S_POD_NAME: "gw-1",
            A.K8S_NODE_NAME: "n1",
            A.K8S_STATEFULSET_NAME: "gw",
            A.K8S_CONTAINER_NAME: "main",
        },
    )
    assert (row["kind"], row["layer"], row["service"]) == ("LLM", "gateway", "gw")
    assert (row["input_cost_usd"], row["output_cost_usd"], row["cost_usd"]) == (0.2, 0.3, 0.5)
    assert row["tpot_ms"] == 20.0
    assert row["tbt_max_ms"] == 300.0
    assert row["tbt_p95_ms"] == 100.0
    assert row["finish_reasons"] == ["stop", "length"]
    assert row["status_code"] == 200
    assert (
        row["k8s_namespace"],
        row["k8s_pod"],
        row["k8s_node"],
        row["k8s_workload"],
        row["k8s_container"],
    ) == ("prod", "gw-1", "n1", "gw", "main")


def test_kinds_errors_tools_and_plain_spans() -> None:
    tool = norm(
        {
            A.GEN_AI_OPERATION_NAME: "execute_tool",
            A.GEN_AI_TOOL_NAME: "search",
            A.GEN_AI_TOOL_CALL_ARGUMENTS: '{"q": 1}',
        }
    )
    assert (tool["kind"], tool["tool_name"], tool["tool_arguments"]) == (
        "TOOL",
        "search",
        '{"q": 1}',
    )
    # MCP: a tool call is a TOOL span, every other method an MCP span.
    assert norm({A.MCP_METHOD_NAME: "tools/call"})["kind"] == "TOOL"
    assert norm({A.MCP_METHOD_NAME: "initialize"})["kind"] == "MCP"
    assert norm({A.GEN_AI_OPERATION_NAME: "invoke_workflow"})["kind"] == "WORKFLOW"
    assert norm({A.OI_SPAN_KIND: "RERANKER"})["kind"] == "RERANKER"
    http = norm({"http.request.method": "GET"}, kind=Span.SPAN_KIND_SERVER)
    assert (http["kind"], http["otel_kind"], http["provider"], http["cost_usd"]) == (
        "SERVER",
        "SERVER",
        "",
        0.0,
    )
    failed = norm(
        {A.ERROR_TYPE: "timeout"}, status=Status.STATUS_CODE_ERROR, msg="upstream timed out"
    )
    assert (failed["status"], failed["error"]) == ("ERROR", "upstream timed out")
    assert norm({}, status=Status.STATUS_CODE_OK)["status"] == "OK"


ATTR_KEYS = st.sampled_from(
    [
        A.GEN_AI_OPERATION_NAME,
        A.GEN_AI_PROVIDER_NAME,
        A.GEN_AI_SYSTEM,
        A.GEN_AI_REQUEST_MODEL,
        A.GEN_AI_USAGE_INPUT_TOKENS,
        A.GEN_AI_USAGE_PROMPT_TOKENS,
        A.OI_TOKEN_COUNT_PROMPT,
        A.GEN_AI_USAGE_OUTPUT_TOKENS,
        A.LLMOBS_TTFT,
        A.LLMOBS_TPOT,
        A.OI_SPAN_KIND,
        A.LLMOBS_SPAN_KIND,
        A.GEN_AI_RESPONSE_FINISH_REASONS,
        A.LLMOBS_COST_USD,
        A.SESSION_ID,
        A.OI_INPUT_VALUE,
        A.HTTP_RESPONSE_STATUS_CODE,
        A.GEN_AI_INPUT_MESSAGES,
        A.GEN_AI_SYSTEM_INSTRUCTIONS,
        "gen_ai.usage.total_tokens",
        "gen_ai.response.time_to_first_token",
        "gen_ai.server.time_per_output_token",
        "traceloop.span.kind",
        "gen_ai.span.kind",
        "mcp.method.name",
        "llm.input_messages.0.message.content",
        "llm.input_messages.x.message.role",
        "span_type",
        "framework",
        "custom.key",
    ]
)
ATTR_VALUES = st.one_of(
    st.text(max_size=20),
    st.integers(min_value=-(2**62), max_value=2**62),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=3),
)


@settings(max_examples=150, deadline=None)
@given(
    attrs=st.dictionaries(ATTR_KEYS, ATTR_VALUES, max_size=10),
    duration_ns=st.integers(min_value=0, max_value=10**12),
)
def test_any_attributes_normalise_to_a_valid_row(attrs: dict[str, Any], duration_ns: int) -> None:
    row = norm(attrs, duration_ns=duration_ns)
    content = row.pop("_content")
    assert set(row) == set(SPAN_COLUMNS)
    assert row["kind"] in span_kinds.ALL
    for field in ("input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens"):
        assert isinstance(row[field], int)
        assert row[field] >= 0
    for field in ("ttft_ms", "tpot_ms"):
        assert row[field] is None or row[field] >= 0
    assert row["cost_usd"] >= 0
    assert row["duration_ms"] >= 0
    assert all(isinstance(v, str) for v in row["attributes"].values())
    # Every attribute is kept, either in the map or (a content-bearing one) as content.
    moved = set(attrs) - set(row["attributes"])
    assert not moved or content
    for key in moved:
        assert key.startswith("llm.input_messages.") or families.ATTRIBUTES[key].field in (
            _rows.CONTENT_FIELDS
        ), key
    json.dumps(row["attributes"])


@given(
    st.recursive(
        st.one_of(st.text(max_size=5), st.integers(-100, 100), st.booleans()),
        lambda inner: st.lists(inner, max_size=3),
        max_leaves=10,
    )
)
def test_any_value_round_trips_plain_values(v: Any) -> None:
    assert any_value(value(v)) == v


def test_ranks_decide_between_families_not_arrival_order() -> None:
    # The current provider name wins over the deprecated one, whichever comes first.
    for attrs in (
        {A.GEN_AI_SYSTEM: "old", A.GEN_AI_PROVIDER_NAME: "new"},
        {A.GEN_AI_PROVIDER_NAME: "new", A.GEN_AI_SYSTEM: "old"},
    ):
        assert norm(attrs)["provider"] == "new"
    # Traceloop's workflow kind outranks the invoke_agent its LangChain workflows also carry;
    # an operation naming the step outranks a generic Traceloop task.
    both = {"traceloop.span.kind": "workflow", A.GEN_AI_OPERATION_NAME: "invoke_agent"}
    assert norm(both)["kind"] == "WORKFLOW"
    task = {"traceloop.span.kind": "task", A.GEN_AI_OPERATION_NAME: "vector_db_retrieve"}
    assert norm(task)["kind"] == "RETRIEVER"
    # Our own kind outranks every family's.
    assert norm({A.LLMOBS_SPAN_KIND: "tool", A.OI_SPAN_KIND: "LLM"})["kind"] == "TOOL"
    # A value no table names leaves the plain OTel kind.
    assert norm({A.GEN_AI_OPERATION_NAME: "fetch_response"})["kind"] == "CLIENT"


def test_totals_zero_durations_and_units() -> None:
    only_total = norm({"llm.token_count.total": 90, "llm.token_count.completion": 10})
    assert (only_total["input_tokens"], only_total["output_tokens"]) == (80, 10)
    missing_out = norm({"gen_ai.usage.total_tokens": 90, A.GEN_AI_USAGE_INPUT_TOKENS: 60})
    assert missing_out["output_tokens"] == 30
    # OpenLIT writes 0 for the TPOT of an unstreamed call: not a measurement.
    unstreamed = norm({"gen_ai.server.time_per_output_token": 0, A.GEN_AI_USAGE_OUTPUT_TOKENS: 1})
    assert unstreamed["tpot_ms"] is None
    assert norm({"gen_ai.response.time_to_first_token": 250_000_000})["ttft_ms"] == 250.0
    assert norm({"gen_ai.latency.time_to_first_token": 0.25})["ttft_ms"] == 250.0


def test_flattened_messages_keep_nested_tool_calls_and_parts() -> None:
    prefix = "llm.output_messages.0.message."
    row = norm(
        {
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.contents.0.message_content.type": "text",
            "llm.input_messages.1.message.contents.0.message_content.text": "hi",
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "sys",
            prefix + "role": "assistant",
            prefix + "tool_calls.0.tool_call.id": "call_1",
            prefix + "tool_calls.0.tool_call.function.name": "lookup",
            prefix + "tool_calls.0.tool_call.function.arguments": "{}",
        }
    )
    assert json.loads(row["_content"]["input"]) == [
        {"role": "system", "content": "sys"},
        {"role": "user", "contents": [{"type": "text", "text": "hi"}]},
    ]
    assert json.loads(row["_content"]["output"]) == [
        {
            "role": "assistant",
            "tool_calls": [{"id": "call_1", "function": {"name": "lookup", "arguments": "{}"}}],
        }
    ]
    assert not any(k.startswith("llm.input_messages.") for k in row["attributes"])
    # gen_ai.prompt.name is an attribute, not a flattened prompt message.
    named = norm({"gen_ai.prompt.name": "analyze-code"})
    assert (named["_content"], named["attributes"]["gen_ai.prompt.name"]) == ({}, "analyze-code")


def test_system_instructions_lead_the_input_messages() -> None:
    row = norm(
        {
            A.GEN_AI_INPUT_MESSAGES: json.dumps([{"role": "user", "parts": []}]),
            A.GEN_AI_SYSTEM_INSTRUCTIONS: json.dumps([{"type": "text", "content": "Be brief."}]),
        }
    )
    messages = json.loads(row["_content"]["input"])
    assert messages[0] == {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]}
    assert messages[1]["role"] == "user"
    assert A.GEN_AI_SYSTEM_INSTRUCTIONS not in row["attributes"]


def test_content_from_span_events_and_guarded_names() -> None:
    span = make_span({A.GEN_AI_OPERATION_NAME: "chat"})
    event = span.events.add(name="gen_ai.content.prompt", time_unix_nano=START_NS)
    event.attributes.add(key=A.GEN_AI_INPUT_MESSAGES).value.string_value = "from the event"
    out = normalise_span(span, ResourceInfo.of({"service.name": "svc"}), PRICES, now_time())
    assert [(c.role, c.text) for c in out.content] == [("input", "from the event")]
    # PromptFlow's generic names count only on PromptFlow spans.
    assert norm({"span_type": "LLM"})["kind"] == "CLIENT"
    assert norm({"span_type": "LLM", "framework": "promptflow"})["kind"] == "LLM"
