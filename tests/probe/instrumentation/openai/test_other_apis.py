"""Completions, embeddings and the responses API through the real SDK over real HTTP.

Completions and embeddings go to the simulator. The simulator has no ``/v1/responses`` route, so
the responses API is served here by a small real HTTP app (Starlette under uvicorn) that answers
the documented shapes: a response object, and its SSE event stream.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest

from llmobs_semconv import attributes as A

MODEL = "gpt-4o-mini"


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="test-key", max_retries=0)


def test_completions_stream_and_not(sim_url: str, traced: Any) -> None:
    probe, received = traced
    c = client(sim_url)
    result = c.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=8)
    stream = c.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=8, stream=True)
    text = "".join(ch.choices[0].text for ch in stream if ch.choices)
    probe.flush()
    received.wait(lambda r: len(r.llm_spans()) >= 2)
    spans = {s["attributes"].get(A.GEN_AI_REQUEST_STREAM, False): s for s in received.llm_spans()}
    plain = spans[False]
    assert plain["name"] == f"text_completion {MODEL}"
    assert plain["attributes"][A.GEN_AI_OPERATION_NAME] == "text_completion"
    assert plain["attributes"][A.GEN_AI_REQUEST_MAX_TOKENS] == 8
    assert result.usage is not None
    assert plain["attributes"][A.GEN_AI_USAGE_OUTPUT_TOKENS] == result.usage.completion_tokens
    streamed = spans[True]["attributes"]
    assert text
    assert streamed[A.LLMOBS_CHUNK_COUNT] >= 1
    assert streamed[A.LLMOBS_TTFT] > 0


def test_embeddings(sim_url: str, traced: Any) -> None:
    probe, received = traced
    result = client(sim_url).embeddings.create(
        model="text-embedding-3-small", input=["alpha", "beta"]
    )
    probe.flush()
    received.wait(lambda r: len(r.llm_spans()) >= 1)
    (span,) = received.llm_spans()
    a = span["attributes"]
    assert span["name"] == "embeddings text-embedding-3-small"
    assert a[A.GEN_AI_OPERATION_NAME] == "embeddings"
    assert a[A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == len(result.data[0].embedding)
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == result.usage.prompt_tokens
    assert a[A.LLMOBS_COST_USD] > 0


# ------------------------------------------------------------------ responses API
def _response(text: str, status: str = "completed") -> dict[str, Any]:
    return {
        "id": "resp_123",
        "object": "response",
        "created_at": 1,
        "model": MODEL,
        "status": status,
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 11,
            "input_tokens_details": {"cached_tokens": 4},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 2},
            "total_tokens": 16,
        },
    }


@pytest.fixture(scope="module")
def responses_url() -> Iterator[str]:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    from llmobs_testing.servers import serve_app

    words = ["streams ", "are ", "fun"]

    async def responses(request: Request) -> Response:
        body = await request.json()
        if not body.get("stream"):
            return JSONResponse(_response("".join(words)))

        async def events() -> AsyncIterator[bytes]:
            seq = 0

            def event(payload: dict[str, Any]) -> bytes:
                nonlocal seq
                payload["sequence_number"] = seq
                seq += 1
                return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode()

            created = _response("", status="in_progress")
            created["usage"] = None
            yield event({"type": "response.created", "response": created})
            for word in words:
                yield event(
                    {
                        "type": "response.output_text.delta",
                        "item_id": "msg_1",
                        "output_index": 0,
                        "content_index": 0,
                        "delta": word,
                        "logprobs": [],
                    }
                )
            yield event({"type": "response.completed", "response": _response("".join(words))})

        return StreamingResponse(events(), media_type="text/event-stream")

    app = Starlette(routes=[Route("/v1/responses", responses, methods=["POST"])])
    with serve_app(app) as url:
        yield url


def test_responses_api_stream_and_not(responses_url: str, traced: Any) -> None:
    probe, received = traced
    c = client(responses_url)
    result = c.responses.create(model=MODEL, input="hi", max_output_tokens=20)
    assert result.output_text == "streams are fun"
    stream = c.responses.create(model=MODEL, input="hi", stream=True)
    kinds = [event.type for event in stream]
    probe.flush()
    received.wait(lambda r: len(r.llm_spans()) >= 2)
    spans = {s["attributes"].get(A.GEN_AI_REQUEST_STREAM, False): s for s in received.llm_spans()}
    for span in spans.values():
        a = span["attributes"]
        assert a[A.GEN_AI_OPERATION_NAME] == "chat"
        assert a[A.GEN_AI_RESPONSE_ID] == "resp_123"
        assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == 11
        assert a[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 5
        assert a[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 4
        assert a[A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 2
        assert a[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("completed",)
    assert spans[False]["attributes"][A.GEN_AI_REQUEST_MAX_TOKENS] == 20
    assert spans[True]["attributes"][A.LLMOBS_CHUNK_COUNT] == 3
    assert kinds[-1] == "response.completed"
