"""vLLM-compatible endpoints: llm-d-inference-sim (a real vLLM-API server, in Go) via the SDK."""

from __future__ import annotations

from typing import Any

import openai

from llmobs_semconv import attributes as A
from llmobs_testing.peers import llm_d_sim_binary, serve_llm_d_sim
from llmobs_testing.prereq import require

MODEL = "Qwen/Qwen2.5-1.5B-Instruct"


def test_llm_d_inference_sim_stream_and_call(traced: Any) -> None:
    binary = llm_d_sim_binary()
    require(binary is not None, "llm-d-inference-sim", "install Go; `make bootstrap` builds it")
    assert binary is not None
    probe, received = traced
    with serve_llm_d_sim(binary, MODEL, ttft_s=0.05, itl_s=0.005) as url:
        c = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0)
        result = c.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=8
        )
        stream = c.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "hi"}],
            max_tokens=8,
            stream=True,
            stream_options={"include_usage": True},
        )
        usage = None
        for chunk in stream:
            usage = chunk.usage or usage
    probe.flush()
    received.wait(lambda r: len(r.llm_spans()) == 2)
    spans = {s["attributes"].get(A.GEN_AI_REQUEST_STREAM, False): s for s in received.llm_spans()}
    plain, streamed = spans[False]["attributes"], spans[True]["attributes"]
    assert result.usage is not None
    assert plain[A.GEN_AI_USAGE_OUTPUT_TOKENS] == result.usage.completion_tokens
    assert plain[A.GEN_AI_RESPONSE_MODEL] == MODEL
    assert usage is not None
    assert streamed[A.GEN_AI_USAGE_OUTPUT_TOKENS] == usage.completion_tokens
    assert streamed[A.LLMOBS_TTFT] >= 0.05
    assert streamed[A.LLMOBS_CHUNK_COUNT] >= 1
    assert A.LLMOBS_USAGE_ESTIMATED not in streamed
