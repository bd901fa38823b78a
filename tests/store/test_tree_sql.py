"""Trace search lists a trace whose root is not stored, from the span standing in for it.

A remote parent (a caller exporting elsewhere) or an orphan client span leaves a trace without a
stored root: it is listed from its earliest span whose parent is not stored, marked
``root_missing``, until the real root arrives and takes its place (listed once, never twice).
"""

from opentelemetry.trace import SpanKind

from llmobs_semconv import attributes as A
from tests.store.conftest import RunningStore
from tests.store.sdk_traces import (
    END_MS,
    START_MS,
    Traces,
    genai_chat,
    http_client,
    remote_parent,
    send,
    trace_hex,
)

MINI = "gpt-4o-mini"


def listing(store: RunningStore, **filters: str) -> tuple[dict[str, dict[str, object]], int]:
    found = store.get("/api/v1/traces", start=START_MS, end=END_MS, limit=100, **filters)
    items = [t["trace_id"] for t in found["items"]]
    assert len(items) == len(set(items)), "a trace listed twice"
    return {t["trace_id"]: t for t in found["items"]}, int(found["total"])


def test_a_trace_under_a_remote_parent_is_listed_from_its_top_span_until_its_root_arrives(
    store: RunningStore,
) -> None:
    t = Traces()
    caller = remote_parent()
    # The app's spans, under a caller (another service) whose spans go elsewhere.
    handler = t.span(
        "app", "POST /answer", 1, 3, {A.SESSION_ID: "s-remote"}, caller, SpanKind.SERVER
    )
    t.span("app", "chat gpt-4o-mini", 1.5, 2, genai_chat(MINI, 30, 3), handler, SpanKind.CLIENT)
    trace_id = trace_hex(handler)
    send(store.url, t.spans("chat gpt-4o-mini"))  # children end first: the deepest span first
    send(store.url, t.spans("POST /answer"))
    store.settle()

    items, total = listing(store)
    assert trace_id in items
    assert (items[trace_id]["name"], items[trace_id]["root_missing"]) == ("POST /answer", True)
    assert items[trace_id]["input_tokens"] == 30
    assert store.get(f"/api/v1/traces/{trace_id}")["root_missing"] is True
    # Every trace an aggregate counts can be found: filters apply to it too.
    assert trace_id in listing(store, session_id="s-remote")[0]
    assert trace_id in listing(store, model=MINI)[0]
    overview = store.get("/api/v1/overview", start=START_MS, end=END_MS)["totals"]
    assert overview["input_tokens"] == sum(int(i["input_tokens"]) for i in items.values())

    # The real root arrives late (the caller's exporter pointed here after all): it is listed
    # instead, once, and the trace's total is unchanged.
    t.span("caller", "GET /page", 0, 5, {}, recorded_as=caller)
    send(store.url, t.spans("GET /page"))
    store.settle()
    items2, total2 = listing(store)
    assert total2 == total
    assert (items2[trace_id]["name"], items2[trace_id]["root_missing"]) == ("GET /page", False)
    assert store.get(f"/api/v1/traces/{trace_id}")["root_missing"] is False


def test_an_orphan_client_span_is_listed_and_the_earliest_fragment_stands_in(
    store: RunningStore,
) -> None:
    t = Traces()
    caller = remote_parent()
    # Two fragments of one trace whose common ancestors are not stored: a gateway span and,
    # earlier, an HTTP client span of another service.
    gw = t.span(
        "gateway", "chat gpt-4o-mini gw", 2, 1, genai_chat(MINI, 11, 1), caller, SpanKind.SERVER
    )
    other = t.span(
        "worker", "POST /hook", 1, 0.5, http_client("http://hook"), caller, SpanKind.CLIENT
    )
    send(store.url, t.spans("chat gpt-4o-mini gw"))
    store.settle()
    items, _ = listing(store)
    assert items[trace_hex(gw)]["name"] == "chat gpt-4o-mini gw"
    assert items[trace_hex(gw)]["root_missing"] is True

    send(store.url, t.spans("POST /hook"))
    store.settle()
    items, _ = listing(store)
    assert trace_hex(other) == trace_hex(gw)
    assert (items[trace_hex(gw)]["name"], items[trace_hex(gw)]["service"]) == (
        "POST /hook",
        "worker",
    )
    assert items[trace_hex(gw)]["input_tokens"] == 11
