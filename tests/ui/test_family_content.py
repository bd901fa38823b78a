"""Content other families send is shown by the trace view, in real headless Chromium.

A store runs on its own; the real OpenTelemetry SDK sends it, over OTLP, a chat span whose
prompt and completion arrive as OTel GenAI per-message log events (the openai-v2
instrumentation's default), an OpenInference span with flattened messages, and an MCP tool
call. The trace view must show the messages as chat bubbles and the MCP method and tool.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.trace import SpanKind

from tests.store.conftest import RunningStore, serve_store, store_settings
from tests.store.family_emit import emitter, span_id, stored_trace, trace_id
from tests.ui.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def families(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningStore, Any]]:
    path: Path = tmp_path_factory.mktemp("ui-families")
    with serve_store(store_settings(path)) as store:
        with emitter(store, "families-ui") as e:
            chat = e.start(
                "chat gpt-4o-mini",
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.system": "openai",
                    "gen_ai.request.model": "gpt-4o-mini",
                },
                kind=SpanKind.CLIENT,
            )
            system = {"gen_ai.system": "openai"}
            e.event(chat, "gen_ai.system.message", body={"content": "Be brief."}, attributes=system)
            e.event(
                chat, "gen_ai.user.message", body={"content": "Capital of Peru?"}, attributes=system
            )
            choice = {"index": 0, "finish_reason": "stop", "message": {"content": "Lima."}}
            e.event(chat, "gen_ai.choice", body=choice, attributes=system)
            e.end(chat, duration_ms=800)
            flattened = e.span(
                "ChatCompletion",
                {
                    "openinference.span.kind": "LLM",
                    "llm.model_name": "gpt-4o-mini",
                    "llm.input_messages.0.message.role": "user",
                    "llm.input_messages.0.message.contents.0.message_content.type": "text",
                    "llm.input_messages.0.message.contents.0.message_content.text": "Tallest peak?",
                    "llm.output_messages.0.message.role": "assistant",
                    "llm.output_messages.0.message.content": "Everest.",
                },
                start_ms=900,
                duration_ms=500,
                parent=chat,
            )
            tool = e.span(
                "MCP send tools/call get_weather",
                {"mcp.method.name": "tools/call", "jsonrpc.request.id": "4"},
                kind=SpanKind.CLIENT,
                start_ms=1500,
                duration_ms=200,
                parent=chat,
            )
        stored_trace(store, chat, 3, content=4)
        yield store, {"chat": chat, "flattened": flattened, "tool": tool}


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, errors


def _open(page: Any, store: RunningStore, span: Any) -> None:
    page.goto(f"{store.url}/#/traces/{trace_id(span)}?span={span_id(span)}")
    page.wait_for_selector("[data-testid=span-detail] h2", state="visible", timeout=30_000)
    page.wait_for_function("document.querySelectorAll('[data-state=loading]').length === 0")


def test_per_message_events_show_as_prompt_and_completion(
    page: Any, families: tuple[RunningStore, Any]
) -> None:
    store, spans = families
    _open(page, store, spans["chat"])
    prompt = page.locator("[data-testid=prompt] .msg")
    assert prompt.count() == 2
    assert "system" in prompt.nth(0).inner_text().lower()
    assert "Be brief." in prompt.nth(0).inner_text()
    assert "Capital of Peru?" in prompt.nth(1).inner_text()
    assert "Lima." in page.locator("[data-testid=completion]").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "family-content.png"), full_page=True)


def test_flattened_messages_and_mcp_tool_call(
    page: Any, families: tuple[RunningStore, Any]
) -> None:
    store, spans = families
    _open(page, store, spans["flattened"])
    assert "Tallest peak?" in page.locator("[data-testid=prompt]").inner_text()
    assert "Everest." in page.locator("[data-testid=completion]").inner_text()
    page.locator(f"[data-span='{span_id(spans['tool'])}']").click()
    detail = page.locator("[data-testid=span-detail]").inner_text()
    assert "MCP method" in detail
    assert "tools/call" in detail
    assert "get_weather" in detail
