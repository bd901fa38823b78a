"""The async client: calls, streams, a cancelled task, through the real SDK to the simulator."""

from __future__ import annotations

import asyncio
from typing import Any

import openai

from llmobs_semconv import attributes as A

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Tell me about queues."}]


def tokens(n: int) -> dict[str, str]:
    return {"x-sim-output-tokens": str(n)}


def aclient(sim_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=sim_url + "/v1", api_key="test-key", max_retries=0)


def test_async_call_and_stream(sim_url: str, traced: Any) -> None:
    probe, received = traced

    async def run() -> tuple[Any, int]:
        async with aclient(sim_url) as c:
            result = await c.chat.completions.create(model=MODEL, messages=MESSAGES)
            stream = await c.chat.completions.create(
                model=MODEL,
                messages=MESSAGES,
                stream=True,
                extra_headers={"x-sim-output-tokens": "6"},
            )
            assert isinstance(stream, openai.AsyncStream)
            n = 0
            async with stream:
                async for _chunk in stream:
                    n += 1
            return result, n

    result, n = asyncio.run(run())
    probe.flush()
    received.wait(lambda r: len(r.llm_spans()) >= 2)
    spans = {s["attributes"].get(A.GEN_AI_REQUEST_STREAM, False): s for s in received.llm_spans()}
    assert spans[False]["attributes"][A.GEN_AI_RESPONSE_ID] == result.id
    streamed = spans[True]["attributes"]
    assert streamed[A.LLMOBS_CHUNK_COUNT] == 6
    assert streamed[A.LLMOBS_TTFT] >= 0.03
    assert A.LLMOBS_ABANDONED not in streamed
    assert n >= 6


def test_cancelled_task_is_abandoned_and_ends_once(sim_url: str, traced: Any) -> None:
    probe, received = traced
    seen = asyncio.Event

    async def consume(c: openai.AsyncOpenAI, got_some: asyncio.Event) -> None:
        stream = await c.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            stream=True,
            extra_headers={"x-sim-output-tokens": "400"},
        )
        i = 0
        async for _chunk in stream:
            i += 1
            if i == 3:
                got_some.set()

    async def run() -> None:
        async with aclient(sim_url) as c:
            got_some = seen()
            task = asyncio.create_task(consume(c, got_some))
            await asyncio.wait_for(got_some.wait(), 10)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            else:  # pragma: no cover - the stream has 400 tokens
                raise AssertionError("the task finished before it was cancelled")

    asyncio.run(run())
    probe.flush()
    received.wait(lambda r: len(r.llm_spans()) >= 1)
    (span,) = received.llm_spans()
    assert span["attributes"][A.LLMOBS_ABANDONED] is True
    assert 2 <= span["attributes"][A.LLMOBS_CHUNK_COUNT] < 400
    assert span["status"] != 2  # a cancellation is the caller's choice, not an error
