"""Failure injection (headers and rates) and the passive traceparent record."""

import logging
import time

import httpx
import openai
import pytest

from llmobs_testing.servers import serve_app
from llmobs_testing.simulator import ModelProfile, SimulatorSettings, create_app

FAST = "fast"
MESSAGES = [{"role": "user", "content": "hello"}]
USAGE_KEYS = {"prompt_tokens", "completion_tokens", "total_tokens"}


@pytest.mark.parametrize("status", [429, 500, 503])
def test_fail_header_answers_that_status_with_an_openai_error(
    client: openai.OpenAI, status: int
) -> None:
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(
            model=FAST, messages=MESSAGES, extra_headers={"x-sim-fail": str(status)}
        )
    assert raised.value.status_code == status
    body = raised.value.body
    assert isinstance(body, dict)
    assert set(body) >= {"message", "type", "code"}
    assert "x-sim-fail" in body["message"]


def test_fail_header_on_a_stream_fails_before_the_first_byte(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model=FAST, messages=MESSAGES, stream=True, extra_headers={"x-sim-fail": "502"}
        )


def test_fail_after_breaks_the_stream_after_n_tokens(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=FAST, messages=MESSAGES, stream=True, extra_headers={"x-sim-fail-after": "3"}
    )
    tokens: list[str] = []

    def consume() -> None:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                tokens.append(chunk.choices[0].delta.content)

    with pytest.raises((openai.APIConnectionError, httpx.RemoteProtocolError)):
        consume()
    assert len(tokens) == 3


def test_fail_after_without_streaming_is_a_500(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(
            model=FAST, messages=MESSAGES, extra_headers={"x-sim-fail-after": "2"}
        )
    assert "x-sim-fail-after" in raised.value.message


def test_cut_streams_leave_no_error_in_the_server_log(
    client: openai.OpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for _ in range(2):
        stream = client.completions.create(
            model=FAST, prompt="x", stream=True, extra_headers={"x-sim-fail-after": "1"}
        )
        with pytest.raises((openai.APIConnectionError, httpx.RemoteProtocolError)):
            list(stream)
    # A normal request after the cuts: the server is fine, and its log holds no traceback.
    assert client.completions.create(model=FAST, prompt="x").choices[0].text
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_bad_control_header_is_a_400_naming_it(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model=FAST, messages=MESSAGES, extra_headers={"x-sim-fail": "200"}
        )
    assert "x-sim-fail" in raised.value.message


def test_error_rate_and_mid_stream_failure_rate() -> None:
    settings = SimulatorSettings(
        models=[ModelProfile(name="m", ttft_s=0, itl_s=0)],
        error_rate=0.5,
        error_status=529,
        mid_stream_failure_rate=1.0,
        seed=3,
    )
    with (
        serve_app(create_app(settings)) as url,
        openai.OpenAI(base_url=url + "/v1", api_key="t", max_retries=0) as sdk,
    ):
        outcomes: list[str] = []
        statuses: set[int] = set()
        for _ in range(20):
            try:
                for _chunk in sdk.chat.completions.create(
                    model="m", messages=MESSAGES, stream=True
                ):
                    pass
                outcomes.append("ok")
            except openai.APIStatusError as exc:
                statuses.add(exc.status_code)
                outcomes.append("status")
            except openai.APIConnectionError:
                outcomes.append("cut")
    # Every stream that got past the first byte was cut; about half failed up front.
    assert statuses == {529}
    assert "ok" not in outcomes
    assert 4 <= outcomes.count("status") <= 16
    assert outcomes.count("cut") == 20 - outcomes.count("status")


def test_traceparent_and_headers_are_recorded(client: openai.OpenAI, sim_url: str) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    client.chat.completions.create(
        model=FAST, messages=MESSAGES, extra_headers={"traceparent": traceparent}
    )
    recent = httpx.get(sim_url + "/sim/requests", timeout=10).json()["requests"]
    last = recent[-1]
    assert last["traceparent"] == traceparent
    assert last["model"] == FAST
    assert last["headers"]["authorization"] == "<redacted>"  # the SDK's bearer key never echoes


def test_the_request_log_holds_arrival_time_and_the_usage_served(
    client: openai.OpenAI, sim_url: str
) -> None:
    before = time.time_ns()
    chat = client.chat.completions.create(model=FAST, messages=MESSAGES)
    stream = client.chat.completions.create(
        model=FAST, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    streamed = [c.usage for c in stream if c.usage is not None]
    embedding = client.embeddings.create(model=FAST, input=["two words", "and three more"])
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(
            model=FAST, messages=MESSAGES, extra_headers={"x-sim-fail": "500"}
        )
    recent = httpx.get(sim_url + "/sim/requests", timeout=10).json()["requests"][-4:]
    assert [r["path"] for r in recent] == [
        "/v1/chat/completions",
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/chat/completions",
    ]
    assert chat.usage is not None
    assert embedding.usage is not None
    # What the log says was served is what each client was told, call by call.
    assert recent[0]["usage"] == chat.usage.model_dump(exclude_none=True, include=USAGE_KEYS)
    assert recent[1]["usage"] == streamed[0].model_dump(exclude_none=True, include=USAGE_KEYS)
    assert recent[2]["usage"] == {
        "prompt_tokens": embedding.usage.prompt_tokens,
        "completion_tokens": 0,
        "total_tokens": embedding.usage.total_tokens,
    }
    assert recent[3]["usage"] is None  # refused before anything was served
    times = [r["time_unix_nano"] for r in recent]
    assert before <= times[0] <= times[1] <= times[2] <= times[3] <= time.time_ns()
