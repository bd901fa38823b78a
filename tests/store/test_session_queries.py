"""A session or user named on a span applies to its descendants, in every view and aggregate.

OpenLLMetry names the session and user on the workflow span only; the LLM spans under it name
none. Spans arrive child first, a level per request, judged in between (as exporters send them).
"""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.trace import SpanKind

from llmobs_semconv import attributes as A
from llmobs_semconv.pricing import PriceTable
from tests.store.conftest import RunningStore, serve_store, store_settings
from tests.store.sdk_traces import (
    END_MS,
    START_MS,
    Traces,
    genai_chat,
    http_client,
    openinference_llm,
    remote_parent,
    send,
    trace_hex,
)
from tests.store.test_tree import arrive

MINI = "gpt-4o-mini"
PRICES = PriceTable()


def cost(tokens_in: int, tokens_out: int) -> float:
    priced = PRICES.cost(MINI, tokens_in, tokens_out)
    assert priced is not None
    return priced.total_usd


def workflow(session: str = "", user: str = "") -> dict[str, str]:
    attrs = {A.GEN_AI_OPERATION_NAME: "invoke_workflow"}
    if session:
        attrs[A.SESSION_ID] = session
    if user:
        attrs[A.USER_ID] = user
    return attrs


@dataclass
class Sessions:
    store: RunningStore
    traces: dict[str, str]


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sessions]:
    t = Traces()
    traces = {}
    # Two turns of s-1 (alice): the session and user on the workflow span only.
    a = t.span("bot", "support.workflow", 0, 5, workflow("s-1", "alice"))
    task = t.span("bot", "answer.task", 0.1, 4, {}, a)
    chat = t.span(
        "bot", "chat gpt-4o-mini", 0.2, 3, genai_chat(MINI, 120, 12), task, SpanKind.CLIENT
    )
    t.span("bot", "POST a", 0.3, 2.5, http_client(), chat, SpanKind.CLIENT)
    traces["a"] = trace_hex(a)
    b = t.span("bot", "support.workflow", 60, 5, workflow("s-1", "alice"))
    outer = t.span("bot", "ChatOpenAI", 60.1, 3, openinference_llm(MINI, 80, 8), b)
    t.span("bot", "ChatCompletion", 60.2, 2.8, openinference_llm(MINI, 80, 8), outer)
    traces["b"] = trace_hex(b)
    # s-2 (bob), named on the root only.
    c = t.span("bot", "support.workflow", 120, 2, workflow("s-2", "bob"))
    t.span("bot", "chat gpt-4o-mini", 120.1, 1, genai_chat(MINI, 10, 1), c, SpanKind.CLIENT)
    traces["c"] = trace_hex(c)
    # carol on the root, the session s-3 on a workflow below it.
    d = t.span("web", "POST /chat", 180, 3, {A.USER_ID: "carol"}, kind=SpanKind.SERVER)
    flow = t.span("bot", "support.workflow", 180.1, 2.5, workflow("s-3"), d)
    t.span("bot", "chat gpt-4o-mini", 180.2, 2, genai_chat(MINI, 30, 3), flow, SpanKind.CLIENT)
    traces["d"] = trace_hex(d)
    # s-4 on one branch of a trace; a call on the other branch belongs to no session.
    e = t.span("web", "POST /batch", 240, 4, {}, kind=SpanKind.SERVER)
    inside = t.span("bot", "support.workflow", 240.1, 1, workflow("s-4"), e)
    t.span("bot", "chat gpt-4o-mini", 240.2, 0.5, genai_chat(MINI, 5, 1), inside, SpanKind.CLIENT)
    t.span("bot", "chat gpt-4o-mini", 242, 1, genai_chat(MINI, 7, 1), e, SpanKind.CLIENT)
    traces["e"] = trace_hex(e)
    # s-5 (erin) in a trace whose root is not stored (a caller exporting elsewhere).
    f = t.span("bot", "support.workflow", 300, 2, workflow("s-5", "erin"), remote_parent())
    t.span("bot", "chat gpt-4o-mini", 300.1, 1, genai_chat(MINI, 9, 1), f, SpanKind.CLIENT)
    traces["f"] = trace_hex(f)
    with serve_store(store_settings(tmp_path_factory.mktemp("sessions"))) as store:
        arrive(store, t.spans(), "deepest-first")
        yield Sessions(store, traces)


def window() -> dict[str, int]:
    return {"start": START_MS, "end": END_MS}


WANT = {  # session -> (user, turns, input tokens, output tokens)
    "s-1": ("alice", 2, 200, 20),
    "s-2": ("bob", 1, 10, 1),
    "s-3": ("carol", 1, 30, 3),
    "s-4": ("", 1, 5, 1),
    "s-5": ("erin", 1, 9, 1),
}
COSTS = {s: cost(w[2], w[3]) for s, w in WANT.items()} | {"s-1": cost(120, 12) + cost(80, 8)}


def test_usage_by_session_and_user_follows_the_ancestor_that_names_them(sessions: Sessions) -> None:
    by_session = sessions.store.get("/api/v1/usage", group_by="session", **window())["items"]
    got = {u["key"]: (u["requests"], u["input_tokens"], u["output_tokens"]) for u in by_session}
    assert got == {
        **{s: (2 if s == "s-1" else 1, w[2], w[3]) for s, w in WANT.items()},
        "": (1, 7, 1),
    }
    for row in by_session:
        want = COSTS.get(row["key"], cost(7, 1))
        assert row["cost_usd"] == pytest.approx(want, rel=1e-9), row["key"]
    by_user = sessions.store.get("/api/v1/usage", group_by="user", **window())["items"]
    assert {u["key"]: u["input_tokens"] for u in by_user} == {
        "alice": 200, "bob": 10, "carol": 30, "erin": 9, "": 12,
    }  # fmt: skip


def test_sessions_list_totals_the_spans_that_belong_to_each_session(sessions: Sessions) -> None:
    items = sessions.store.get("/api/v1/sessions", limit=50, **window())["items"]
    got = {
        s["session_id"]: (s["user_id"], s["turns"], s["input_tokens"], s["output_tokens"])
        for s in items
    }
    assert got == WANT
    for item in items:
        assert item["cost_usd"] == pytest.approx(COSTS[item["session_id"]], rel=1e-9)
    # carol is named on the trace's root, the session on a span below it.
    mine = sessions.store.get("/api/v1/sessions", user_id="carol", **window())
    assert [s["session_id"] for s in mine["items"]] == ["s-3"]
    assert mine["total"] == 1


def test_one_session_counts_each_turn_once(sessions: Sessions) -> None:
    one = sessions.store.get("/api/v1/sessions/s-1")
    assert one["user_id"] == "alice"
    assert [(t["trace_id"], t["input_tokens"]) for t in one["turns"]] == [
        (sessions.traces["a"], 120), (sessions.traces["b"], 80),
    ]  # fmt: skip
    assert (one["totals"]["turns"], one["totals"]["input_tokens"]) == (2, 200)
    four = sessions.store.get("/api/v1/sessions/s-4")
    assert four["totals"]["input_tokens"] == 5


def test_trace_search_finds_traces_by_an_inherited_session_or_user(sessions: Sessions) -> None:
    def found(**flt: str) -> set[str]:
        page = sessions.store.get("/api/v1/traces", limit=50, **window(), **flt)
        return {t["trace_id"] for t in page["items"]}

    assert found(session_id="s-1") == {sessions.traces["a"], sessions.traces["b"]}
    assert found(user_id="carol") == {sessions.traces["d"]}
    # A trace without its root is found too (listed from the span standing in for it).
    assert found(session_id="s-5") == found(user_id="erin") == {sessions.traces["f"]}


def test_a_late_ancestor_naming_the_session_moves_its_calls_into_it(store: RunningStore) -> None:
    t = Traces()
    root = t.span("bot", "support.workflow", 0, 3, workflow("s-late", "dave"))
    t.span("bot", "chat gpt-4o-mini", 0.1, 2, genai_chat(MINI, 42, 4), root, SpanKind.CLIENT)
    send(store.url, t.spans("chat gpt-4o-mini"))
    store.settle()
    send(store.url, t.spans("support.workflow"))
    store.settle()
    usage = store.get("/api/v1/usage", group_by="session", **window())["items"]
    assert [(u["key"], u["input_tokens"]) for u in usage] == [("s-late", 42)]
    users = store.get("/api/v1/usage", group_by="user", **window())["items"]
    assert [(u["key"], u["input_tokens"]) for u in users] == [("dave", 42)]
