"""Chat completions through the real openai SDK over real HTTP to the simulator."""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any

import openai
import pytest

import llmobs_probe
from llmobs_semconv import attributes as A
from llmobs_semconv import metrics as M
from llmobs_semconv.pricing import PriceTable


def quiet_collect() -> None:
    """A full collection; sockets other tests' clients left open are not this test's business."""
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say something about latency."}]


def client(sim_url: str, **kw: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=sim_url + "/v1", api_key="test-key", max_retries=0, **kw)


def sim_requests(sim_url: str, marker: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(sim_url + "/sim/requests", timeout=5) as resp:
        rows = json.loads(resp.read())["requests"]
    return [r for r in rows if r["headers"].get("x-test-id") == marker]


def spans(received: Any) -> list[dict[str, Any]]:
    return list(received.llm_spans())


def one_span(received: Any) -> dict[str, Any]:
    received.wait(lambda r: len(r.llm_spans()) >= 1)
    spans = received.llm_spans()
    assert len(spans) == 1, [s["name"] for s in spans]
    return spans[0]


def test_non_streaming_call_records_usage_cost_and_metrics(sim_url: str, traced: Any) -> None:
    probe, received = traced
    result = client(sim_url).chat.completions.create(
        model=MODEL, messages=MESSAGES, temperature=0.2
    )
    probe.flush()
    span = one_span(received)
    a = span["attributes"]
    assert span["name"] == f"chat {MODEL}"
    assert span["kind"] == 3  # CLIENT
    assert a[A.GEN_AI_OPERATION_NAME] == "chat"
    assert a[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert a[A.GEN_AI_REQUEST_MODEL] == MODEL
    assert a[A.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert a[A.GEN_AI_RESPONSE_ID] == result.id
    assert a[A.GEN_AI_RESPONSE_FINISH_REASONS] == (result.choices[0].finish_reason,)
    assert result.usage is not None
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == result.usage.prompt_tokens
    assert a[A.GEN_AI_USAGE_OUTPUT_TOKENS] == result.usage.completion_tokens
    assert A.LLMOBS_USAGE_ESTIMATED not in a
    assert a[A.SERVER_ADDRESS] == "127.0.0.1"
    cost = PriceTable().cost(MODEL, result.usage.prompt_tokens, result.usage.completion_tokens)
    assert cost is not None
    assert a[A.LLMOBS_COST_USD] == pytest.approx(cost.total_usd)
    assert span["resource"][A.SERVICE_NAME] == "probe-test"
    # Metrics: duration and tokens (input and output separately), with the conventions' buckets.
    received.wait(lambda r: bool(r.metric_points(M.CLIENT_TOKEN_USAGE)))
    duration = received.metric_points(M.CLIENT_OPERATION_DURATION)
    assert duration[-1]["count"] >= 1
    assert duration[-1]["bounds"] == M.DURATION_BUCKETS
    assert duration[-1]["attributes"][A.GEN_AI_REQUEST_MODEL] == MODEL
    tokens = {
        p["attributes"][A.GEN_AI_TOKEN_TYPE]: p
        for p in received.metric_points(M.CLIENT_TOKEN_USAGE)
    }
    assert tokens["input"]["sum"] == result.usage.prompt_tokens
    assert tokens["output"]["sum"] == result.usage.completion_tokens
    assert tokens["output"]["bounds"] == M.TOKEN_USAGE_BUCKETS


def test_stream_records_ttft_tpot_gaps_and_estimates_usage(sim_url: str, traced: Any) -> None:
    probe, received = traced
    stream = client(sim_url).chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, extra_headers={"x-sim-output-tokens": "12"}
    )
    assert isinstance(stream, openai.Stream)  # the user keeps the SDK's type
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    probe.flush()
    a = one_span(received)["attributes"]
    assert text
    assert a[A.GEN_AI_REQUEST_STREAM] is True
    assert a[A.LLMOBS_CHUNK_COUNT] == 12
    assert a[A.LLMOBS_TTFT] >= 0.03  # the simulator's time to first token
    assert a[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] == a[A.LLMOBS_TTFT]
    assert 0 < a[A.LLMOBS_TPOT] < 1
    assert a[A.LLMOBS_TBT_MAX] >= a[A.LLMOBS_TBT_P95] > 0
    assert a[A.LLMOBS_USAGE_ESTIMATED] is True  # no usage chunk was asked for
    assert a[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 12
    assert a[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("length",) or a[
        A.GEN_AI_RESPONSE_FINISH_REASONS
    ] == ("stop",)
    assert A.LLMOBS_ABANDONED not in a
    received.wait(lambda r: bool(r.metric_points(M.CLIENT_TIME_TO_FIRST_CHUNK)))
    ttfc = received.metric_points(M.CLIENT_TIME_TO_FIRST_CHUNK)[-1]
    assert ttfc["sum"] == pytest.approx(a[A.LLMOBS_TTFT])
    assert received.metric_points(M.CLIENT_TIME_PER_OUTPUT_CHUNK)[-1]["count"] == 1


def test_stream_with_usage_chunk_uses_reported_usage(sim_url: str, traced: Any) -> None:
    probe, received = traced
    stream = client(sim_url).chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"x-sim-output-tokens": "7"},
    )
    usage = None
    for chunk in stream:
        usage = chunk.usage or usage
    probe.flush()
    a = one_span(received)["attributes"]
    assert usage is not None
    assert a[A.GEN_AI_USAGE_OUTPUT_TOKENS] == usage.completion_tokens == 7
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == usage.prompt_tokens
    assert A.LLMOBS_USAGE_ESTIMATED not in a


@pytest.mark.parametrize("how", ["break", "close", "with"])
def test_early_exit_is_abandoned_and_ends_once(sim_url: str, traced: Any, how: str) -> None:
    probe, received = traced
    c = client(sim_url)
    kwargs: dict[str, Any] = {"model": MODEL, "messages": MESSAGES, "stream": True}
    kwargs["extra_headers"] = {"x-sim-output-tokens": "50"}
    if how == "with":
        with c.chat.completions.create(**kwargs) as stream:
            assert isinstance(stream, openai.Stream)
            for i, _ in enumerate(stream):
                if i == 2:
                    break
    else:
        stream = c.chat.completions.create(**kwargs)
        for i, _ in enumerate(stream):
            if i == 2:
                break
        if how == "close":
            stream.close()
            stream.close()  # twice: still one span
        else:
            del stream  # a plain break: the span ends when the stream is collected
            quiet_collect()
    probe.flush()
    a = one_span(received)["attributes"]
    assert a[A.LLMOBS_ABANDONED] is True
    assert 1 <= a[A.LLMOBS_CHUNK_COUNT] <= 3  # the role chunk carries no content


def test_error_before_first_byte_is_recorded_and_raised_once(sim_url: str, traced: Any) -> None:
    probe, received = traced
    marker = uuid.uuid4().hex
    with pytest.raises(openai.InternalServerError):
        client(sim_url).chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers={"x-sim-fail": "500", "x-test-id": marker}
        )
    probe.flush()
    span = one_span(received)
    assert span["status"] == 2  # ERROR
    assert span["attributes"][A.ERROR_TYPE] == "InternalServerError"
    assert span["attributes"][A.HTTP_RESPONSE_STATUS_CODE] == 500
    assert len(sim_requests(sim_url, marker)) == 1  # never retried or repeated by the probe
    received.wait(
        lambda r: any(
            p["attributes"].get(A.ERROR_TYPE) == "InternalServerError"
            for p in r.metric_points(M.CLIENT_OPERATION_DURATION)
        )
    )


def test_sdk_retries_are_counted_on_one_span(sim_url: str, traced: Any) -> None:
    probe, received = traced
    marker = uuid.uuid4().hex
    c = openai.OpenAI(base_url=sim_url + "/v1", api_key="k", max_retries=1)
    with pytest.raises(openai.InternalServerError):
        c.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            extra_headers={"x-sim-fail": "503", "x-test-id": marker, "retry-after-ms": "1"},
        )
    probe.flush()
    a = one_span(received)["attributes"]
    assert a[A.LLMOBS_RETRIES] == 1
    attempts = sim_requests(sim_url, marker)
    assert len(attempts) == 2  # exactly the SDK's own attempts
    assert len({r["traceparent"] for r in attempts}) == 1  # every attempt carries the span


def test_error_mid_stream_ends_span_with_error(sim_url: str, traced: Any) -> None:
    probe, received = traced
    stream = client(sim_url).chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, extra_headers={"x-sim-fail-after": "3"}
    )
    seen: list[Any] = []
    with pytest.raises(Exception) as info:  # noqa: PT011  # the SDK's own error type, unchanged
        seen.extend(stream)
    probe.flush()
    span = one_span(received)
    assert span["status"] == 2
    assert span["attributes"][A.ERROR_TYPE] == type(info.value).__qualname__
    assert span["attributes"][A.LLMOBS_CHUNK_COUNT] == 3
    assert span["attributes"][A.LLMOBS_CHUNK_COUNT] <= 4  # the role chunk carries no content


def test_traceparent_reaches_the_server(sim_url: str, traced: Any) -> None:
    probe, received = traced
    marker = uuid.uuid4().hex
    client(sim_url).chat.completions.create(
        model=MODEL, messages=MESSAGES, extra_headers={"x-test-id": marker}
    )
    probe.flush()
    span = one_span(received)
    (row,) = sim_requests(sim_url, marker)
    version, trace_id, parent_id, flags = row["traceparent"].split("-")
    assert (version, trace_id, parent_id) == ("00", span["trace_id"], span["span_id"])
    assert int(flags, 16) & 1 == 1  # sampled
    # A gateway on the way learns this call is recorded here (the store then counts it once).
    assert row["headers"][A.HEADER_CALLER_SPAN_ID] == span["span_id"]


def test_session_and_user_reach_spans_and_the_server(sim_url: str, traced: Any) -> None:
    probe, received = traced
    marker = uuid.uuid4().hex
    with llmobs_probe.session(session_id="sess-42", user_id="user-7"):
        client(sim_url).chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers={"x-test-id": marker}
        )
    probe.flush()
    a = one_span(received)["attributes"]
    assert a[A.SESSION_ID] == "sess-42"
    assert a[A.USER_ID] == "user-7"
    assert a[A.GEN_AI_CONVERSATION_ID] == "sess-42"
    (row,) = sim_requests(sim_url, marker)
    assert "session.id=sess-42" in row["headers"]["baggage"]
    assert "user.id=user-7" in row["headers"]["baggage"]


def test_raw_response_non_stream_and_stream(sim_url: str, traced: Any) -> None:
    probe, received = traced
    c = client(sim_url)
    raw = c.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    assert raw.headers.get("content-type", "").startswith("application/json")
    completion = raw.parse()
    raw_stream = c.chat.completions.with_raw_response.create(
        model=MODEL, messages=MESSAGES, stream=True, extra_headers={"x-sim-output-tokens": "5"}
    )
    chunks = list(raw_stream.parse())
    probe.flush()
    received.wait(lambda r: len(r.llm_spans()) >= 2)
    by_stream = {
        s["attributes"].get(A.GEN_AI_REQUEST_STREAM, False): s for s in received.llm_spans()
    }
    assert by_stream[False]["attributes"][A.GEN_AI_RESPONSE_ID] == completion.id
    assert by_stream[True]["attributes"][A.LLMOBS_CHUNK_COUNT] == 5
    assert chunks


def test_tool_calls_streamed_and_not(sim_url: str, traced: Any) -> None:
    probe, received = traced
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    c = client(sim_url)
    result = c.chat.completions.create(model=MODEL, messages=MESSAGES, tools=tools)
    assert result.choices[0].message.tool_calls
    stream = c.chat.completions.create(model=MODEL, messages=MESSAGES, tools=tools, stream=True)
    deltas = [ch for ch in stream if ch.choices and ch.choices[0].delta.tool_calls]
    probe.flush()
    received.wait(lambda r: len(r.llm_spans()) >= 2)
    spans = {s["attributes"].get(A.GEN_AI_REQUEST_STREAM, False): s for s in received.llm_spans()}
    assert spans[False]["attributes"][A.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    streamed = spans[True]["attributes"]
    assert streamed[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    assert streamed[A.LLMOBS_CHUNK_COUNT] == len(deltas) >= 1
    assert streamed[A.LLMOBS_TTFT] > 0
