"""The web UI against a store with a query token (issue 12, item 6), in real headless Chromium.

Before the sign-in prompt the UI never sent the token, so every view was a 401 error once one
was set. The store here runs on its own (no demo) with both tokens; one trace is ingested with
the ingest token and must be visible in the UI only after signing in with the query token.
"""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts

from tests.store.conftest import RunningStore, serve_store, store_settings

pytestmark = [pytest.mark.browser]

QUERY = "ui-query-token"
INGEST = "ui-ingest-token"
TRACE = "5a" * 16


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    path: Path = tmp_path_factory.mktemp("ui-login")
    with serve_store(store_settings(path, query_token=QUERY, ingest_token=INGEST)) as store:
        req = ts.ExportTraceServiceRequest()
        span = req.resource_spans.add().scope_spans.add().spans.add()
        span.trace_id, span.span_id, span.name = bytes.fromhex(TRACE), b"\x01" * 8, "login-probe"
        span.start_time_unix_nano = time.time_ns() - 5_000_000
        span.end_time_unix_nano = time.time_ns()
        r = httpx.post(
            store.url + "/v1/traces",
            content=req.SerializeToString(),
            headers={
                "content-type": "application/x-protobuf",
                "authorization": f"Bearer {INGEST}",
            },
        )
        assert r.status_code == 200, r.text
        auth = {"authorization": f"Bearer {QUERY}"}
        store.wait_for(
            lambda: httpx.get(f"{store.url}/api/v1/traces/{TRACE}", headers=auth).status_code == 200
        )
        yield store


def test_the_ui_signs_in_with_the_query_token(browser: Any, guarded: RunningStore) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page = context.new_page()
    # Chromium logs every refused fetch ("status of 401"): that is the prompt's trigger, not a
    # fault; anything else in the console is.
    page.on(
        "console",
        lambda m: m.type == "error" and "401" not in m.text and errors.append(m.text),
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{guarded.url}/#/traces")
        login = page.wait_for_selector("[data-testid=login]", state="visible", timeout=30_000)
        assert login is not None
        assert not page.locator("[data-testid=login-error]").is_visible()
        assert page.locator("[data-testid=trace-row]").count() == 0
        # A wrong token is refused and the prompt comes back saying so.
        page.fill("[data-testid=login] input[name=token]", "not-the-token")
        page.click("[data-testid=login] button[type=submit]")
        page.wait_for_selector("[data-testid=login-error]", state="visible", timeout=30_000)
        # The right one shows the data, and survives a reload.
        page.fill("[data-testid=login] input[name=token]", QUERY)
        page.click("[data-testid=login] button[type=submit]")
        page.wait_for_selector("[data-testid=trace-row]", state="visible", timeout=30_000)
        assert "login-probe" in page.locator("[data-testid=trace-list]").inner_text()
        assert page.locator("[data-testid=login]").count() == 0
        page.reload()
        page.wait_for_selector("[data-testid=trace-row]", state="visible", timeout=30_000)
        assert page.locator("[data-testid=login]").count() == 0
        # Signing out forgets the token: the prompt is back.
        page.click("#signout")
        page.wait_for_selector("[data-testid=login]", state="visible", timeout=30_000)
        assert page.evaluate("localStorage.getItem('llmobs.queryToken')") is None
    finally:
        context.close()
    assert not errors, errors
