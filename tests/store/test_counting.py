"""One LLM call recorded by the app's probe and by the gateway below it is aggregated once.

The probe/gateway pair marks the gateway's span with ``llmobs.caller.span_id``; a pair without the
mark (an older probe, or any caller) is counted once too, by the tree rule (test_tree.py covers it).
"""

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from llmobs_semconv import attributes as A
from tests.store.conftest import RunningStore, serve_store, store_settings
from tests.store.test_api import NOW_NS, Builder, llm

START_MS = NOW_NS // 10**6 - 1000
END_MS = NOW_NS // 10**6 + 60_000


@pytest.fixture(scope="module")
def layered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningStore, Any]]:
    b = Builder()
    # Trace 1: app root -> app LLM span (probe) -> gateway span marked with the caller's span id.
    proxied = os.urandom(16)
    root = b.span("app", proxied, "POST /ask", 0, 2.0, {A.SESSION_ID: "s-layer"})
    app_llm = b.span(
        "app", proxied, "chat gpt-4o-mini", 0.1, 1.5, llm("gpt-4o-mini", "openai", 100, 20, 0.2),
        parent=root,
    )  # fmt: skip
    b.span(
        "gateway", proxied, "chat gpt-4o-mini", 0.15, 1.4,
        llm("gpt-4o-mini", "openai", 100, 20, 0.15, **{A.LLMOBS_CALLER_SPAN_ID: app_llm.hex()}),
        parent=app_llm,
    )  # fmt: skip
    # Trace 2: the gateway used directly (curl): no caller, so its span is the one counted.
    direct = os.urandom(16)
    b.span(
        "gateway", direct, "chat gpt-4o-mini", 5, 1.0,
        llm("gpt-4o-mini", "openai", 7, 3, 0.1, **{A.SESSION_ID: "s-direct"}),
    )  # fmt: skip
    # Trace 3: an older probe/gateway pair that does not send the caller header: the tree rule
    # counts the deepest span of the call (the gateway's).
    unmarked = os.urandom(16)
    app_span = b.span(
        "app", unmarked, "chat gpt-4o-mini", 10, 1.0, llm("gpt-4o-mini", "openai", 50, 5, 0.1)
    )
    b.span(
        "gateway", unmarked, "chat gpt-4o-mini", 10.1, 0.8,
        llm("gpt-4o-mini", "openai", 50, 5, 0.1), parent=app_span,
    )  # fmt: skip
    with serve_store(store_settings(tmp_path_factory.mktemp("counting"))) as store:
        response = httpx.post(
            store.url + "/v1/traces",
            content=b.request.SerializeToString(),
            headers={"content-type": "application/x-protobuf"},
        )
        assert response.status_code == 200, response.text
        store.wait_spans(6)
        store.settle()
        yield store, {"proxied": proxied.hex(), "direct": direct.hex(), "unmarked": unmarked.hex()}


def test_overview_usage_and_models_count_the_proxied_call_once(
    layered: tuple[RunningStore, Any],
) -> None:
    store, _ = layered
    totals = store.get("/api/v1/overview", start=START_MS, end=END_MS)["totals"]
    assert (totals["requests"], totals["input_tokens"], totals["output_tokens"]) == (3, 157, 28)
    usage = store.get("/api/v1/usage", start=START_MS, end=END_MS)["items"]
    assert [(u["key"], u["requests"], u["input_tokens"]) for u in usage] == [
        ("gpt-4o-mini", 3, 157)
    ]
    assert usage[0]["cost_usd"] > 0
    by_service = store.get("/api/v1/usage", group_by="service", start=START_MS, end=END_MS)
    assert {u["key"]: u["input_tokens"] for u in by_service["items"]} == {"app": 100, "gateway": 57}
    models = store.get("/api/v1/models", start=START_MS, end=END_MS)["items"]
    assert [(m["model"], m["requests"], m["input_tokens"]) for m in models] == [
        ("gpt-4o-mini", 3, 157)
    ]


def test_trace_list_and_sessions_total_once_but_the_trace_shows_every_span(
    layered: tuple[RunningStore, Any],
) -> None:
    store, ids = layered
    items = {
        t["trace_id"]: t for t in store.get("/api/v1/traces", start=START_MS, end=END_MS)["items"]
    }
    assert (items[ids["proxied"]]["input_tokens"], items[ids["proxied"]]["span_count"]) == (100, 3)
    assert items[ids["direct"]]["input_tokens"] == 7
    assert items[ids["unmarked"]]["input_tokens"] == 50
    trace = store.get(f"/api/v1/traces/{ids['proxied']}")
    assert sorted((s["service"], s["counted"]) for s in trace["spans"]) == [
        ("app", 1), ("app", 1), ("gateway", 0),
    ]  # fmt: skip
    sessions = {
        s["session_id"]: s
        for s in store.get("/api/v1/sessions", start=START_MS, end=END_MS)["items"]
    }
    assert (sessions["s-layer"]["input_tokens"], sessions["s-layer"]["output_tokens"]) == (100, 20)
    assert sessions["s-direct"]["input_tokens"] == 7
    one = store.get("/api/v1/sessions/s-layer")
    assert one["totals"]["input_tokens"] == 100
