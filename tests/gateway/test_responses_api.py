"""``/v1/responses`` through the gateway: bytes unchanged, usage read from response.completed.

The simulator does not speak the Responses API, so the upstream here is a stand-in serving
OpenAI's documented event stream (named as such: the real one is a paid API).
"""

import json
from collections.abc import AsyncIterator

import openai
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from llmobs_semconv import attributes as A
from llmobs_testing.servers import serve_app

from .conftest import OtlpReceiver, one_upstream, run_gateway

RESPONSE = {
    "id": "resp_123",
    "object": "response",
    "created_at": 1,
    "model": "gpt-4o-mini",
    "status": "completed",
    "output": [
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Hello there", "annotations": []}],
        }
    ],
    "usage": {
        "input_tokens": 11,
        "output_tokens": 2,
        "total_tokens": 13,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0},
    },
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
}


def _events() -> list[bytes]:
    events = [
        (
            "response.created",
            {
                "type": "response.created",
                "sequence_number": 0,
                "response": {**RESPONSE, "status": "in_progress", "usage": None},
            },
        ),
        (
            "response.output_text.delta",
            {
                "type": "response.output_text.delta",
                "sequence_number": 1,
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "delta": "Hello",
            },
        ),
        (
            "response.output_text.delta",
            {
                "type": "response.output_text.delta",
                "sequence_number": 2,
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "delta": " there",
            },
        ),
        (
            "response.completed",
            {"type": "response.completed", "sequence_number": 3, "response": RESPONSE},
        ),
    ]
    return [f"event: {name}\ndata: {json.dumps(doc)}\n\n".encode() for name, doc in events]


def responses_stand_in() -> Starlette:
    async def responses(request: Request) -> Response:
        body = await request.json()
        if not body.get("stream"):
            return JSONResponse(RESPONSE)

        async def stream() -> AsyncIterator[bytes]:
            for event in _events():
                yield event

        return StreamingResponse(stream(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/responses", responses, methods=["POST"])])


def test_the_responses_api_streams_through_unchanged_and_is_recorded(otlp: OtlpReceiver) -> None:
    with (
        serve_app(responses_stand_in()) as upstream,
        run_gateway(one_upstream(upstream, model="gpt-4o-mini"), otlp.url) as gw,
    ):
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0)
        whole = client.responses.create(model="gpt-4o-mini", input="hi")
        assert whole.output_text == "Hello there"
        with client.responses.with_streaming_response.create(
            model="gpt-4o-mini", input="hi", stream=True
        ) as raw:
            assert b"".join(raw.iter_bytes()) == b"".join(_events())
        gw.flush()
        spans = otlp.wait_for_spans(lambda s: s.attributes.get(A.LLMOBS_UPSTREAM) == "sim", 2)
        assert len(spans) == 2
        for span in spans:
            assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 11
            assert span.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
            assert span.attributes[A.GEN_AI_RESPONSE_ID] == "resp_123"
            assert span.attributes[A.LLMOBS_COST_USD] > 0
        streamed = next(s for s in spans if s.attributes[A.GEN_AI_REQUEST_STREAM])
        assert streamed.attributes[A.LLMOBS_CHUNK_COUNT] == 2
        assert streamed.attributes[A.LLMOBS_TTFT] > 0
        client.close()
