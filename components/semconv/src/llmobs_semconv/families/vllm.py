"""vLLM's own request span (``--otlp-traces-endpoint``): SERVER span ``llm_request``.

Names: vllm-project/vllm ``vllm/tracing.py`` (``SpanAttributes``: ``gen_ai.latency.*`` in seconds,
plus the deprecated usage names read by the OTel family). The span continues the caller's
``traceparent``, so it is the model-server layer of the caller's LLM call.
"""

from __future__ import annotations

from llmobs_semconv import attributes as A
from llmobs_semconv import span_kinds as K
from llmobs_semconv.families import _rows as F
from llmobs_semconv.families._rows import Attr, Family, Kind

TRACING = "vllm-project/vllm vllm/tracing.py (SpanAttributes)"

FAMILY = Family(
    name="vllm",
    title="vLLM request spans",
    attributes=(Attr("gen_ai.latency.time_to_first_token", F.TTFT, TRACING, rank=60, unit="s"),),
    kinds=(Kind("gen_ai.latency.e2e", "*", K.LLM, TRACING, rank=30, layer=A.LAYER_MODEL_SERVER),),
)
