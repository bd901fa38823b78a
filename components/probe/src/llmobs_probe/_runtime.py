"""What an instrumentation needs at call time, built once: tracer, metrics, content sink, prices.

Metric measurements are queued as one tuple per call (:meth:`Runtime.measure`) and folded into
the OTel GenAI histograms on the export worker (:meth:`Runtime.fold`), so the app's thread never
pays for histogram aggregation.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

from llmobs_semconv import attributes as A
from llmobs_semconv import metrics as M
from llmobs_semconv.pricing import PriceTable

#: (operation, provider, request model, response model, server address, error type,
#:  duration s, input tokens, output tokens, ttft s, time per output chunk s)
Measurement = Tuple[
    str,
    str,
    Optional[str],
    Optional[str],
    Optional[str],
    Optional[str],
    float,
    Optional[int],
    Optional[int],
    Optional[float],
    Optional[float],
]


class Runtime:
    """The probe's call-time state shared by instrumentations.

    ``tracer`` is a :class:`~llmobs_probe._lightspan.LightTracer` in the probe (an SDK tracer works
    too: both have ``start_span(name, kind=, attributes=)``)."""

    def __init__(
        self,
        tracer: Any,
        meter: Any,
        *,
        enqueue: Optional[Callable[[Any], None]] = None,
        content: Any = None,
        prices: Optional[PriceTable] = None,
        provider_name: Optional[str] = None,
    ) -> None:
        self.tracer = tracer
        self.content = content  # a ContentSink when capture is on, else None
        self.prices = prices if prices is not None else PriceTable()
        self._price_cache: Dict[Optional[str], Any] = {}
        self.provider_name = provider_name
        self._enqueue = enqueue
        advice_s = {"explicit_bucket_boundaries_advisory": list(M.DURATION_BUCKETS)}
        advice_tok = {"explicit_bucket_boundaries_advisory": list(M.TOKEN_USAGE_BUCKETS)}
        self._duration = _histogram(meter, M.CLIENT_OPERATION_DURATION, M.UNIT_SECONDS, advice_s)
        self._tokens = _histogram(meter, M.CLIENT_TOKEN_USAGE, M.UNIT_TOKEN, advice_tok)
        self._ttfc = _histogram(meter, M.CLIENT_TIME_TO_FIRST_CHUNK, M.UNIT_SECONDS, advice_s)
        self._tpoc = _histogram(meter, M.CLIENT_TIME_PER_OUTPUT_CHUNK, M.UNIT_SECONDS, advice_s)

    def cost(self, model: Optional[str], tin: int, tout: int, cached: int) -> Any:
        """The call's cost (``llmobs_semconv.pricing.Cost``) or None; price lookups are cached
        per model name, so the table's regular expressions run once per model, not per call."""
        try:
            entry = self._price_cache[model]
        except KeyError:
            entry = self._price_cache[model] = self.prices.price(model)
            if len(self._price_cache) > 1024:  # model names come from users: keep it bounded
                self._price_cache.clear()
        if entry is None:
            return None
        return entry.cost(tin, tout, cached)

    def measure(self, item: Measurement) -> None:
        """Queue one call's measurements (or record them now when there is no worker)."""
        if self._enqueue is not None:
            self._enqueue(item)
        else:
            self.fold(item)

    def fold(self, item: Measurement) -> None:
        """Record one call's measurements into the histograms (runs on the export worker)."""
        op, provider, req_model, resp_model, server, error, duration, tin, tout, ttft, tpoc = item
        attrs: Dict[str, Any] = {A.GEN_AI_OPERATION_NAME: op, A.GEN_AI_PROVIDER_NAME: provider}
        if req_model:
            attrs[A.GEN_AI_REQUEST_MODEL] = req_model
        if resp_model:
            attrs[A.GEN_AI_RESPONSE_MODEL] = resp_model
        if server:
            attrs[A.SERVER_ADDRESS] = server
        if error:
            attrs[A.ERROR_TYPE] = error
        self._duration.record(duration, attrs)
        if ttft is not None:
            self._ttfc.record(ttft, attrs)
        if tpoc is not None:
            self._tpoc.record(tpoc, attrs)
        if tin is not None:
            self._tokens.record(tin, {**attrs, A.GEN_AI_TOKEN_TYPE: "input"})
        if tout is not None:
            self._tokens.record(tout, {**attrs, A.GEN_AI_TOKEN_TYPE: "output"})


def _histogram(meter: Any, name: str, unit: str, advice: Dict[str, Any]) -> Any:
    try:  # bucket advice is API >= 1.23; older SDKs take the default buckets
        return meter.create_histogram(
            name,
            unit=unit,
            explicit_bucket_boundaries_advisory=advice["explicit_bucket_boundaries_advisory"],
        )
    except TypeError:  # pragma: no cover
        return meter.create_histogram(name, unit=unit)
