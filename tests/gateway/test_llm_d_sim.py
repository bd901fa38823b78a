"""The real openai SDK through the gateway to llm-d-inference-sim (a vLLM-compatible Go server)."""

import importlib
from collections.abc import Iterator

import openai
import pytest

from llmobs_semconv import attributes as A
from llmobs_testing.prereq import require

from .conftest import OtlpReceiver, one_upstream, run_gateway

MESSAGES = [{"role": "user", "content": "Say something."}]


@pytest.fixture(scope="module")
def llm_d_url() -> Iterator[str]:
    try:
        peers = importlib.import_module("llmobs_testing.peers")
    except ImportError:
        peers = None
    require(peers is not None, "llmobs_testing.peers", "merge main once the simulator's peers land")
    binary = peers.llm_d_sim_binary() if peers is not None else None
    require(binary is not None, "llm-d-inference-sim", "needs Go on PATH to build it once")
    with peers.serve_llm_d_sim(binary, model="sim-model", ttft_s=0.01, itl_s=0.002) as url:  # type: ignore[union-attr]
        yield url


def test_streaming_and_not_through_the_gateway_to_llm_d_sim(
    llm_d_url: str, otlp: OtlpReceiver
) -> None:
    with run_gateway(one_upstream(llm_d_url), otlp.url) as gw:
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0)
        whole = client.chat.completions.create(model="sim-model", messages=MESSAGES, max_tokens=8)
        assert whole.choices[0].message.content
        stream = list(
            client.chat.completions.create(
                model="sim-model", messages=MESSAGES, stream=True, max_tokens=8
            )
        )
        assert all(c.usage is None for c in stream)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text
        gw.flush()
        spans = otlp.wait_for_spans(lambda s: s.attributes.get(A.LLMOBS_UPSTREAM) == "sim", 2)
        assert len(spans) == 2
        for span in spans:
            assert span.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
            assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] > 0
            assert span.attributes[A.LLMOBS_TTFT] > 0
        streamed = next(s for s in spans if s.attributes[A.GEN_AI_REQUEST_STREAM])
        assert streamed.attributes[A.LLMOBS_CHUNK_COUNT] >= 1
