"""Response and chunk shapes parse with the real openai SDK, and the content follows the request."""

import asyncio
import base64
import json
import math
import struct

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionChunk

FAST = "fast"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "days", "unit"],
        },
    },
}
OTHER_TOOL = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
}


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_chat_completion_parses_and_counts_tokens(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(model=FAST, messages=_user("hello wonderful world"))
    assert result.object == "chat.completion"
    assert result.id.startswith("chatcmpl-")
    assert result.model == FAST
    assert result.created > 0
    choice = result.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content
    assert result.usage is not None
    # "hello" 2 + "wonderful" 3 + "world" 2 by the 4-characters-per-token heuristic.
    assert result.usage.prompt_tokens == 7
    assert result.usage.completion_tokens == 8  # the profile's default_output_tokens
    assert len(choice.message.content.split()) == 8
    assert result.usage.total_tokens == 15


def test_content_is_deterministic_per_prompt(client: openai.OpenAI) -> None:
    def answer(text: str) -> str | None:
        return (
            client.chat.completions.create(model=FAST, messages=_user(text))
            .choices[0]
            .message.content
        )

    assert answer("same prompt") == answer("same prompt")
    assert answer("same prompt") != answer("another prompt entirely")


def test_stream_chunks_role_content_finish_and_done(client: openai.OpenAI, sim_url: str) -> None:
    chunks = list(
        client.chat.completions.create(model=FAST, messages=_user("stream it"), stream=True)
    )
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert len(text.split()) == 8
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert all(c.usage is None for c in chunks)
    # The raw wire format: SSE data lines ending with [DONE].
    body = {"model": FAST, "messages": _user("stream it"), "stream": True}
    raw = httpx.post(sim_url + "/v1/chat/completions", json=body, timeout=10)
    assert raw.headers["content-type"].startswith("text/event-stream")
    events = [e for e in raw.text.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    streamed = "".join(
        json.loads(e[6:])["choices"][0]["delta"].get("content") or "" for e in events[:-1]
    )
    assert streamed == text  # deterministic: the same prompt streams the same text


def test_include_usage_adds_a_final_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model=FAST,
            messages=_user("count me"),
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=5,
        )
    )
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    # "count" 2 + "me" 1 prompt tokens.
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (3, 5)
    assert last.usage.total_tokens == 8
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-2].choices[0].finish_reason == "length"


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_output_limit_cuts_with_finish_length(client: openai.OpenAI, field: str) -> None:
    result = client.chat.completions.create(
        model=FAST,
        messages=_user("long"),
        **{field: 3},  # type: ignore[call-overload]
    )
    assert result.choices[0].finish_reason == "length"
    assert result.usage is not None
    assert result.usage.completion_tokens == 3


def test_output_tokens_header_sets_exact_length(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model=FAST, messages=_user("x"), extra_headers={"x-sim-output-tokens": "13"}
    )
    assert result.usage is not None
    assert result.usage.completion_tokens == 13
    assert result.choices[0].finish_reason == "stop"


def test_completions_stream_and_not(client: openai.OpenAI) -> None:
    whole = client.completions.create(model=FAST, prompt="once upon a time")
    assert whole.object == "text_completion"
    assert whole.id.startswith("cmpl-")
    assert whole.choices[0].finish_reason == "stop"
    chunks = list(
        client.completions.create(
            model=FAST,
            prompt="once upon a time",
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == whole.choices[0].text
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 8


def test_tool_call_non_streaming(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model=FAST, messages=_user("weather in Paris?"), tools=[WEATHER_TOOL, OTHER_TOOL]
    )
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    args = json.loads(call.function.arguments)
    assert isinstance(args["city"], str)
    assert isinstance(args["days"], int)
    assert args["unit"] == "celsius"


def test_tool_call_streams_as_deltas_that_reassemble(client: openai.OpenAI) -> None:
    messages = _user("weather in Paris?")
    whole = client.chat.completions.create(model=FAST, messages=messages, tools=[WEATHER_TOOL])
    assert whole.choices[0].message.tool_calls is not None
    expected = whole.choices[0].message.tool_calls[0].function.arguments
    chunks = list(
        client.chat.completions.create(
            model=FAST, messages=messages, tools=[WEATHER_TOOL], stream=True
        )
    )
    first = chunks[0].choices[0].delta
    assert first.tool_calls is not None
    assert first.tool_calls[0].id
    assert first.tool_calls[0].function is not None
    assert first.tool_calls[0].function.name == "get_weather"
    pieces = [
        tc.function.arguments or ""
        for c in chunks
        if c.choices and c.choices[0].delta.tool_calls
        for tc in c.choices[0].delta.tool_calls
        if tc.function is not None
    ]
    assert len(pieces) > 2  # streamed in several deltas, not one
    assert "".join(pieces) == expected
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_named_tool_choice_picks_that_tool(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model=FAST,
        messages=_user("look it up"),
        tools=[WEATHER_TOOL, OTHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "lookup"}},
    )
    calls = result.choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].function.name == "lookup"
    assert calls[0].function.arguments == "{}"


@pytest.mark.parametrize("after_tool_result", [True, False])
def test_text_answer_after_tool_result_or_tool_choice_none(
    client: openai.OpenAI, after_tool_result: bool
) -> None:
    messages: list[dict[str, object]] = [{"role": "user", "content": "weather in Paris?"}]
    if after_tool_result:
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": "{}"},
        }
        messages += [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21 C"},
        ]
    result = client.chat.completions.create(
        model=FAST,
        messages=messages,  # type: ignore[arg-type]
        tools=[WEATHER_TOOL],
        tool_choice="auto" if after_tool_result else "none",
    )
    assert result.choices[0].finish_reason == "stop"
    assert result.choices[0].message.tool_calls is None
    assert result.choices[0].message.content


def test_embeddings_deterministic_unit_vectors(client: openai.OpenAI) -> None:
    first = client.embeddings.create(model=FAST, input=["alpha beta", "gamma"])
    again = client.embeddings.create(model=FAST, input="alpha beta", encoding_format="float")
    assert first.object == "list"
    assert [d.index for d in first.data] == [0, 1]
    assert len(first.data[0].embedding) == 384
    assert first.data[0].embedding == again.data[0].embedding
    assert first.data[0].embedding != first.data[1].embedding
    assert math.isclose(math.fsum(v * v for v in first.data[1].embedding), 1.0, rel_tol=1e-6)
    assert first.usage.prompt_tokens == 5  # "alpha" 2 + "beta" 1 + "gamma" 2
    small = client.embeddings.create(model=FAST, input="alpha beta", dimensions=8)
    assert len(small.data[0].embedding) == 8


def test_embeddings_base64_matches_floats(sim_url: str) -> None:
    body = {"model": FAST, "input": "alpha beta", "encoding_format": "base64"}
    encoded = httpx.post(sim_url + "/v1/embeddings", json=body, timeout=10).json()
    floats = httpx.post(
        sim_url + "/v1/embeddings", json={**body, "encoding_format": "float"}, timeout=10
    ).json()
    raw = base64.b64decode(encoded["data"][0]["embedding"])
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    expected = floats["data"][0]["embedding"]
    assert len(decoded) == len(expected)
    assert all(
        math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7)
        for a, b in zip(decoded, expected, strict=True)
    )


def test_models_lists_configured_models(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["fast", "timed"]


def test_bad_requests_are_openai_shaped_4xx(client: openai.OpenAI, sim_url: str) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="no-such-model", messages=_user("x"))
    assert "no-such-model" in missing.value.message
    with pytest.raises(openai.BadRequestError) as multi:
        client.chat.completions.create(model=FAST, messages=_user("x"), n=2)
    assert "n" in str(multi.value.body)
    garbage = httpx.post(
        sim_url + "/v1/chat/completions",
        content=b"{not json",
        timeout=10,
        headers={"content-type": "application/json"},
    )
    assert garbage.status_code == 400
    assert garbage.json()["error"]["type"] == "invalid_request_error"
    no_messages = httpx.post(
        sim_url + "/v1/chat/completions", json={"model": FAST, "messages": []}, timeout=10
    )
    assert no_messages.status_code == 400
    assert no_messages.json()["error"]["param"] == "messages"


def test_async_client_streaming_and_not(sim_url: str) -> None:
    async def run() -> tuple[str | None, str, list[str]]:
        async with openai.AsyncOpenAI(
            base_url=sim_url + "/v1", api_key="test", max_retries=0
        ) as sdk:
            whole = await sdk.chat.completions.create(model=FAST, messages=_user("async hello"))
            stream = await sdk.chat.completions.create(
                model=FAST, messages=_user("async hello"), stream=True
            )
            streamed = "".join([c.choices[0].delta.content or "" async for c in stream])
            tool_stream = await sdk.chat.completions.create(
                model=FAST, messages=_user("weather?"), tools=[WEATHER_TOOL], stream=True
            )
            names = [
                tc.function.name
                async for c in tool_stream
                if c.choices and c.choices[0].delta.tool_calls
                for tc in c.choices[0].delta.tool_calls
                if tc.function is not None and tc.function.name
            ]
            return whole.choices[0].message.content, streamed, names

    whole, streamed, names = asyncio.run(run())
    assert whole == streamed
    assert names == ["get_weather"]
