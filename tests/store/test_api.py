"""The query API on a known data set: filters, pagination, sessions, percentiles, cost, loops."""

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from llmobs_semconv import attributes as A
from tests.store.conftest import RunningStore, serve_store, store_settings

NOW_NS = time.time_ns() - 10 * 60 * 10**9  # ten minutes ago
S = 10**9


class Builder:
    """Builds one ExportTraceServiceRequest with spans at known times."""

    def __init__(self) -> None:
        self.request = ts.ExportTraceServiceRequest()

    def span(  # noqa: PLR0917 - reads like the span it builds
        self,
        service: str,
        trace_id: bytes,
        name: str,
        start_s: float,
        dur_s: float,
        attrs: dict[str, Any],
        parent: bytes = b"",
        error: str = "",
        resource: dict[str, str] | None = None,
    ) -> bytes:
        rs = self.request.resource_spans.add()
        for key, value in {A.SERVICE_NAME: service, **(resource or {})}.items():
            rs.resource.attributes.add(key=key).value.string_value = value
        span_id = os.urandom(8)
        start = NOW_NS + int(start_s * S)
        span = rs.scope_spans.add().spans.add(
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent,
            name=name,
            kind=Span.SPAN_KIND_CLIENT,
            start_time_unix_nano=start,
            end_time_unix_nano=start + int(dur_s * S),
        )
        if error:
            span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=error))
        for key, value in attrs.items():
            target = span.attributes.add(key=key).value
            if isinstance(value, int):
                target.int_value = value
            elif isinstance(value, float):
                target.double_value = value
            else:
                target.string_value = value
        return span_id


def llm(
    model: str, provider: str, tokens_in: int, tokens_out: int, ttft_s: float, **extra: Any
) -> dict[str, Any]:
    return {
        A.GEN_AI_OPERATION_NAME: "chat",
        A.GEN_AI_PROVIDER_NAME: provider,
        A.GEN_AI_REQUEST_MODEL: model,
        A.GEN_AI_USAGE_INPUT_TOKENS: tokens_in,
        A.GEN_AI_USAGE_OUTPUT_TOKENS: tokens_out,
        A.LLMOBS_TTFT: ttft_s,
        **extra,
    }


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningStore, dict[str, Any]]]:
    b = Builder()
    ids: dict[str, Any] = {"session": []}
    for i in (1, 2, 3):  # three turns of one session
        trace_id = os.urandom(16)
        root = b.span(
            "web",
            trace_id,
            f"POST /chat {i}",
            i * 10,
            i * 1.0 + 0.5,
            {A.SESSION_ID: "sess-A", A.USER_ID: "alice"},
        )
        b.span(
            "app",
            trace_id,
            "chat gpt-4o-mini",
            i * 10 + 0.1,
            i * 1.0,
            llm(
                "gpt-4o-mini",
                "openai",
                100 * i,
                10 * i,
                0.1 * i,
                **{
                    A.GEN_AI_INPUT_MESSAGES: f"question number {i}",
                    A.GEN_AI_OUTPUT_MESSAGES: f"answer {i}",
                },
            ),
            parent=root,
            resource={A.K8S_NAMESPACE_NAME: "ns-a"},
        )
        ids["session"].append(trace_id.hex())
    err_trace = os.urandom(16)
    ids["error_span"] = b.span(
        "app",
        err_trace,
        "chat deepseek-chat",
        50,
        2.0,
        llm(
            "deepseek-chat",
            "deepseek",
            1000,
            0,
            0.5,
            **{A.USER_ID: "bob", A.HTTP_RESPONSE_STATUS_CODE: 429},
        ),
        error="rate limited",
        resource={A.K8S_NAMESPACE_NAME: "ns-b"},
    ).hex()
    ids["error"] = err_trace.hex()
    loop_trace = os.urandom(16)
    loop_root = b.span(
        "agent",
        loop_trace,
        "invoke_agent planner",
        60,
        9.0,
        {A.GEN_AI_OPERATION_NAME: "invoke_agent"},
    )
    for k in range(4):
        b.span(
            "agent",
            loop_trace,
            "chat gpt-4o-mini",
            60 + 2 * k,
            0.5,
            llm("gpt-4o-mini", "openai", 10, 5, 0.1),
            parent=loop_root,
        )
        args = '{"q":  "weather"}' if k % 2 else '{"q": "weather"}'
        b.span(
            "agent",
            loop_trace,
            "execute_tool search",
            60.6 + 2 * k,
            0.2,
            {
                A.GEN_AI_OPERATION_NAME: "execute_tool",
                A.GEN_AI_TOOL_NAME: "search",
                A.GEN_AI_TOOL_CALL_ARGUMENTS: args,
            },
            parent=loop_root,
        )
    ids["loop"] = loop_trace.hex()
    with serve_store(store_settings(tmp_path_factory.mktemp("api"))) as store:
        response = httpx.post(
            store.url + "/v1/traces",
            content=b.request.SerializeToString(),
            headers={"content-type": "application/x-protobuf"},
        )
        assert response.status_code == 200
        store.wait_spans(3 * 2 + 1 + 1 + 8)
        ids["start"] = NOW_NS // 10**6 - 1000
        ids["end"] = NOW_NS // 10**6 + 120_000
        yield store, ids


def q(seeded: tuple[RunningStore, dict[str, Any]], path: str, **params: Any) -> Any:
    store, ids = seeded
    return store.get(path, start=ids["start"], end=ids["end"], **params)


def test_trace_search_filters_and_pages(seeded: tuple[RunningStore, dict[str, Any]]) -> None:
    _, ids = seeded
    everything = q(seeded, "/api/v1/traces")
    assert everything["total"] == 5
    newest = everything["items"][0]
    assert newest["trace_id"] == ids["loop"]
    assert newest["span_count"] == 9
    assert (newest["name"], newest["service"]) == ("invoke_agent planner", "agent")
    turn = next(t for t in everything["items"] if t["trace_id"] == ids["session"][0])
    assert (
        turn["name"],
        turn["service"],
        turn["models"],
        turn["session_id"],
        turn["user_id"],
        turn["input_tokens"],
        turn["output_tokens"],
        turn["ttft_ms"],
    ) == ("POST /chat 1", "web", ["gpt-4o-mini"], "sess-A", "alice", 100, 10, 100.0)
    assert turn["duration_ms"] == 1500.0

    def found(**params: Any) -> set[str]:
        return {t["trace_id"] for t in q(seeded, "/api/v1/traces", **params)["items"]}

    assert found(service="web") == set(ids["session"])
    assert found(model="deepseek-chat") == {ids["error"]}
    assert found(status="ERROR") == {ids["error"]}
    assert found(kind="TOOL") == {ids["loop"]}
    assert found(session_id="sess-A") == set(ids["session"])
    assert found(user_id="bob") == {ids["error"]}
    assert found(min_duration_ms=3000) == {ids["session"][2], ids["loop"]}
    assert found(q="QUESTION NUMBER 2") == {ids["session"][1]}
    pages = [q(seeded, "/api/v1/traces", limit=2, offset=o) for o in (0, 2, 4, 6)]
    assert [p["total"] for p in pages] == [5, 5, 5, 5]
    seen = [t["trace_id"] for p in pages for t in p["items"]]
    assert len(seen) == len(set(seen)) == 5


def test_sessions_and_one_session_as_a_conversation(
    seeded: tuple[RunningStore, dict[str, Any]],
) -> None:
    store, ids = seeded
    sessions = q(seeded, "/api/v1/sessions")
    assert sessions["total"] == 1
    item = sessions["items"][0]
    assert (
        item["session_id"],
        item["user_id"],
        item["turns"],
        item["input_tokens"],
        item["output_tokens"],
        item["errors"],
    ) == ("sess-A", "alice", 3, 600, 60, 0)
    assert q(seeded, "/api/v1/sessions", user_id="bob")["total"] == 0
    convo = store.get("/api/v1/sessions/sess-A")
    assert [t["trace_id"] for t in convo["turns"]] == ids["session"]
    assert [t["input"] for t in convo["turns"]] == [f"question number {i}" for i in (1, 2, 3)]
    assert [t["output"] for t in convo["turns"]] == [f"answer {i}" for i in (1, 2, 3)]
    assert [t["model"] for t in convo["turns"]] == ["gpt-4o-mini"] * 3
    expected_cost = (600 * 0.15 + 60 * 0.60) / 1e6
    assert abs(convo["totals"]["cost_usd"] - expected_cost) < 1e-12
    assert convo["totals"]["turns"] == 3
    assert convo["user_id"] == "alice"


def test_model_performance_percentiles(seeded: tuple[RunningStore, dict[str, Any]]) -> None:
    models = q(seeded, "/api/v1/models", bucket_s=3600)
    mini = next(m for m in models["items"] if m["model"] == "gpt-4o-mini")
    assert (mini["provider"], mini["requests"], mini["errors"]) == ("openai", 7, 0)
    # TTFTs: 100, 200, 300 ms and four of 100 ms.
    assert mini["ttft_p50_ms"] == pytest.approx(100.0)
    # Linear interpolation over 7 values: p99 sits at rank 5.94, between the two largest.
    assert mini["ttft_p99_ms"] == pytest.approx(294.0)
    assert mini["latency_p99_ms"] == pytest.approx(2940.0)
    # Output tokens per second of decode time: 60+20 tokens over (0.9+1.8+2.7+4*0.4) s.
    assert mini["output_tokens_per_s"] == pytest.approx(80 / 7.0)
    deepseek = next(m for m in models["items"] if m["model"] == "deepseek-chat")
    assert (deepseek["requests"], deepseek["errors"]) == (1, 1)
    assert {s["model"] for s in models["series"]} == {"gpt-4o-mini", "deepseek-chat"}


def test_usage_and_cost_grouped(seeded: tuple[RunningStore, dict[str, Any]]) -> None:
    by_model = {u["key"]: u for u in q(seeded, "/api/v1/usage", group_by="model")["items"]}
    ds = by_model["deepseek-chat"]
    assert ds["input_cost_usd"] == pytest.approx(1000 * 0.27 / 1e6)
    assert ds["output_cost_usd"] == 0.0
    mini = by_model["gpt-4o-mini"]
    assert (mini["input_tokens"], mini["output_tokens"]) == (640, 80)
    assert mini["cost_usd"] == pytest.approx(mini["input_cost_usd"] + mini["output_cost_usd"])
    by_ns = {u["key"]: u for u in q(seeded, "/api/v1/usage", group_by="namespace")["items"]}
    assert by_ns["ns-a"]["input_tokens"] == 600
    assert by_ns["ns-b"]["input_tokens"] == 1000
    by_user = {u["key"] for u in q(seeded, "/api/v1/usage", group_by="user")["items"]}
    assert "bob" in by_user


def test_errors_overview_and_loops(seeded: tuple[RunningStore, dict[str, Any]]) -> None:
    _, ids = seeded
    errors = q(seeded, "/api/v1/errors")["items"]
    assert [
        (e["trace_id"], e["span_id"], e["model"], e["error"], e["status_code"]) for e in errors
    ] == [(ids["error"], ids["error_span"], "deepseek-chat", "rate limited", 429)]
    overview = q(seeded, "/api/v1/overview", bucket_s=60)
    totals = overview["totals"]
    assert (totals["requests"], totals["errors"], totals["input_tokens"]) == (8, 1, 1640)
    assert sum(p["requests"] for p in overview["series"]) == 8
    assert all(
        set(p) >= {"t", "ttft_p95_ms", "tpot_p95_ms", "cost_usd"} for p in overview["series"]
    )
    loops = q(seeded, "/api/v1/loops")["items"]
    assert len(loops) == 1
    loop = loops[0]
    assert (loop["trace_id"], loop["tool_name"], loop["arguments"], loop["repeats"]) == (
        ids["loop"],
        "search",
        '{"q": "weather"}',
        4,
    )
    # LLM spans after the first repeat (the second call, at +2.6 s): those at +4 s and +6 s.
    assert loop["wasted_tokens"] == 2 * 15


def test_a_span_sent_twice_counts_once(tmp_path: Path) -> None:
    b = Builder()
    b.span("dup", os.urandom(16), "chat", 1, 1.0, llm("gpt-4o-mini", "openai", 10, 1, 0.1))
    body = b.request.SerializeToString()
    with serve_store(store_settings(tmp_path)) as store:
        for _ in range(3):
            httpx.post(
                store.url + "/v1/traces",
                content=body,
                headers={"content-type": "application/x-protobuf"},
            )
        store.wait_for(lambda: store.app.state.store.spool.depth_bytes == 0)
        storage = store.app.state.store.storage
        raw = storage.query(f"SELECT count() AS n FROM {storage.database}.spans")[0]["n"]
        assert raw >= 1
        usage = store.get(
            "/api/v1/usage", start=NOW_NS // 10**6 - 1000, end=NOW_NS // 10**6 + 10_000
        )
        assert usage["items"][0]["input_tokens"] == 10
        assert usage["items"][0]["requests"] == 1
