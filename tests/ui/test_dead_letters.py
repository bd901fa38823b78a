"""The Dead letters view against a real store, in real headless Chromium.

The store runs on its own (no demo); poison spans are posted to its ``/v1/traces`` as OTLP
protobuf, the store's normaliser chokes on them (``gen_ai.response.finish_reasons`` nested far
too deep) and dead-letters them. The view must list them newest first with their reason and a
link to their trace, count them in the nav, show a hostile record as text (never as HTML), and
page through them.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.store.conftest import RunningStore, serve_store, store_settings
from tests.store.otlp_requests import post, span, traces
from tests.ui.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser]

HOSTILE = "<img src=x onerror=alert(1)>"
POISONS = 3


@pytest.fixture(scope="module")
def dead(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningStore, list[Any]]]:
    path: Path = tmp_path_factory.mktemp("ui-dead-letters")
    with serve_store(store_settings(path)) as store:
        poisons = [
            span(f"{HOSTILE} poison {i}", gen_ai__response__finish_reasons="[" * 5000)
            for i in range(POISONS)
        ]
        for poison in poisons:  # one request each, so their times order them
            assert post(store.url, "traces", traces(poison)).status_code == 200
            store.wait_for(lambda: store.app.state.store.spool.depth_bytes == 0)
        store.wait_for(lambda: store.get("/api/v1/dead-letters")["total"] == POISONS)
        yield store, poisons


@pytest.fixture
def page(browser: Any, dead: tuple[RunningStore, list[Any]]) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    dialogs: list[str] = []

    def console(message: Any) -> None:
        if message.type == "error":
            errors.append(message.text)

    def dialog(d: Any) -> None:  # an injected <img onerror=alert(1)> would open one
        dialogs.append(d.message)
        d.dismiss()

    page.on("console", console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", dialog)
    try:
        yield page
    finally:
        context.close()
    assert not errors, errors
    assert not dialogs, dialogs


def _open(page: Any, store: RunningStore, route: str) -> None:
    page.goto(f"{store.url}/#{route}")
    page.wait_for_selector("[data-testid=dead-letter-row]", state="visible", timeout=30_000)
    page.wait_for_function("document.querySelectorAll('[data-state=loading]').length === 0")


def test_the_view_lists_real_dead_letters_newest_first_and_the_nav_counts_them(
    page: Any, dead: tuple[RunningStore, list[Any]]
) -> None:
    store, poisons = dead
    _open(page, store, "/dead-letters")
    rows = page.locator("[data-testid=dead-letter-row]")
    assert rows.count() == POISONS
    first = rows.first.locator("td").all_inner_texts()
    assert first[1] == "traces"
    assert first[2] == "normalise_error"
    assert first[3].startswith("RecursionError")
    # Newest first: the last poison posted is the first row, linked to its trace.
    newest = bytes(poisons[-1].trace_id).hex()
    links = rows.locator("a[href^='#/traces/']")
    assert links.first.get_attribute("href") == f"#/traces/{newest}"
    assert page.locator("[data-testid=dead-letter-total-traces] .value").inner_text() == "3"
    assert page.locator("[data-testid=dead-letter-fallback]").count() == 0
    badge = page.locator("[data-testid=dead-letter-count]")
    assert badge.is_visible()
    assert badge.inner_text() == str(POISONS)
    assert page.locator("a.nav.active").get_attribute("data-view") == "dead-letters"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dead-letters.png"), full_page=True)
    # The badge is there on the other views too, so an operator notices.
    page.goto(f"{store.url}/#/overview")
    page.wait_for_selector("[data-testid=dead-letter-count]", state="visible", timeout=30_000)


def test_a_hostile_record_is_shown_as_text_and_expands_as_text(
    page: Any, dead: tuple[RunningStore, list[Any]]
) -> None:
    store, _ = dead
    _open(page, store, "/dead-letters")
    # Nothing from a record became an element: no <img> anywhere in the view.
    assert page.locator("#view img").count() == 0
    preview = page.locator("[data-testid=dead-letter-record]").first
    assert HOSTILE in preview.inner_text()
    box = page.locator("[data-testid=dead-letter-row] details").first
    box.locator("summary").click()
    full = box.locator("[data-testid=dead-letter-full]")
    full.wait_for(state="visible")
    text = full.inner_text()
    assert HOSTILE in text
    assert "[" * 1000 in text  # the whole record, not the preview
    assert len(text) > len(preview.inner_text())
    assert page.locator("#view img").count() == 0
    page.wait_for_timeout(300)  # time for an onerror handler to have fired, had there been one


def test_paging_walks_older_and_back(page: Any, dead: tuple[RunningStore, list[Any]]) -> None:
    store, poisons = dead
    ids = [bytes(p.trace_id).hex() for p in reversed(poisons)]  # newest first

    def listed() -> list[str]:
        links = page.locator("[data-testid=dead-letter-row] a[href^='#/traces/']")
        return [str(h).removeprefix("#/traces/") for h in links.evaluate_all(
            "els => els.map(e => e.getAttribute('href'))")]  # fmt: skip

    _open(page, store, "/dead-letters?limit=2")
    assert listed() == ids[:2]
    assert page.locator("[data-testid=dead-letter-range]").inner_text() == "1–2 of 3"
    page.locator(".pager a", has_text="Older").click()
    page.wait_for_url("**offset=2**")
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=dead-letter-row]').length === 1"
    )
    assert listed() == ids[2:]
    assert page.locator("[data-testid=dead-letter-range]").inner_text() == "3–3 of 3"
    assert page.locator(".pager a", has_text="Older").count() == 0
    page.locator(".pager a", has_text="Newer").click()
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=dead-letter-row]').length === 2"
    )
    assert listed() == ids[:2]
