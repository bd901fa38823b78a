"""Our own ``llmobs.*`` extras (what the probe and the gateway write beside the OTel names).

Names: ``llmobs_semconv.attributes`` (the contract package itself), described in
docs/ARCHITECTURE.md "Contracts". They outrank every other family: they are ours.
"""

from __future__ import annotations

from llmobs_semconv import attributes as A
from llmobs_semconv import span_kinds as K
from llmobs_semconv.families import _rows as F
from llmobs_semconv.families._rows import Attr, Family, Kind

OURS = "llmobs-semconv llmobs_semconv/attributes.py"

FAMILY = Family(
    name="llmobs",
    title="llmobs extras",
    attributes=(
        Attr(A.LLMOBS_TTFT, F.TTFT, OURS, rank=100, unit="s"),
        Attr(A.LLMOBS_TPOT, F.TPOT, OURS, rank=100, unit="s"),
        Attr(A.LLMOBS_TBT_MAX, F.TBT_MAX, OURS, rank=100, unit="s"),
        Attr(A.LLMOBS_TBT_P95, F.TBT_P95, OURS, rank=100, unit="s"),
        Attr(A.LLMOBS_COST_USD, F.COST_USD, OURS, rank=100),
        Attr(A.LLMOBS_COST_INPUT_USD, F.INPUT_COST_USD, OURS, rank=100),
        Attr(A.LLMOBS_COST_OUTPUT_USD, F.OUTPUT_COST_USD, OURS, rank=100),
        Attr(A.LLMOBS_LAYER, F.LAYER, OURS, rank=100),
        Attr(A.LLMOBS_CALLER_SPAN_ID, F.CALLER_SPAN_ID, OURS, rank=100),
    ),
    kinds=tuple(Kind(A.LLMOBS_SPAN_KIND, kind, kind, OURS, rank=100) for kind in K.ALL),
)
