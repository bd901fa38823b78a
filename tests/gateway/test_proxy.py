"""The real openai SDK through the gateway to the simulator: answers, spans, metrics, content."""

import asyncio
import hashlib
import json

import httpx
import openai
import pytest

from llmobs_semconv import attributes as A
from llmobs_semconv import chunks

from .conftest import Gateway, OtlpReceiver, one_upstream, run_gateway

MESSAGES = [{"role": "user", "content": "Tell me about telemetry."}]
SIM_HEADERS = {"x-sim-output-tokens": "6"}


@pytest.fixture
def gateway(sim_url: str, otlp: OtlpReceiver) -> Gateway:
    with run_gateway(
        one_upstream(sim_url, model="gpt-4o-mini"),
        otlp.url,
        forward_header_prefixes=("x-sim-",),
    ) as gw:
        yield gw  # type: ignore[misc]


def _client(url: str, key: str = "sk-test-caller-key-0123456789") -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0)


def _span(otlp: OtlpReceiver, gw: Gateway, response_id: str) -> dict[str, object]:
    gw.flush()
    found = otlp.wait_for_spans(lambda s: s.attributes.get(A.GEN_AI_RESPONSE_ID) == response_id)
    assert len(found) == 1, f"no gateway span for {response_id}"
    return found[0].attributes


def test_sync_chat_gives_the_upstream_answer_and_one_span_with_tokens_and_cost(
    gateway: Gateway, sim_url: str, otlp: OtlpReceiver
) -> None:
    direct = _client(sim_url).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, extra_headers=SIM_HEADERS
    )
    via = _client(gateway.url).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, extra_headers=SIM_HEADERS
    )
    assert via.choices[0].message.content == direct.choices[0].message.content
    assert via.usage is not None
    assert via.usage.completion_tokens == 6
    attrs = _span(otlp, gateway, via.id)
    assert attrs[A.GEN_AI_OPERATION_NAME] == "chat"
    assert attrs[A.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert attrs[A.LLMOBS_LAYER] == "gateway"
    assert attrs[A.LLMOBS_UPSTREAM] == "sim"
    assert attrs[A.LLMOBS_ATTEMPTS] == 1
    assert attrs[A.HTTP_RESPONSE_STATUS_CODE] == 200
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == via.usage.prompt_tokens
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 6
    expected = (via.usage.prompt_tokens * 0.15 + 6 * 0.60) / 1e6
    assert attrs[A.LLMOBS_COST_USD] == pytest.approx(expected)
    assert attrs[A.LLMOBS_TTFT] > 0
    key_hash = hashlib.sha256(b"sk-test-caller-key-0123456789").hexdigest()[:16]
    assert attrs[A.LLMOBS_API_KEY_HASH] == key_hash
    assert not any("sk-test-caller" in str(v) for v in attrs.values())


def test_a_streaming_client_that_did_not_ask_for_usage_never_sees_it_but_the_span_has_it(
    gateway: Gateway, sim_url: str, otlp: OtlpReceiver
) -> None:
    direct = list(
        _client(sim_url).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=SIM_HEADERS
        )
    )
    via = list(
        _client(gateway.url).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=SIM_HEADERS
        )
    )
    assert all(c.usage is None for c in via)
    assert all(c.choices for c in via)
    text = "".join(c.choices[0].delta.content or "" for c in via)
    assert text == "".join(c.choices[0].delta.content or "" for c in direct if c.choices)
    attrs = _span(otlp, gateway, via[0].id)
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 6
    assert attrs[A.GEN_AI_REQUEST_STREAM] is True
    assert attrs[A.LLMOBS_CHUNK_COUNT] == 6
    assert attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] == ["length"] or attrs[
        A.GEN_AI_RESPONSE_FINISH_REASONS
    ] == ["stop"]
    assert 0 < attrs[A.LLMOBS_TTFT] < attrs[A.LLMOBS_TTFT] + attrs[A.LLMOBS_TPOT] * 5
    assert attrs[A.LLMOBS_TBT_MAX] >= attrs[A.LLMOBS_TBT_P95] > 0


def test_a_stream_with_stream_options_null_still_gets_usage_recorded(
    gateway: Gateway, otlp: OtlpReceiver
) -> None:
    # "stream_options": null in the client's JSON must not override the member the gateway adds
    # (a JSON parser keeps the last of duplicate keys): the span would lose its tokens and cost.
    body = b'{"model":"gpt-4o-mini","stream":true,"stream_options":null,"messages":%s}' % (
        json.dumps(MESSAGES).encode()
    )
    headers = {"content-type": "application/json", "authorization": "Bearer k", **SIM_HEADERS}
    response = httpx.post(gateway.url + "/v1/chat/completions", content=body, headers=headers)
    assert response.status_code == 200
    events = [ln[6:] for ln in response.text.splitlines() if ln.startswith("data: {")]
    assert events
    assert all('"usage":{' not in e for e in events)  # the client did not ask
    response_id = json.loads(events[0])["id"]
    assert _span(otlp, gateway, response_id)[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 6


def test_a_streaming_client_that_asked_for_usage_gets_it(gateway: Gateway) -> None:
    chunks_seen = list(
        _client(gateway.url).chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers=SIM_HEADERS,
        )
    )
    usage = [c.usage for c in chunks_seen if c.usage is not None]
    assert len(usage) == 1
    assert usage[0].completion_tokens == 6


def test_async_sdk_streaming_and_not(gateway: Gateway, otlp: OtlpReceiver) -> None:
    async def run() -> tuple[str, str]:
        client = openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0)
        try:
            whole = await client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, extra_headers=SIM_HEADERS
            )
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=SIM_HEADERS
            )
            pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
            return whole.choices[0].message.content or "", "".join(pieces)
        finally:
            await client.close()

    whole, streamed = asyncio.run(run())
    assert whole
    assert whole == streamed
    gateway.flush()
    spans = otlp.wait_for_spans(lambda s: s.attributes.get(A.LLMOBS_UPSTREAM) == "sim", count=2)
    assert sorted(s.attributes[A.GEN_AI_REQUEST_STREAM] for s in spans) == [False, True]


def test_completions_and_embeddings_are_proxied(gateway: Gateway, otlp: OtlpReceiver) -> None:
    client = _client(gateway.url)
    completion = client.completions.create(
        model="gpt-4o-mini", prompt="Say hi", max_tokens=4, stream=False
    )
    assert completion.choices[0].text
    streamed = list(client.completions.create(model="gpt-4o-mini", prompt="Say hi", stream=True))
    assert all(c.choices for c in streamed)
    emb = client.embeddings.create(model="gpt-4o-mini", input=["a", "b"])
    assert len(emb.data) == 2
    gateway.flush()
    ops = otlp.wait_for_spans(lambda s: s.attributes.get(A.LLMOBS_UPSTREAM) == "sim", count=3)
    assert sorted(s.attributes[A.GEN_AI_OPERATION_NAME] for s in ops) == [
        "embeddings",
        "text_completion",
        "text_completion",
    ]
    text_spans = [s for s in ops if s.attributes[A.GEN_AI_OPERATION_NAME] == "text_completion"]
    assert all(s.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS] > 0 for s in text_spans)
    assert (
        next(s for s in ops if s.name.startswith("embeddings")).attributes[
            A.GEN_AI_USAGE_INPUT_TOKENS
        ]
        > 0
    )


def test_trace_context_is_continued_and_forwarded_upstream(
    gateway: Gateway, sim_url: str, otlp: OtlpReceiver
) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    parent = "00f067aa0ba902b7"
    response = _client(gateway.url).chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        extra_headers={
            "traceparent": f"00-{trace_id}-{parent}-01",
            "baggage": "session.id=sess-42,user.id=alice%40example",
        },
    )
    gateway.flush()
    span = otlp.wait_for_spans(lambda s: s.attributes.get(A.GEN_AI_RESPONSE_ID) == response.id)[0]
    assert span.trace_id == trace_id
    assert span.parent_span_id == parent
    assert span.attributes[A.SESSION_ID] == "sess-42"
    assert span.attributes[A.GEN_AI_CONVERSATION_ID] == "sess-42"
    assert span.attributes[A.USER_ID] == "alice@example"
    assert span.resource[A.SERVICE_NAME] == "llmobs-gateway"
    seen = httpx.get(sim_url + "/sim/requests").json()["requests"]
    forwarded = [r.get("traceparent") for r in seen if trace_id in (r.get("traceparent") or "")]
    assert forwarded == [f"00-{trace_id}-{span.span_id}-01"]


def test_a_request_without_trace_context_starts_a_trace_and_headers_name_the_session(
    gateway: Gateway, otlp: OtlpReceiver
) -> None:
    response = _client(gateway.url).chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        extra_headers={"x-llmobs-session-id": "s-1", "x-llmobs-user-id": "u-1"},
    )
    gateway.flush()
    span = otlp.wait_for_spans(lambda s: s.attributes.get(A.GEN_AI_RESPONSE_ID) == response.id)[0]
    assert span.parent_span_id == ""
    assert len(span.trace_id) == 32
    assert span.attributes[A.SESSION_ID] == "s-1"
    assert span.attributes[A.USER_ID] == "u-1"
    assert A.LLMOBS_CALLER_SPAN_ID not in span.attributes


@pytest.mark.parametrize(
    ("header", "recorded"),
    [("00F067AA0BA902B7", "00f067aa0ba902b7"), ("not-a-span-id", None), ("0" * 16, None)],
)
def test_the_probes_caller_span_id_is_recorded_when_well_formed(
    gateway: Gateway, otlp: OtlpReceiver, header: str, recorded: str | None
) -> None:
    response = _client(gateway.url).chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        extra_headers={A.HEADER_CALLER_SPAN_ID: header},
    )
    attrs = _span(otlp, gateway, response.id)
    assert attrs.get(A.LLMOBS_CALLER_SPAN_ID) == recorded


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        # Nested past the parser's recursion limit: still the caller's mistake, not a 500.
        (b'{"model": "m", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "nested"),
        (b'{"messages": []}', 400, "provide a model"),
        (b'{"model": "no-such-model", "messages": []}', 404, "does not exist"),
        (b"", 400, "empty"),
    ],
)
def test_bad_input_is_an_openai_shaped_4xx(
    gateway: Gateway, body: bytes, status: int, fragment: str
) -> None:
    response = httpx.post(
        gateway.url + "/v1/chat/completions",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == status
    error = response.json()["error"]
    assert fragment in error["message"]
    assert set(error) == {"message", "type", "param", "code"}


def test_a_body_over_the_limit_is_413(sim_url: str) -> None:
    with run_gateway(one_upstream(sim_url), max_body_bytes=1000) as gw:
        big = {"model": "sim-model", "messages": [{"role": "user", "content": "x" * 2000}]}
        response = httpx.post(gw.url + "/v1/chat/completions", json=big)
        assert response.status_code == 413
        assert "over the limit" in response.json()["error"]["message"]
        with pytest.raises(openai.APIStatusError) as err:
            _client(gw.url).chat.completions.create(model="sim-model", messages=big["messages"])
        assert err.value.status_code == 413


def test_upstream_error_bodies_pass_through_unchanged(gateway: Gateway, sim_url: str) -> None:
    headers = {"x-sim-fail": "400"}
    body = {"model": "gpt-4o-mini", "messages": MESSAGES}
    direct = httpx.post(sim_url + "/v1/chat/completions", json=body, headers=headers)
    via = httpx.post(gateway.url + "/v1/chat/completions", json=body, headers=headers)
    assert direct.status_code == 400
    assert via.status_code == 400
    assert via.content == direct.content


def test_models_health_ready_and_prometheus_metrics(gateway: Gateway) -> None:
    client = _client(gateway.url)
    assert [m.id for m in client.models.list()] == ["gpt-4o-mini"]
    assert httpx.get(gateway.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(gateway.url + "/readyz").status_code == 200
    client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, extra_headers=SIM_HEADERS
    )
    list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=SIM_HEADERS
        )
    )
    text = httpx.get(gateway.url + "/metrics").text
    assert (
        'llmobs_gateway_requests_total{model="gpt-4o-mini",status="200",upstream="sim"} 2.0' in text
    )
    assert 'llmobs_gateway_tokens_total{model="gpt-4o-mini",type="output"} 12.0' in text
    assert 'llmobs_gateway_time_to_first_token_seconds_count{model="gpt-4o-mini"} 2.0' in text
    assert 'llmobs_gateway_upstream_up{upstream="sim"} 1.0' in text
    assert "llmobs_gateway_in_flight_requests 0.0" in text
    assert "llmobs_gateway_cost_usd_total" in text
    unknown = httpx.get(gateway.url + "/nowhere")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "Unknown path"


def test_otlp_metrics_reach_the_receiver(gateway: Gateway, otlp: OtlpReceiver) -> None:
    _client(gateway.url).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert gateway.app.telemetry.metrics.flush()
    assert {
        "gen_ai.client.token.usage",
        "gen_ai.server.request.duration",
        "gen_ai.server.time_to_first_token",
    } <= otlp.metric_names


def test_content_capture_sends_redacted_chunk_records_for_the_span(
    sim_url: str, otlp: OtlpReceiver
) -> None:
    with run_gateway(one_upstream(sim_url), otlp.url, capture_content=True) as gw:
        prompt = [{"role": "user", "content": "my key is sk-abcdefghijklmnopqrstuvwx, hi"}]
        stream = list(
            _client(gw.url).chat.completions.create(model="sim-model", messages=prompt, stream=True)
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        gw.flush()
        span = otlp.wait_for_spans(lambda s: s.attributes.get(A.LLMOBS_UPSTREAM) == "sim")[0]
        assert span.attributes[A.LLMOBS_CONTENT_CAPTURED] is True
        mine = [log for log in otlp.logs if log.span_id == span.span_id]
        by_role = {
            role: sorted(
                (x for x in mine if x.attributes[chunks.ROLE] == role),
                key=lambda x: x.attributes[chunks.SEQ],
            )
            for role in chunks.ROLES
        }
        prompt_text = "".join(x.body for x in by_role["input"])
        assert "sk-abcdef" not in prompt_text
        assert "[REDACTED:api_key]" in prompt_text
        assert by_role["input"][-1].attributes[chunks.LAST] is True
        assert by_role["input"][0].attributes[chunks.FORMAT] == "json"
        assert "".join(x.body for x in by_role["output"]) == text
        assert all(x.event_name == chunks.EVENT_NAME for x in mine)
        assert all(x.trace_id == span.trace_id for x in mine)


def test_content_capture_is_off_by_default(gateway: Gateway, otlp: OtlpReceiver) -> None:
    response = _client(gateway.url).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    attrs = _span(otlp, gateway, response.id)
    assert A.LLMOBS_CONTENT_CAPTURED not in attrs
    assert otlp.logs == []
