"""Limits and caller keys over HTTP: 429 with Retry-After and an OpenAI-shaped body, 401."""

import hashlib

import httpx
import openai
import pytest

from .conftest import one_upstream, run_gateway

MESSAGES = [{"role": "user", "content": "hi"}]


def test_requests_per_minute_per_key_answer_429_with_retry_after(sim_url: str) -> None:
    config = one_upstream(sim_url) | {"limits": [{"scope": "key", "rpm": 2}]}
    with run_gateway(config) as gw:
        alice = openai.OpenAI(base_url=gw.url + "/v1", api_key="alice-key", max_retries=0)
        bob = openai.OpenAI(base_url=gw.url + "/v1", api_key="bob-key", max_retries=0)
        alice.chat.completions.create(model="sim-model", messages=MESSAGES)
        alice.chat.completions.create(model="sim-model", messages=MESSAGES)
        with pytest.raises(openai.RateLimitError) as err:
            alice.chat.completions.create(model="sim-model", messages=MESSAGES)
        retry_after = int(err.value.response.headers["retry-after"])
        assert 1 <= retry_after <= 30
        assert err.value.code == "rate_limit_exceeded"
        assert "key rpm limit of 2" in err.value.message
        bob.chat.completions.create(model="sim-model", messages=MESSAGES)  # its own budget
        assert (
            'llmobs_gateway_rate_limited_total{model="sim-model"} 1.0'
            in httpx.get(gw.url + "/metrics").text
        )


def test_tokens_per_minute_per_model_count_the_tokens_of_responses(sim_url: str) -> None:
    config = one_upstream(sim_url) | {"limits": [{"scope": "model", "tpm": 30}]}
    with run_gateway(config, forward_header_prefixes=("x-sim-",)) as gw:
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0)
        first = client.chat.completions.create(
            model="sim-model", messages=MESSAGES, extra_headers={"x-sim-output-tokens": "40"}
        )
        assert first.usage is not None
        assert first.usage.total_tokens > 30
        with pytest.raises(openai.RateLimitError) as err:
            client.chat.completions.create(model="sim-model", messages=MESSAGES)
        assert "model tpm limit of 30" in err.value.message


def test_configured_caller_keys_are_enforced(sim_url: str) -> None:
    digest = hashlib.sha256(b"good-key").hexdigest()
    with run_gateway(one_upstream(sim_url) | {"api_keys": [digest]}) as gw:
        good = openai.OpenAI(base_url=gw.url + "/v1", api_key="good-key", max_retries=0)
        assert good.chat.completions.create(model="sim-model", messages=MESSAGES).choices
        bad = openai.OpenAI(base_url=gw.url + "/v1", api_key="bad-key", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as err:
            bad.chat.completions.create(model="sim-model", messages=MESSAGES)
        assert err.value.code == "invalid_api_key"
