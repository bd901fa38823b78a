"""The tree pass over real stores: late spans re-judge a trace, restarts and failures lose nothing.

Aggregates are exact ``tree_settle_s`` (plus one writer tick) after a trace's last span is stored;
until then a trace is aggregated by its rows' own flags.
"""

import time
from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind

from llmobs_semconv import attributes as A
from llmobs_store.reconciler import TraceReconciler
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
    span_hex,
    trace_hex,
)

MINI = "gpt-4o-mini"


def totals(store: RunningStore) -> tuple[int, int]:
    found = store.get("/api/v1/overview", start=START_MS, end=END_MS)["totals"]
    return int(found["requests"]), int(found["input_tokens"])


def framework_over_sdk(t: Traces, tokens: int) -> str:
    outer = t.span("app", "ChatOpenAI", 0, 2, openinference_llm(MINI, tokens, 5))
    t.span("app", "ChatCompletion", 0.1, 1.8, openinference_llm(MINI, tokens, 5), outer)
    return trace_hex(outer)


def test_a_restart_judges_the_traces_that_were_still_waiting(tmp_path: Path) -> None:
    t = Traces()
    framework_over_sdk(t, 100)
    waiting = store_settings(tmp_path, tree_settle_s=3600)
    with serve_store(waiting) as store:
        send(store.url, t.spans())
        store.wait_spans(2)
        trees = store.app.state.store.writer.trees
        store.wait_for(lambda: trees.backlog == 1)  # stored, waiting to be judged
        assert trees.traces_total == 0
    # The same database and spool directory, as after a pod restart.
    again = waiting.model_copy(update={"tree_settle_s": 0.2})
    with serve_store(again) as store:
        store.settle()
        assert totals(store) == (1, 100)


def test_a_verdict_is_withdrawn_when_the_caller_it_waited_for_arrives(store: RunningStore) -> None:
    t = Traces()
    probe = t.span("app", "chat probe", 0, 2, genai_chat(MINI, 40, 4), None, SpanKind.CLIENT)
    hop = t.span("app", "POST gateway", 0.1, 1.8, http_client("http://gw"), probe, SpanKind.CLIENT)
    t.span(
        "gateway", "chat gateway", 0.2, 1.6,
        genai_chat(MINI, 40, 4, **{A.LLMOBS_CALLER_SPAN_ID: span_hex(probe)}), hop, SpanKind.SERVER,
    )  # fmt: skip
    # The gateway's span first: its caller is not (yet) stored, so it is the call's only record.
    send(store.url, t.spans("chat gateway"))
    store.settle()
    assert totals(store) == (1, 40)
    by_service = store.get("/api/v1/usage", group_by="service", start=START_MS, end=END_MS)
    assert [u["key"] for u in by_service["items"]] == ["gateway"]
    # The app's spans arrive: the gateway's span is its caller's again, counted once.
    send(store.url, t.spans("chat probe", "POST gateway"))
    store.settle()
    assert totals(store) == (1, 40)
    by_service = store.get("/api/v1/usage", group_by="service", start=START_MS, end=END_MS)
    assert [u["key"] for u in by_service["items"]] == ["app"]


def test_a_failing_pass_is_retried_and_never_holds_up_ingest(
    store: RunningStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = [1]
    real = TraceReconciler.reconcile

    def once(self: TraceReconciler, trace_ids: list[str]) -> int:
        if failures[0]:
            failures[0] -= 1
            raise RuntimeError("injected tree pass failure")
        return real(self, trace_ids)

    monkeypatch.setattr(TraceReconciler, "reconcile", once)
    t = Traces()
    framework_over_sdk(t, 60)
    send(store.url, t.spans())
    store.wait_spans(2)
    # Ingest goes on while the pass waits to retry.
    t2 = Traces()
    t2.span("app", "chat other", 5, 1, genai_chat(MINI, 7, 1), remote_parent(), SpanKind.CLIENT)
    send(store.url, t2.spans())
    store.wait_spans(3)
    store.settle()
    assert failures == [0]
    assert totals(store) == (2, 67)


def test_aggregates_are_exact_within_the_settle_time_of_the_last_span(tmp_path: Path) -> None:
    t = Traces()
    framework_over_sdk(t, 30)
    with serve_store(store_settings(tmp_path, tree_settle_s=1.0)) as store:
        send(store.url, t.spans())
        store.wait_spans(2)
        stored = time.monotonic()
        store.wait_for(lambda: totals(store) == (1, 30), timeout_s=15)
        assert time.monotonic() - stored < 15


def test_a_trace_no_longer_held_in_memory_is_read_back_when_it_gets_spans(
    store: RunningStore,
) -> None:
    trees = store.app.state.store.writer.trees
    trees.linger_s, trees.max_nodes = 0.0, 0  # forget every judged trace at once
    t = Traces()
    outer = t.span("app", "ChatOpenAI", 0, 2, openinference_llm(MINI, 80, 8))
    t.span("app", "ChatCompletion", 0.1, 1.8, openinference_llm(MINI, 80, 8), outer)
    t.span("app", "chat lone", 5, 1, genai_chat(MINI, 3, 1))  # trivial: judged, nothing held
    send(store.url, t.spans("ChatCompletion", "chat lone"))
    store.settle()
    assert trace_hex(outer) not in trees.traces
    assert trees.read_back_total == 0
    send(store.url, t.spans("ChatOpenAI"))
    store.settle()
    assert trees.read_back_total == 1
    assert totals(store) == (2, 83)
