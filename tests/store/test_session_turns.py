"""A session turn reads as a conversation: the user's question and the model's final answer.

A turn with a tool call holds two LLM calls (the model asks for the tool, then answers with its
result); the turn shows the first call's input and the last call's output, never the tool request.
"""

import os
from collections.abc import Iterator

import httpx
import pytest

from llmobs_semconv import attributes as A
from tests.store.conftest import RunningStore, serve_store, store_settings
from tests.store.test_api import Builder, llm


@pytest.fixture(scope="module")
def tool_turn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    b = Builder()
    trace = os.urandom(16)
    root = b.span("app", trace, "POST /chat", 0, 3.0, {A.SESSION_ID: "s-tool", A.USER_ID: "u"})
    asks = {
        A.GEN_AI_INPUT_MESSAGES: "what does gpt-4o cost?",
        A.GEN_AI_OUTPUT_MESSAGES: '[{"tool_call": "price_lookup"}]',
    }
    answers = {
        A.GEN_AI_INPUT_MESSAGES: "what does gpt-4o cost? + tool result",
        A.GEN_AI_OUTPUT_MESSAGES: "gpt-4o costs $2.50 per million input tokens",
    }
    first = b.span(
        "app", trace, "chat gpt-4o", 0.1, 1.0, llm("gpt-4o", "openai", 50, 10, 0.2, **asks),
        parent=root,
    )  # fmt: skip
    # The gateway's span of the first call (same call one layer down): never the turn's text.
    b.span(
        "gateway", trace, "chat gpt-4o", 0.15, 0.9,
        llm("gpt-4o", "openai", 50, 10, 0.2, **{A.LLMOBS_CALLER_SPAN_ID: first.hex()}),
        parent=first,
    )  # fmt: skip
    b.span("app", trace, "execute_tool price_lookup", 1.2, 0.1, {
        A.GEN_AI_OPERATION_NAME: "execute_tool", A.GEN_AI_TOOL_NAME: "price_lookup",
    }, parent=root)  # fmt: skip
    b.span(
        "app", trace, "chat gpt-4o", 1.4, 1.5, llm("gpt-4o", "openai", 80, 20, 0.3, **answers),
        parent=root,
    )  # fmt: skip
    with serve_store(store_settings(tmp_path_factory.mktemp("turns"))) as store:
        response = httpx.post(
            store.url + "/v1/traces",
            content=b.request.SerializeToString(),
            headers={"content-type": "application/x-protobuf"},
        )
        assert response.status_code == 200, response.text
        store.wait_spans(5)
        store.settle()  # the calls belong to the session their root names (the tree pass)
        yield store


def test_turn_shows_the_question_and_the_final_answer(tool_turn: RunningStore) -> None:
    (turn,) = tool_turn.get("/api/v1/sessions/s-tool")["turns"]
    assert turn["input"] == "what does gpt-4o cost?"
    assert turn["output"] == "gpt-4o costs $2.50 per million input tokens"
    assert (turn["input_tokens"], turn["output_tokens"]) == (130, 30)  # the gateway's not twice
