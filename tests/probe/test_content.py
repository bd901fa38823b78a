"""Content capture: chunk records per the contract, flushed mid-stream, redacted, bounded."""

from __future__ import annotations

import gc
import json
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest

from llmobs_semconv import attributes as A
from llmobs_semconv import chunks


def quiet_collect() -> None:
    """A full collection; sockets other tests' clients left open are not this test's business."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


MODEL = "gpt-4o-mini"


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="test-key", max_retries=0)


def records(received: Any, span_id: str, role: str) -> list[dict[str, Any]]:
    with received.lock:
        rows = [
            r
            for r in received.logs
            if r["span_id"] == span_id and r["attributes"].get(chunks.ROLE) == role
        ]
    return sorted(rows, key=lambda r: r["attributes"][chunks.SEQ])


def assembled(rows: list[dict[str, Any]]) -> str:
    seqs = [r["attributes"][chunks.SEQ] for r in rows]
    assert seqs == list(range(len(rows))), seqs  # ordered, none missing
    assert rows[-1]["attributes"][chunks.LAST] is True
    assert not any(r["attributes"][chunks.LAST] for r in rows[:-1])
    return "".join(r["body"] for r in rows)


def test_capture_is_off_by_default(sim_url: str, traced: Any) -> None:
    probe, received = traced
    client(sim_url).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "x"}]
    )
    probe.flush()
    received.wait(lambda r: len(r.llm_spans()) == 1)
    assert received.logs == []
    assert A.LLMOBS_CONTENT_CAPTURED not in received.llm_spans()[0]["attributes"]


def test_stream_content_is_flushed_while_streaming_and_redacted(
    sim_url: str, receiver: Any, probe_factory: Any
) -> None:
    endpoint, received = receiver
    probe = probe_factory(
        endpoint, LLMOBS_CAPTURE_CONTENT="true", LLMOBS_CONTENT_BUFFER_BYTES="1024"
    )
    messages = [
        {"role": "user", "content": "mail me at jane.doe@example.com, card 4111 1111 1111 1111"}
    ]
    stream = client(sim_url).chat.completions.create(
        model=MODEL, messages=messages, stream=True, extra_headers={"x-sim-output-tokens": "900"}
    )
    streamed = []
    flushed_mid_stream = False
    for i, chunk in enumerate(stream):
        if chunk.choices and chunk.choices[0].delta.content:
            streamed.append(chunk.choices[0].delta.content)
        if i == 600:  # two thirds in: the first pieces must already have left the process
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not flushed_mid_stream:
                with received.lock:
                    flushed_mid_stream = any(
                        r["attributes"].get(chunks.ROLE) == chunks.ROLE_OUTPUT
                        for r in received.logs
                    )
                time.sleep(0.02)
    probe.flush()
    assert flushed_mid_stream
    received.wait(lambda r: len(r.llm_spans()) == 1)
    span = received.llm_spans()[0]
    assert span["attributes"][A.LLMOBS_CONTENT_CAPTURED] is True
    sid = span["span_id"]
    output = records(received, sid, chunks.ROLE_OUTPUT)
    assert len(output) >= 3  # ~5 KB of text in 1 KiB pieces
    assert all(len(r["body"].encode()) <= 1024 for r in output)
    assert all(r["trace_id"] == span["trace_id"] for r in output)
    assert all(r["attributes"][chunks.EVENT_NAME_ATTRIBUTE] == chunks.EVENT_NAME for r in output)
    assert assembled(output) == "".join(streamed)
    inputs = records(received, sid, chunks.ROLE_INPUT)
    prompt = json.loads(assembled(inputs))
    assert inputs[0]["attributes"][chunks.FORMAT] == chunks.FORMAT_JSON
    assert "jane.doe@example.com" not in prompt[0]["content"]
    assert "[REDACTED:email]" in prompt[0]["content"]
    assert "[REDACTED:card]" in prompt[0]["content"]
    assert inputs[0]["attributes"][chunks.REDACTED] == 2


def test_non_stream_content_and_tool_calls(sim_url: str, receiver: Any, probe_factory: Any) -> None:
    endpoint, received = receiver
    probe = probe_factory(endpoint, LLMOBS_CAPTURE_CONTENT="true")
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    result = client(sim_url).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "find it"}], tools=tools
    )
    probe.flush()
    received.wait(lambda r: len(r.llm_spans()) == 1)
    sid = received.llm_spans()[0]["span_id"]
    received.wait(lambda r: bool(records(r, sid, chunks.ROLE_OUTPUT)))
    output = records(received, sid, chunks.ROLE_OUTPUT)
    assert output[0]["attributes"][chunks.FORMAT] == chunks.FORMAT_JSON
    doc = json.loads(assembled(output))
    call = result.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert doc["tool_calls"][0]["function"]["name"] == call.function.name == "lookup"  # type: ignore[union-attr]


# --------------------------------------------------------------- 10 MB with capture on
# The simulator streams one word per chunk: 10 MB would be ~1.5M chunks (minutes of SDK parsing).
# Memory depends on bytes, not on the number of chunks, so this server sends the same OpenAI SSE
# shape with 8 KiB deltas: 10 MiB in 1,280 chunks, over real HTTP.
_DELTA = ("0123456789abcdef" * 512)[:8191] + " "
_TOTAL_CHUNKS = 1280


@pytest.fixture(scope="module")
def big_stream_url() -> Iterator[str]:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    from llmobs_testing.servers import serve_app

    async def chat(request: Request) -> Response:
        async def events() -> AsyncIterator[bytes]:
            for i in range(_TOTAL_CHUNKS):
                chunk = {
                    "id": "chatcmpl-big",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": MODEL,
                    "choices": [
                        {
                            "index": 0,
                            "delta": {"content": _DELTA},
                            "finish_reason": "length" if i == _TOTAL_CHUNKS - 1 else None,
                        }
                    ],
                }
                yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    with serve_app(app) as url:
        yield url


def _stream_peak(c: openai.OpenAI) -> tuple[int, int]:
    """(characters streamed, peak bytes allocated by the process while streaming)."""
    quiet_collect()
    tracemalloc.start()
    try:
        stream = c.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "long"}], stream=True
        )
        total = 0
        for chunk in stream:
            total += len(chunk.choices[0].delta.content or "")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return total, peak


def test_memory_stays_bounded_streaming_10_mb_with_capture(
    big_stream_url: str, receiver: Any, probe_factory: Any
) -> None:
    endpoint, received = receiver
    received.keep_bodies = False
    c = client(big_stream_url)
    _, baseline = _stream_peak(c)  # not instrumented yet
    queue_bytes = 4 * 1024 * 1024
    probe = probe_factory(
        endpoint, LLMOBS_CAPTURE_CONTENT="true", LLMOBS_CONTENT_QUEUE_BYTES=str(queue_bytes)
    )
    total, peak = _stream_peak(c)
    assert total == len(_DELTA) * _TOTAL_CHUNKS >= 10 * 1024 * 1024
    # What the probe adds while 10 MiB stream through it is bounded by its settings, never the
    # whole completion: one 64 KiB buffer per span plus at most the content queue waiting for the
    # exporter (how full it gets depends on how fast the receiver drains it: ~1-3 MB here), plus
    # the batch being encoded.
    added = peak - baseline
    bound = 64 * 1024 + queue_bytes + 1024 * 1024
    assert added < bound, f"probe added {added / 1e6:.1f} MB streaming 10 MiB"
    probe.flush()
    received.wait(lambda r: len(r.llm_spans()) == 1)
    sid = received.llm_spans()[0]["span_id"]
    received.wait(
        lambda r: any(x["attributes"].get(chunks.LAST) for x in records(r, sid, "output"))
    )
    output = records(received, sid, chunks.ROLE_OUTPUT)
    assert sum(r["body"] for r in output) == total  # every piece arrived (bodies as lengths)
