"""Failover across dead, failing and slow upstreams; breakers; no retry after the first byte."""

import socket

import httpx
import openai
import pytest

from llmobs_semconv import attributes as A
from llmobs_testing.servers import serve_app

from .conftest import OtlpReceiver, run_gateway, simulator

MESSAGES = [{"role": "user", "content": "hello"}]


def _dead_url() -> str:
    """A port nothing listens on (bound then closed: connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _config(urls: dict[str, str], **route: object) -> dict[str, object]:
    return {
        "upstreams": [
            {"name": name, "base_url": url + "/v1", "first_byte_timeout_s": 0.5}
            for name, url in urls.items()
        ],
        "routes": [{"model": "sim-model", "upstreams": list(urls), **route}],
    }


@pytest.fixture
def failing_url() -> str:
    with serve_app(simulator(error_rate=1.0, error_status=503)) as url:
        yield url  # type: ignore[misc]


@pytest.fixture
def slow_url() -> str:
    with serve_app(simulator(ttft_s=5.0)) as url:
        yield url  # type: ignore[misc]


def test_a_dead_a_failing_and_a_slow_upstream_are_skipped_for_a_good_one(
    failing_url: str, slow_url: str, sim_url: str, otlp: OtlpReceiver
) -> None:
    urls = {"dead": _dead_url(), "failing": failing_url, "slow": slow_url, "good": sim_url}
    with run_gateway(_config(urls), otlp.url, max_attempts=4) as gw:
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0)
        response = client.chat.completions.with_raw_response.create(
            model="sim-model", messages=MESSAGES
        )
        assert response.headers["x-llmobs-upstream"] == "good"
        assert response.parse().choices[0].message.content
        gw.flush()
        span = otlp.wait_for_spans(lambda s: s.attributes.get(A.LLMOBS_UPSTREAM) == "good")[0]
        assert span.attributes[A.LLMOBS_ATTEMPTS] == 4
        assert span.status_code == 0  # unset: the request succeeded
        metrics = httpx.get(gw.url + "/metrics").text
        for name, reason in (("dead", "connect_error"), ("failing", "503"), ("slow", "timeout")):
            line = f'llmobs_gateway_upstream_failures_total{{reason="{reason}",upstream="{name}"}}'
            assert f"{line} 1.0" in metrics


def test_an_open_circuit_keeps_the_dead_upstream_out(sim_url: str, otlp: OtlpReceiver) -> None:
    urls = {"dead": _dead_url(), "good": sim_url}
    with run_gateway(_config(urls), otlp.url, breaker_failures=2) as gw:
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0)
        for _ in range(4):
            client.chat.completions.create(model="sim-model", messages=MESSAGES)
        gw.flush()
        spans = otlp.wait_for_spans(lambda s: s.attributes.get(A.LLMOBS_UPSTREAM) == "good", 4)
        assert sorted(s.attributes[A.LLMOBS_ATTEMPTS] for s in spans) == [1, 1, 2, 2]
        metrics = httpx.get(gw.url + "/metrics").text
        assert 'llmobs_gateway_upstream_up{upstream="dead"} 0.0' in metrics
        assert httpx.get(gw.url + "/readyz").status_code == 200


def test_when_every_upstream_fails_the_last_error_body_passes_through(
    failing_url: str,
) -> None:
    urls = {"dead": _dead_url(), "failing": failing_url}
    with run_gateway(_config(urls)) as gw:
        body = {"model": "sim-model", "messages": MESSAGES}
        direct = httpx.post(failing_url + "/v1/chat/completions", json=body)
        via = httpx.post(gw.url + "/v1/chat/completions", json=body)
        assert via.status_code == 503
        assert via.content == direct.content


def test_when_nothing_answers_the_client_gets_an_openai_shaped_502() -> None:
    with run_gateway(_config({"a": _dead_url(), "b": _dead_url()})) as gw:
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0)
        with pytest.raises(openai.APIStatusError) as err:
            client.chat.completions.create(model="sim-model", messages=MESSAGES)
        assert err.value.status_code == 502
        assert "unreachable" in err.value.message


def test_the_total_deadline_bounds_all_attempts(slow_url: str) -> None:
    config = _config({"slow1": slow_url, "slow2": slow_url})
    for upstream in config["upstreams"]:  # type: ignore[attr-defined]
        upstream["first_byte_timeout_s"] = 10
    with run_gateway(config, request_deadline_s=0.6) as gw:
        response = httpx.post(
            gw.url + "/v1/chat/completions",
            json={"model": "sim-model", "messages": MESSAGES},
            timeout=10,
        )
        assert response.status_code == 504
        assert response.elapsed.total_seconds() < 3
        assert response.json()["error"]["code"] == "timeout"


def test_no_retry_once_the_first_byte_reached_the_client(sim_url: str, otlp: OtlpReceiver) -> None:
    other = {"dead-end": sim_url, "never-used": sim_url}
    with run_gateway(_config(other), otlp.url, forward_header_prefixes=("x-sim-",)) as gw:
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0)
        received = []
        stream = client.chat.completions.create(
            model="sim-model",
            messages=MESSAGES,
            stream=True,
            extra_headers={"x-sim-fail-after": "3", "x-sim-output-tokens": "20"},
        )

        def consume() -> None:
            received.extend(stream)

        with pytest.raises(openai.APIError, match="stream failed"):
            consume()
        assert 1 <= len(received) <= 4
        gw.flush()
        span = otlp.wait_for_spans(lambda s: A.ERROR_TYPE in s.attributes)[0]
        assert span.attributes[A.ERROR_TYPE] == "upstream_broken"
        assert span.attributes[A.LLMOBS_ATTEMPTS] == 1
        assert span.attributes[A.LLMOBS_UPSTREAM] == "dead-end"
        assert span.status_code == 2  # ERROR
