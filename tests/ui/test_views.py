"""Every view of the web UI against a running ``llmobs demo``, in real headless Chromium.

Each test answers one of the questions the UI exists for, from what a person sees: which model is
slowest to first token, which session cost the most, what the looping agent did; and checks that
search and the links between views work, and that errors and empty results are shown, not blank.
"""

from typing import Any

import pytest

# Demo and Page are the fixtures' types (tests/ui/conftest.py).
Demo = Page = Any

pytestmark = [pytest.mark.browser, pytest.mark.slow]

POISON_NAME = "demo poison span"  # llmobs_cli._demo._poison.POISON_SPAN_NAME
SLOW_MODEL = "gpt-4o"  # the demo's simulator serves it with the longer time to first token
FAST_MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
def traffic(demo: Demo) -> Demo:
    """Wait until the demo's traffic has produced what the views show."""

    def models() -> bool:
        items = demo.api("models")["items"]
        streamed = {m["model"] for m in items if m.get("ttft_p95_ms")}
        return {SLOW_MODEL, FAST_MODEL} <= streamed

    demo.wait_for("both chat models with TTFT", models)
    demo.wait_for("a looping agent", lambda: demo.api("loops")["items"])
    demo.wait_for(
        "a session with two turns",
        lambda: [s for s in demo.api("sessions", limit=50)["items"] if s["turns"] >= 2],
    )
    return demo


def test_overview_shows_totals_charts_and_the_three_answers(traffic: Demo, page: Page) -> None:
    p = page.open("/overview", "[data-testid=kpis] .kpi")
    requests = p.locator("[data-testid=kpis] .kpi").first.locator(".value").inner_text()
    assert int(requests.replace(",", "")) > 0
    # Charts are drawn (ECharts renders to canvas), not left empty.
    assert p.locator("#charts canvas").count() >= 4
    slowest = p.locator("[data-testid=slowest-models] li").first
    assert SLOW_MODEL in slowest.inner_text().split()
    assert "slowest" in slowest.inner_text()
    assert p.locator("[data-testid=costly-sessions] li").count() >= 1
    assert "search_web" in p.locator("[data-testid=loops]").inner_text()
    page.shot("overview")


def test_models_view_names_the_slowest_model_and_links_to_its_slow_requests(
    traffic: Demo, page: Page
) -> None:
    p = page.open("/models", "[data-testid=model-table]")
    callout = p.locator("[data-testid=slowest-callout]").inner_text()
    assert callout.startswith(f"{SLOW_MODEL} is the slowest to first token")
    rows = p.locator("[data-testid=model-row]")
    names = [rows.nth(i).locator("td a").first.inner_text() for i in range(rows.count())]
    assert {SLOW_MODEL, FAST_MODEL} <= set(names)
    assert p.locator(".chart canvas").count() >= 4
    page.shot("models")
    # The model's slow requests → those traces, filtered by model and duration.
    p.locator("[data-testid=slowest-callout] a").click()
    p.wait_for_selector("[data-testid=trace-row], [data-testid=trace-list] [data-state=empty]")
    page.settle()
    assert f"model={SLOW_MODEL}" in p.url
    assert "min_duration_ms=" in p.url
    assert p.locator("select[name=model]").input_value() == SLOW_MODEL
    rows = p.locator("[data-testid=trace-row]")
    for i in range(rows.count()):
        assert SLOW_MODEL in rows.nth(i).locator(".chip.model").all_inner_texts()


def test_models_view_shows_the_scraped_model_servers(traffic: Demo, page: Page) -> None:
    # The store scrapes both simulators' /metrics every 5 s (the demo's targets file); wait
    # until both targets have a scraped token rate, i.e. at least two scrapes each with traffic.
    def scraped() -> set[str] | None:
        items = traffic.api("model-servers", bucket_s=10)["items"]
        found = {
            m["target"]
            for m in items
            if m["kind"] == "model-server" and m["generation_tokens_per_s"]
        }
        return found if len(found) >= 2 else None

    targets: set[str] = traffic.wait_for("two scraped model servers", scraped)
    p = page.open("/models", "[data-testid=model-servers]")
    rows = p.locator("[data-testid=model-server-row]")
    cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]
    # The first cell names the server by its label from the targets file, then its address.
    assert targets <= {c[0].split()[-1] for c in cells}
    assert {"fast", "flaky"} <= {c[0].split()[0] for c in cells}
    # gpt-4o-mini is served by both simulators (the gateway tries the flaky one first).
    assert len([c for c in cells if c[1].strip() == FAST_MODEL]) == 2
    for c in cells:
        assert c[4].strip().endswith("%")  # KV-cache usage, as the simulator reports it
        assert c[8].strip().endswith("ago")  # last seen
    for target in targets:  # each target generated tokens in the range
        assert max(float(c[6]) for c in cells if c[0].split()[-1] == target and c[6] != "–") > 0
    # Both time series are drawn, not left empty.
    assert p.locator("[data-c=ms-queue] canvas, [data-c=ms-kv] canvas").count() == 2
    p.wait_for_timeout(500)  # the charts' 300 ms draw-in animation, for the screenshot only
    page.shot("model-servers", "#model-servers")


def test_trace_search_opens_a_joined_waterfall(traffic: Demo, page: Page) -> None:
    p = page.open("/traces", "[data-testid=trace-row]")
    assert p.locator("[data-testid=trace-row]").count() > 3
    page.shot("traces")
    # Search narrows the list to the research agent's traces (real full-text search in the store).
    p.fill("input[name=q]", "research-agent")
    p.press("input[name=q]", "Enter")
    p.wait_for_url("**q=research-agent**")
    p.wait_for_selector("[data-testid=trace-row]")
    page.settle()
    assert p.locator("[data-testid=trace-row]").count() >= 1
    # Nothing matches nonsense: an empty state, not a blank page.
    p.fill("input[name=q]", "zzz-no-such-trace-zzz")
    p.press("input[name=q]", "Enter")
    p.wait_for_selector("[data-testid=trace-list] [data-state=empty]")
    assert "No traces match" in p.locator("[data-testid=trace-list]").inner_text()

    # A chat turn: app spans (probe) and gateway spans in one waterfall, with LLM semantics.
    # Pick (through the API) a turn whose spans have all arrived — the newest may still be in
    # flight — from the middle of the first page, then open it by clicking its row.
    def complete_turn() -> str | None:
        for item in traffic.api("traces", model=FAST_MODEL, limit=50)["items"][5:40]:
            spans = traffic.api(f"traces/{item['trace_id']}")["spans"]
            seen = {(s["kind"], s["layer"]) for s in spans}
            retrieved = any(s["kind"] == "RETRIEVER" for s in spans)
            if retrieved and {("LLM", "app"), ("LLM", "gateway")} <= seen:
                return str(item["trace_id"])
        return None

    trace_id = traffic.wait_for("a complete chat turn", complete_turn)
    p = page.open(f"/traces?model={FAST_MODEL}", "[data-testid=trace-row]")
    row_link = p.locator(f'[data-testid=trace-row] a[href="#/traces/{trace_id}"]')
    if row_link.count():
        row_link.first.click()
    else:  # pushed off the first page by newer traffic meanwhile
        page.open(f"/traces/{trace_id}", "[data-testid=span-row]")
    p.wait_for_selector("[data-testid=span-row]")
    page.settle()
    waterfall = p.locator("[data-testid=waterfall]").inner_text().lower()
    for kind in ("llm", "embedding", "retriever"):
        assert kind in waterfall
    assert "gateway" in waterfall
    assert "app" in waterfall
    detail = p.locator("[data-testid=span-detail]").inner_text()
    assert "TTFT" in detail
    assert "Output tokens" in detail
    assert "user" in p.locator("[data-testid=prompt]").inner_text().lower()
    page.shot("trace")


def test_gateway_failover_shows_on_the_span(traffic: Demo, page: Page) -> None:
    # The flaky upstream fails ~30% of gpt-4o-mini calls; the gateway retries the other one.
    def failed_over() -> str | None:
        for item in traffic.api("traces", model=FAST_MODEL, limit=60)["items"]:
            for span in traffic.api(f"traces/{item['trace_id']}")["spans"]:
                if int(span["attributes"].get("llmobs.gateway.attempts", 1)) > 1:
                    return str(item["trace_id"])
        return None

    trace_id = traffic.wait_for("a call the gateway failed over", failed_over)
    p = page.open(f"/traces/{trace_id}", "[data-testid=span-row]")
    pill = p.locator("[data-testid=span-row] .pill-warn").first
    assert "failover" in pill.inner_text()
    assert "sim-main" in pill.inner_text()


def test_loop_is_flagged_and_its_trace_shows_the_repeated_tool_call(
    traffic: Demo, page: Page
) -> None:
    p = page.open("/overview", "[data-testid=loops] li")
    p.locator("[data-testid=loops] li a").first.click()
    p.wait_for_selector("[data-testid=loop-callout]")
    page.settle()
    callout = p.locator("[data-testid=loop-callout]").inner_text()
    assert "search_web" in callout
    repeated = p.locator("[data-testid=span-row]", has_text="execute_tool search_web")
    assert repeated.count() >= 3
    repeated.first.click()
    assert "Tool call arguments" in p.locator("[data-testid=span-detail]").inner_text()
    page.shot("loop")


def test_sessions_rank_by_cost_and_read_turn_by_turn(traffic: Demo, page: Page) -> None:
    p = page.open("/sessions?sort=cost", "[data-testid=session-row]")
    costs = [
        _usd(p.locator("[data-testid=session-row]").nth(i).locator("td").nth(6).inner_text())
        for i in range(p.locator("[data-testid=session-row]").count())
    ]
    assert costs == sorted(costs, reverse=True)
    page.shot("sessions")
    p.locator("[data-testid=session-row] a").first.click()
    p.wait_for_selector("[data-testid=turn]")
    page.settle()
    turn = p.locator("[data-testid=turn]").first.inner_text()
    assert "user" in turn.lower()
    assert "assistant" in turn.lower()
    assert "cost" in turn
    assert "TTFT" in turn
    page.shot("session")
    # A turn → its trace, and back to the session from there.
    p.locator("[data-testid=turn] .meta a.mono").first.click()
    p.wait_for_selector("[data-testid=span-row]")
    page.settle()
    p.locator(".trace-head a", has_text="session").click()
    p.wait_for_selector("[data-testid=turn]")


@pytest.mark.parametrize("group", ["model", "service", "user", "session", "namespace"])
def test_usage_by_every_grouping(traffic: Demo, page: Page, group: str) -> None:
    p = page.open(f"/usage?group_by={group}", f"[data-testid=usage-tab-{group}].active")
    body = p.locator("#body")
    if group == "namespace":
        # Local processes carry no Kubernetes namespace: the view says so instead of going blank.
        assert body.locator("[data-testid=usage-row], [data-state=empty]").count() >= 1
    else:
        assert body.locator("[data-testid=usage-row]").count() >= 1
        assert body.locator("canvas").count() >= 2
    if group in ("model", "user"):
        page.shot(f"usage-{group}")


def test_a_failing_api_shows_an_error_with_retry(traffic: Demo, page: Page) -> None:
    page.allowed.append("status of 500")  # Chromium logs the failed fetch itself
    hits: list[Any] = []

    def fail(route: Any) -> None:
        hits.append(route.request.url)
        route.fulfill(status=500, content_type="application/json", body='{"detail": "boom"}')

    page.page.route("**/api/v1/models*", fail)
    p = page.open("/models", "[data-state=error]")
    assert "boom" in p.locator("[data-state=error]").inner_text()
    page.page.unroute("**/api/v1/models*")
    p.locator("[data-retry]").click()
    p.wait_for_selector("[data-testid=model-table]")
    assert hits


def test_a_slow_api_shows_loading_then_the_data(traffic: Demo, page: Page) -> None:
    held: list[Any] = []

    def hold(route: Any) -> None:  # keep the request unanswered until the test lets it go
        held.append(route)

    page.page.route("**/api/v1/sessions*", hold)
    p = page.page
    p.goto(f"{page.base}/#/sessions")
    p.wait_for_selector("[data-testid=session-list] [data-state=loading]", state="visible")
    assert held
    for route in held:
        route.continue_()
    page.page.unroute("**/api/v1/sessions*")
    p.wait_for_selector("[data-testid=session-row]")


def test_the_demos_poison_record_is_a_dead_letter_linked_to_its_trace(
    traffic: Demo, page: Page
) -> None:
    # The demo app sends one poison span at the start (llmobs_cli._demo._poison); the store
    # dead-letters it and stores the app's span around it, so the link opens a real trace.
    letters = traffic.wait_for(
        "the demo's poison span dead-lettered",
        lambda: [i for i in traffic.api("dead-letters")["items"] if POISON_NAME in i["record"]],
    )
    trace_id = letters[0]["trace_id"]
    traffic.wait_for("the poison's parent span", lambda: traffic.api(f"traces/{trace_id}"))
    p = page.open("/dead-letters", "[data-testid=dead-letter-row]")
    assert p.locator("[data-testid=dead-letter-count]").is_visible()
    assert int(p.locator("[data-testid=dead-letter-total-traces] .value").inner_text()) >= 1
    page.shot("dead-letters")
    p.locator(f'[data-testid=dead-letter-row] a[href="#/traces/{trace_id}"]').first.click()
    p.wait_for_selector("[data-testid=span-row]")
    page.settle()
    assert "demo poison record" in p.locator("[data-testid=waterfall]").inner_text()


def test_unknown_route_says_so(traffic: Demo, page: Page) -> None:
    p = page.open("/nowhere", "[data-state=empty]")
    assert "No such page" in p.inner_text("body")


def _usd(text: str) -> float:
    return float(text.strip().lstrip("$") or 0)
