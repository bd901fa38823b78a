"""Metric names, units and histogram bucket boundaries (OTel GenAI advice, vLLM, SGLang, DCGM).

Token metrics are being redesigned upstream; keeping every name here lets all components follow.
"""

from typing import Final

# --- OTel GenAI client metrics (histograms) ---
CLIENT_TOKEN_USAGE: Final = "gen_ai.client.token.usage"  # unit {token}, attr gen_ai.token.type
CLIENT_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"  # unit s
CLIENT_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"  # unit s
CLIENT_TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.operation.time_per_output_chunk"  # unit s
# --- OTel GenAI server metrics (histograms; the gateway records these for its upstreams) ---
SERVER_REQUEST_DURATION: Final = "gen_ai.server.request.duration"
SERVER_TIME_TO_FIRST_TOKEN: Final = "gen_ai.server.time_to_first_token"
SERVER_TIME_PER_OUTPUT_TOKEN: Final = "gen_ai.server.time_per_output_token"

UNIT_TOKEN: Final = "{token}"
UNIT_SECONDS: Final = "s"

TOKEN_USAGE_BUCKETS: Final[tuple[float, ...]] = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)
DURATION_BUCKETS: Final[tuple[float, ...]] = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
SERVER_TTFT_BUCKETS: Final[tuple[float, ...]] = (
    0.001,
    0.005,
    0.01,
    0.02,
    0.04,
    0.06,
    0.08,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
SERVER_TPOT_BUCKETS: Final[tuple[float, ...]] = (
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    2.5,
)

# --- vLLM model-server metrics (label model_name) ---
VLLM_NUM_REQUESTS_RUNNING: Final = "vllm:num_requests_running"
VLLM_NUM_REQUESTS_WAITING: Final = "vllm:num_requests_waiting"
VLLM_KV_CACHE_USAGE_PERC: Final = "vllm:kv_cache_usage_perc"
VLLM_GPU_CACHE_USAGE_PERC_DEPRECATED: Final = "vllm:gpu_cache_usage_perc"
VLLM_PROMPT_TOKENS_TOTAL: Final = "vllm:prompt_tokens_total"
VLLM_GENERATION_TOKENS_TOTAL: Final = "vllm:generation_tokens_total"
VLLM_REQUEST_SUCCESS_TOTAL: Final = "vllm:request_success_total"  # label finished_reason
VLLM_NUM_PREEMPTIONS_TOTAL: Final = "vllm:num_preemptions_total"
VLLM_TIME_TO_FIRST_TOKEN_SECONDS: Final = "vllm:time_to_first_token_seconds"
VLLM_INTER_TOKEN_LATENCY_SECONDS: Final = "vllm:inter_token_latency_seconds"
VLLM_TIME_PER_OUTPUT_TOKEN_SECONDS_DEPRECATED: Final = "vllm:time_per_output_token_seconds"
VLLM_E2E_REQUEST_LATENCY_SECONDS: Final = "vllm:e2e_request_latency_seconds"
VLLM_REQUEST_QUEUE_TIME_SECONDS: Final = "vllm:request_queue_time_seconds"
VLLM_REQUEST_PREFILL_TIME_SECONDS: Final = "vllm:request_prefill_time_seconds"
VLLM_REQUEST_DECODE_TIME_SECONDS: Final = "vllm:request_decode_time_seconds"

# --- SGLang model-server metrics (--enable-metrics) ---
SGLANG_NUM_RUNNING_REQS: Final = "sglang:num_running_reqs"
SGLANG_NUM_QUEUE_REQS: Final = "sglang:num_queue_reqs"
SGLANG_TOKEN_USAGE: Final = "sglang:token_usage"
SGLANG_TIME_TO_FIRST_TOKEN_SECONDS: Final = "sglang:time_to_first_token_seconds"
SGLANG_INTER_TOKEN_LATENCY_SECONDS: Final = "sglang:inter_token_latency_seconds"
SGLANG_E2E_REQUEST_LATENCY_SECONDS: Final = "sglang:e2e_request_latency_seconds"

# --- NVIDIA DCGM exporter names (port 9400) ---
DCGM_GPU_UTIL: Final = "DCGM_FI_DEV_GPU_UTIL"
DCGM_FB_USED: Final = "DCGM_FI_DEV_FB_USED"
DCGM_FB_FREE: Final = "DCGM_FI_DEV_FB_FREE"
DCGM_POWER_USAGE: Final = "DCGM_FI_DEV_POWER_USAGE"
DCGM_GPU_TEMP: Final = "DCGM_FI_DEV_GPU_TEMP"
DCGM_SM_CLOCK: Final = "DCGM_FI_DEV_SM_CLOCK"

# --- llmobs probe self-telemetry (counters, attributes PROBE_SIGNAL and PROBE_REASON) ---
PROBE_DROPPED: Final = "llmobs.probe.dropped"  # telemetry items the probe dropped, {item}
PROBE_ERRORS: Final = "llmobs.probe.errors"  # exceptions caught inside the probe, {error}
PROBE_SIGNAL: Final = "llmobs.probe.signal"  # attribute: traces | metrics | logs
PROBE_REASON: Final = "llmobs.probe.reason"  # attribute: queue_full | export_failed | ...
UNIT_ITEM: Final = "{item}"
