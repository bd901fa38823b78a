"""A deterministic LLM-application workload encoded as OTLP protobuf export requests.

Each trace has four spans, as an instrumented agent produces them: the HTTP server span, the agent
span, one LLM call (OTel GenAI attributes, our TTFT/TPOT extras, session and user) and a tool
call. The same bytes are sent to every store under test.
"""

import random
from collections.abc import Iterator

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

MODELS = [("openai", "gpt-4o-mini"), ("openai", "gpt-4o"), ("deepseek", "deepseek-chat"),
          ("dashscope", "qwen-plus")]  # fmt: skip
SERVICES = ["chat-api", "support-bot", "search-agent", "summariser"]
SPANS_PER_TRACE = 4


def _attr(span: Span, key: str, value: object) -> None:
    target = span.attributes.add(key=key).value
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    else:
        target.string_value = str(value)


def requests(
    total_spans: int, spans_per_request: int, start_ns: int, seed: int = 7
) -> Iterator[bytes]:
    """Export requests covering ``total_spans`` spans, spread over one hour from ``start_ns``."""
    rng = random.Random(seed)
    traces_per_request = max(spans_per_request // SPANS_PER_TRACE, 1)
    n_traces = total_spans // SPANS_PER_TRACE
    step_ns = 3600 * 10**9 // max(n_traces, 1)
    made = 0
    while made < n_traces:
        request = ts.ExportTraceServiceRequest()
        by_service: dict[str, object] = {}
        for _ in range(min(traces_per_request, n_traces - made)):
            service = SERVICES[made % len(SERVICES)]
            scope = by_service.get(service)
            if scope is None:
                rs = request.resource_spans.add()
                for key, value in (
                    ("service.name", service),
                    ("k8s.namespace.name", "prod"),
                    ("k8s.pod.name", f"{service}-{made % 7}"),
                    ("k8s.deployment.name", service),
                ):
                    rs.resource.attributes.add(key=key).value.string_value = value
                scope = by_service[service] = rs.scope_spans.add()
            _trace(scope, rng, start_ns + made * step_ns, made)  # type: ignore[arg-type]
            made += 1
        yield request.SerializeToString()


def _trace(scope: "ts.ScopeSpans", rng: random.Random, t0: int, n: int) -> None:  # type: ignore[name-defined]
    trace_id = rng.randbytes(16)
    ids = [rng.randbytes(8) for _ in range(SPANS_PER_TRACE)]
    provider, model = MODELS[n % len(MODELS)]
    ttft = rng.uniform(0.05, 1.5)
    out_tokens = rng.randint(20, 800)
    tpot = rng.uniform(0.005, 0.05)
    llm_ns = int((ttft + out_tokens * tpot) * 1e9)
    tool_ns = int(rng.uniform(0.01, 0.5) * 1e9)
    total = llm_ns + tool_ns + 20_000_000
    error = rng.random() < 0.02
    root = scope.spans.add(
        trace_id=trace_id,
        span_id=ids[0],
        name="POST /v1/chat",
        kind=Span.SPAN_KIND_SERVER,
        start_time_unix_nano=t0,
        end_time_unix_nano=t0 + total,
    )
    _attr(root, "http.request.method", "POST")
    _attr(root, "http.response.status_code", 500 if error else 200)
    _attr(root, "session.id", f"session-{n // 5}")
    _attr(root, "user.id", f"user-{n % 997}")
    agent = scope.spans.add(
        trace_id=trace_id,
        span_id=ids[1],
        parent_span_id=ids[0],
        name="invoke_agent planner",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=t0 + 1_000_000,
        end_time_unix_nano=t0 + total - 1_000_000,
    )
    _attr(agent, "gen_ai.operation.name", "invoke_agent")
    _attr(agent, "gen_ai.agent.name", "planner")
    llm = scope.spans.add(
        trace_id=trace_id,
        span_id=ids[2],
        parent_span_id=ids[1],
        name=f"chat {model}",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=t0 + 2_000_000,
        end_time_unix_nano=t0 + 2_000_000 + llm_ns,
    )
    for key, value in (
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.provider.name", provider),
        ("gen_ai.request.model", model),
        ("gen_ai.response.model", model),
        ("gen_ai.usage.input_tokens", rng.randint(50, 4000)),
        ("gen_ai.usage.output_tokens", out_tokens),
        ("gen_ai.request.stream", True),
        ("llmobs.ttft_s", ttft),
        ("llmobs.tpot_s", tpot),
        ("session.id", f"session-{n // 5}"),
        ("user.id", f"user-{n % 997}"),
        ("server.address", "api.example.com"),
    ):
        _attr(llm, key, value)
    llm.attributes.add(key="gen_ai.response.finish_reasons").value.array_value.values.add(
        string_value="length" if out_tokens > 700 else "stop"
    )
    if error:
        llm.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="upstream 500"))
        _attr(llm, "error.type", "InternalServerError")
    tool = scope.spans.add(
        trace_id=trace_id,
        span_id=ids[3],
        parent_span_id=ids[1],
        name="execute_tool search",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=t0 + 3_000_000 + llm_ns,
        end_time_unix_nano=t0 + 3_000_000 + llm_ns + tool_ns,
    )
    _attr(tool, "gen_ai.operation.name", "execute_tool")
    _attr(tool, "gen_ai.tool.name", "search")
    _attr(tool, "gen_ai.tool.call.arguments", f'{{"q": "topic {n % 50}"}}')
