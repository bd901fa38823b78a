"""Streaming passthrough: no buffering; a disconnect cancels upstream; stalls are cut."""

import asyncio
import re
import threading
import time
from collections.abc import AsyncIterator

import httpx
import openai
import pytest
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import StreamingResponse
from starlette.routing import Route

from llmobs_semconv import attributes as A
from llmobs_testing.servers import serve_app

from .conftest import OtlpReceiver, one_upstream, run_gateway, simulator

MESSAGES = [{"role": "user", "content": "stream please"}]


def _sim_metric(sim_url: str, name: str, labels: str = "") -> float:
    """One sample of the simulator's vLLM-named metrics (0 when absent)."""
    text = httpx.get(sim_url + "/metrics").text
    pattern = rf"^{re.escape(name)}\{{[^}}]*{re.escape(labels)}[^}}]*\}} (\S+)$"
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else 0.0


def _aborted(sim_url: str) -> float:
    return _sim_metric(sim_url, "vllm:request_success_total", 'finished_reason="abort"')


def test_chunks_reach_the_client_as_they_are_generated() -> None:
    # 20 tokens 50 ms apart: a buffering proxy would deliver everything after ~1 s.
    with (
        serve_app(simulator(ttft_s=0.01, itl_s=0.05)) as sim,
        run_gateway(one_upstream(sim), forward_header_prefixes=("x-sim-",)) as gw,
    ):
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0)
        started = time.perf_counter()
        arrivals = []
        stream = client.chat.completions.create(
            model="sim-model",
            messages=MESSAGES,
            stream=True,
            extra_headers={"x-sim-output-tokens": "20"},
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                arrivals.append(time.perf_counter() - started)
        assert len(arrivals) == 20
        assert arrivals[0] < 0.5
        assert arrivals[-1] - arrivals[0] > 0.5  # spread out like the generation, not one burst


def test_a_client_disconnect_cancels_the_upstream_request_and_is_recorded_abandoned(
    otlp: OtlpReceiver,
) -> None:
    with (
        serve_app(simulator(ttft_s=0.01, itl_s=0.05)) as sim,
        run_gateway(one_upstream(sim), otlp.url, forward_header_prefixes=("x-sim-",)) as gw,
    ):
        body = {"model": "sim-model", "messages": MESSAGES, "stream": True}
        with (
            httpx.Client(timeout=10) as client,
            client.stream(
                "POST",
                gw.url + "/v1/chat/completions",
                json=body,
                headers={"x-sim-output-tokens": "400"},
            ) as response,
        ):
            got = 0
            for line in response.iter_lines():
                got += line.startswith("data:")
                if got >= 3:
                    # Checked before leaving the loop: leaving it closes the connection.
                    assert _aborted(sim) == 0.0
                    break
        # The stream would run for 20 s; the upstream request must be aborted now.
        deadline = time.monotonic() + 5
        while _aborted(sim) != 1.0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _aborted(sim) == 1.0
        assert _sim_metric(sim, "vllm:generation_tokens_total") < 50
        gw.flush()
        span = otlp.wait_for_spans(lambda s: s.attributes.get(A.LLMOBS_ABANDONED) is True)[0]
        assert span.attributes[A.ERROR_TYPE] == "abandoned"
        assert span.attributes[A.LLMOBS_CHUNK_COUNT] >= 1
        assert span.status_code != 2  # the client left: not the upstream's error
        text = httpx.get(gw.url + "/metrics").text
        assert "llmobs_gateway_in_flight_requests 0.0" in text


def test_an_upstream_that_stalls_is_cut_by_the_idle_timeout(otlp: OtlpReceiver) -> None:
    with (
        serve_app(simulator(ttft_s=0.01, itl_s=3.0)) as sim,
        run_gateway(one_upstream(sim, idle_timeout_s=0.3), otlp.url) as gw,
    ):
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0)
        started = time.perf_counter()
        with pytest.raises(openai.APIError, match="idle_timeout"):
            list(client.chat.completions.create(model="sim-model", messages=MESSAGES, stream=True))
        assert time.perf_counter() - started < 2.5
        gw.flush()
        span = otlp.wait_for_spans(lambda s: A.ERROR_TYPE in s.attributes)[0]
        assert span.attributes[A.ERROR_TYPE] == "idle_timeout"
        assert span.attributes[A.LLMOBS_ATTEMPTS] == 1


def test_a_stream_cut_at_shutdown_still_exports_its_span(otlp: OtlpReceiver) -> None:
    with serve_app(simulator(ttft_s=0.01, itl_s=0.05)) as sim:
        got: list[str] = []
        started = threading.Event()

        def client(url: str) -> None:
            body = {"model": "sim-model", "messages": MESSAGES, "stream": True}
            headers = {"x-sim-output-tokens": "400"}
            try:
                with (
                    httpx.Client(timeout=10) as http,
                    http.stream("POST", url, json=body, headers=headers) as response,
                ):
                    for line in response.iter_lines():
                        got.append(line)
                        if len(got) >= 3:
                            started.set()
            except httpx.HTTPError:
                pass  # the gateway cut the stream: expected
            started.set()

        with run_gateway(
            one_upstream(sim), otlp.url, forward_header_prefixes=("x-sim-",), shutdown_grace_s=0.2
        ) as gw:
            reader = threading.Thread(target=client, args=(gw.url + "/v1/chat/completions",))
            reader.start()
            assert started.wait(10)
        reader.join(10)
        assert not reader.is_alive()
        # The gateway stopped (telemetry flushed on the way out): the cut stream's span is there.
        spans = otlp.wait_for_spans(lambda s: True, timeout=2)
        assert len(spans) == 1
        assert spans[0].attributes[A.LLMOBS_ABANDONED] is True


def _stalls_mid_event() -> Starlette:
    """An upstream that sends one whole chunk, then half of the next, then nothing."""

    async def chat(request: StarletteRequest) -> StreamingResponse:
        async def events() -> AsyncIterator[bytes]:
            yield (
                b'data: {"id":"c1","object":"chat.completion.chunk","model":"sim-model",'
                b'"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
            )
            yield b'data: {"id":"c1","object":"chat.completion.chunk","choi'
            await asyncio.sleep(30)

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


def test_an_upstream_cut_mid_event_still_tells_the_sdk_in_band() -> None:
    # The half event is not valid JSON: glued in front of the error event, the SDK would fail
    # to parse the line and never see the error (a JSONDecodeError instead of an APIError).
    with (
        serve_app(_stalls_mid_event()) as upstream,
        run_gateway(one_upstream(upstream, idle_timeout_s=0.3)) as gw,
    ):
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0)
        texts = []
        stream = client.chat.completions.create(model="sim-model", messages=MESSAGES, stream=True)
        with pytest.raises(openai.APIError, match="idle_timeout"):  # noqa: PT012 - mid-stream
            for chunk in stream:
                texts.append(chunk.choices[0].delta.content)
        assert texts == ["Hi"]
