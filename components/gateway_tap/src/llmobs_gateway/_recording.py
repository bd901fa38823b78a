"""Recording one request: the gateway span, the metrics, the optional content and a log line.

The span is started before the first upstream attempt and ended after the last byte, so it covers
failover and the whole stream (as the GenAI conventions ask). Export happens on the SDK's batch
threads; here the request only fills attributes.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from llmobs_gateway._content import ContentStream
from llmobs_gateway._observer import ResponseObserver
from llmobs_gateway._otlp_metrics import Key
from llmobs_gateway._prometheus import GatewayMetrics
from llmobs_gateway._request import IncomingRequest
from llmobs_gateway._routing import Upstream
from llmobs_gateway._telemetry import Telemetry
from llmobs_semconv import attributes as A
from llmobs_semconv import chunks, span_kinds
from llmobs_semconv.pricing import PriceTable

log = logging.getLogger("llmobs_gateway.requests")
_INPUT_TYPE = (A.GEN_AI_TOKEN_TYPE, "input")
_OUTPUT_TYPE = (A.GEN_AI_TOKEN_TYPE, "output")
_PROPAGATOR = TraceContextTextMapPropagator()
_REQUEST_PARAMS = (
    ("max_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
    ("max_completion_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
    ("max_output_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
    ("temperature", A.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", A.GEN_AI_REQUEST_TOP_P),
)


@dataclass
class Outcome:
    """What happened to one request, filled in as it goes."""

    model: str
    operation: str
    stream: bool
    identity: str
    observer: ResponseObserver = field(default_factory=ResponseObserver)
    upstream: Upstream | None = None
    attempts: int = 0
    status: int = 0
    error_type: str | None = None
    abandoned: bool = False
    first_byte_sent: bool = False

    def total_tokens(self) -> int:
        obs = self.observer
        return (obs.input_tokens or 0) + (obs.output_tokens or 0)


class Recorder:
    """Turns requests into spans, metrics, content records and (optionally) log lines."""

    def __init__(
        self,
        telemetry: Telemetry,
        metrics: GatewayMetrics,
        prices: PriceTable,
        *,
        capture_content: bool,
        redact_content: bool,
        max_chunk_bytes: int,
        log_requests: bool,
    ) -> None:
        self.telemetry = telemetry
        self.metrics = metrics
        self.prices = prices
        self.capture_content = capture_content
        self.redact_content = redact_content
        self.max_chunk_bytes = max_chunk_bytes
        self.log_requests = log_requests
        self._prices_by_model: dict[str, PriceTable | None] = {}
        self._model_labels: set[str] = set()
        # Labelled Prometheus children by (metric, label values): ``labels()`` takes a lock and
        # validates on every call, and the finish path asks for six or seven per request.
        self._children: dict[tuple[object, tuple[str, ...]], Any] = {}

    def child(self, metric: Any, *labels: str) -> Any:
        """The labelled child of a Prometheus metric, cached."""
        key = (metric, labels)
        try:
            return self._children[key]
        except KeyError:
            child = metric.labels(*labels)
            if len(self._children) < 10_000:  # bounded: label values come from requests
                self._children[key] = child
            return child

    def model_label(self, model: str) -> str:
        """The model as a metric label; past 1,000 distinct names (pattern routes let callers
        choose them) the rest share one label, so /metrics cannot grow without bound."""
        if model in self._model_labels:
            return model
        if len(self._model_labels) < 1000:
            self._model_labels.add(model)
            return model
        return "other"

    def _price_of(self, model: str) -> PriceTable | None:
        """A one-entry table for ``model`` (the full table's regexes run once per model)."""
        try:
            return self._prices_by_model[model]
        except KeyError:
            entry = self.prices.price(model)
            table = PriceTable([entry]) if entry is not None else None
            if len(self._prices_by_model) < 10_000:  # bounded: callers choose model names
                self._prices_by_model[model] = table
            return table

    def start_span(
        self,
        req: IncomingRequest,
        operation: str,
        model: str,
        *,
        stream: bool,
        identity: str,
        start_ns: int,
    ) -> trace.Span:
        """The gateway-layer span, continuing the caller's ``traceparent`` when there is one."""
        carrier = {}
        if req.traceparent:
            carrier["traceparent"] = req.traceparent
            if req.tracestate:
                carrier["tracestate"] = req.tracestate
        parent = _PROPAGATOR.extract(carrier) if carrier else None
        attrs: dict[str, Any] = {
            A.GEN_AI_OPERATION_NAME: operation,
            A.GEN_AI_REQUEST_MODEL: model,
            A.GEN_AI_REQUEST_STREAM: stream,
            A.LLMOBS_LAYER: A.LAYER_GATEWAY,
            A.LLMOBS_SPAN_KIND: span_kinds.from_operation(operation) or span_kinds.LLM,
            A.LLMOBS_API_KEY_HASH: identity,
        }
        doc = req.doc
        for name, attr in _REQUEST_PARAMS:
            value = doc.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                attrs[attr] = value
        if req.session_id:
            attrs[A.SESSION_ID] = req.session_id
            attrs[A.GEN_AI_CONVERSATION_ID] = req.session_id
        if req.user_id:
            attrs[A.USER_ID] = req.user_id
        if req.caller_span_id:
            # The probe recorded this same call: the store counts it once (the caller's span).
            attrs[A.LLMOBS_CALLER_SPAN_ID] = req.caller_span_id
        # Given at creation: one attribute-cleaning pass, no second locked update of the span.
        return self.telemetry.tracer.start_span(
            f"{operation} {model}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes=attrs,
            start_time=start_ns,
        )

    def capturing(self, span: trace.Span) -> bool:
        return self.capture_content and span.is_recording()

    def content_stream(self, span: trace.Span, role: str, fmt: str) -> ContentStream:
        return ContentStream(
            self.telemetry.content_logger,
            span,
            role,
            fmt,
            redact_content=self.redact_content,
            max_chunk_bytes=self.max_chunk_bytes,
        )

    def capture_input(self, span: trace.Span, fields: list[Any]) -> None:
        """The prompt (messages, prompt or input) as a JSON document in chunk records."""
        value = next((f for f in fields if f is not None), None)
        if value is None:
            return
        writer = self.content_stream(span, chunks.ROLE_INPUT, chunks.FORMAT_JSON)
        writer.write(json.dumps(value, ensure_ascii=False))
        writer.close()

    def finish(self, span: trace.Span, outcome: Outcome, started: float) -> None:
        """End the span and record the metrics; never raises into the request."""
        try:
            self._finish(span, outcome, started)
        except Exception:  # telemetry must never break a served request
            log.exception("recording a request failed")
            if span.is_recording():
                span.end()

    @staticmethod
    def _metric_key(outcome: Outcome, model: str, error_type: str | None) -> Key:
        """The GenAI metric attributes of a request, as a series key."""
        key: list[tuple[str, str]] = [
            (A.GEN_AI_OPERATION_NAME, outcome.operation),
            (A.GEN_AI_REQUEST_MODEL, model),
        ]
        if outcome.upstream is not None:
            key.append((A.GEN_AI_PROVIDER_NAME, outcome.upstream.config.provider))
            key.append((A.SERVER_ADDRESS, outcome.upstream.name))
        if error_type:
            key.append((A.ERROR_TYPE, error_type))
        return tuple(key)

    def _finish(self, span: trace.Span, outcome: Outcome, started: float) -> None:
        now = time.perf_counter()
        obs = outcome.observer
        model = outcome.model
        upstream = outcome.upstream.name if outcome.upstream else ""
        ttft = obs.first_at - started if obs.first_at is not None else None
        tpot = obs.tpot()
        cost = None
        if obs.input_tokens is not None or obs.output_tokens is not None:
            priced = obs.response_model or model
            table = self._price_of(priced)
            if table is None:
                priced, table = model, self._price_of(model)
            if table is not None:
                cost = table.cost(
                    priced,
                    obs.input_tokens or 0,
                    obs.output_tokens or 0,
                    obs.cached_tokens or 0,
                )
        error_type = outcome.error_type or ("abandoned" if outcome.abandoned else None)

        m = self.metrics
        label = self.model_label(model)
        self.child(m.requests, label, upstream, str(outcome.status or 499)).inc()
        self.child(m.duration, label).observe(now - started)
        if error_type and not outcome.abandoned:
            self.child(m.errors, label, upstream, error_type).inc()
        if ttft is not None and not error_type:
            self.child(m.ttft, label).observe(ttft)
        if tpot is not None:
            self.child(m.tpot, label).observe(tpot)
        if obs.input_tokens:
            self.child(m.tokens, label, "input").inc(obs.input_tokens)
        if obs.output_tokens:
            self.child(m.tokens, label, "output").inc(obs.output_tokens)
        if cost is not None:
            self.child(m.cost, label).inc(cost.total_usd)

        t = self.telemetry
        key = self._metric_key(outcome, model, error_type)
        t.request_duration.record(now - started, key)
        if ttft is not None:
            t.time_to_first_token.record(ttft, key)
        if tpot is not None:
            t.time_per_output_token.record(tpot, key)
        if obs.input_tokens is not None:
            t.token_usage.record(obs.input_tokens, (*key, _INPUT_TYPE))
        if obs.output_tokens is not None:
            t.token_usage.record(obs.output_tokens, (*key, _OUTPUT_TYPE))

        if self.log_requests:
            log.info(
                "request",
                extra={
                    "model": model,
                    "upstream": upstream,
                    "status": outcome.status,
                    "attempts": outcome.attempts,
                    "ttft_s": ttft,
                    "duration_s": now - started,
                    "error_type": error_type,
                    "trace_id": format(span.get_span_context().trace_id, "032x"),
                },
            )

        if not span.is_recording():
            span.end()
            return
        attrs: dict[str, Any] = {
            A.LLMOBS_ATTEMPTS: outcome.attempts,
            A.HTTP_RESPONSE_STATUS_CODE: outcome.status or 499,
            A.LLMOBS_ABANDONED: outcome.abandoned,
        }
        if outcome.upstream is not None:
            up = outcome.upstream
            attrs[A.LLMOBS_UPSTREAM] = up.name
            attrs[A.GEN_AI_PROVIDER_NAME] = up.config.provider
            attrs[A.SERVER_ADDRESS] = _host_of(up.config.base_url)
            port = _port_of(up.config.base_url)
            if port:
                attrs[A.SERVER_PORT] = port
        if obs.response_model:
            attrs[A.GEN_AI_RESPONSE_MODEL] = obs.response_model
        if obs.response_id:
            attrs[A.GEN_AI_RESPONSE_ID] = obs.response_id
        if obs.finish_reasons:
            attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] = obs.finish_reasons
        if ttft is not None:
            attrs[A.LLMOBS_TTFT] = ttft
            attrs[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = ttft
        if tpot is not None:
            attrs[A.LLMOBS_TPOT] = tpot
        gaps = obs.gap_stats()
        if gaps is not None:
            attrs[A.LLMOBS_TBT_MAX], attrs[A.LLMOBS_TBT_P95] = gaps
        if outcome.stream:
            attrs[A.LLMOBS_CHUNK_COUNT] = obs.chunks
        if obs.input_tokens is not None:
            attrs[A.GEN_AI_USAGE_INPUT_TOKENS] = obs.input_tokens
        if obs.output_tokens is not None:
            attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] = obs.output_tokens
        if obs.cached_tokens is not None:
            attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = obs.cached_tokens
        if obs.reasoning_tokens is not None:
            attrs[A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = obs.reasoning_tokens
        if cost is not None:
            attrs[A.LLMOBS_COST_USD] = cost.total_usd
            attrs[A.LLMOBS_COST_INPUT_USD] = cost.input_usd
            attrs[A.LLMOBS_COST_OUTPUT_USD] = cost.output_usd
        if self.capture_content:
            attrs[A.LLMOBS_CONTENT_CAPTURED] = True
        if error_type:
            attrs[A.ERROR_TYPE] = error_type
            if not outcome.abandoned:
                span.set_status(Status(StatusCode.ERROR, error_type))
        span.set_attributes(attrs)
        span.end()


def _host_of(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].rsplit(":", 1)[0]


def _port_of(url: str) -> int | None:
    hostport = url.split("://", 1)[-1].split("/", 1)[0]
    if ":" in hostport:
        try:
            return int(hostport.rsplit(":", 1)[1])
        except ValueError:
            return None
    return 443 if url.startswith("https") else 80
