"""Traces made with the real OpenTelemetry SDK, sent to the store as its OTLP exporter encodes them.

Spans are recorded with known start times and parents (one tracer provider per service, so each
service is its own OTLP resource) into an in-memory exporter; a test then sends any subset of the
finished spans, in any order, as separate export requests. The attribute sets below are what the
named instrumentations put on their spans (names from the contract package).
"""

import os
import random
import time
from collections.abc import Iterable, Sequence
from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode

from llmobs_semconv import attributes as A

S = 10**9
T0_NS = time.time_ns() - 10 * 60 * S  # ten minutes ago
START_MS = T0_NS // 10**6 - 1000
END_MS = T0_NS // 10**6 + 3600 * 1000


class _Ids(IdGenerator):
    """Random ids, except for a span that must have a given context (see ``Traces.span``)."""

    def __init__(self) -> None:
        self.random = RandomIdGenerator()
        self.forced: SpanContext | None = None

    def generate_span_id(self) -> int:
        return self.forced.span_id if self.forced else self.random.generate_span_id()

    def generate_trace_id(self) -> int:
        return self.forced.trace_id if self.forced else self.random.generate_trace_id()


class Traces:
    """Records spans per service with the SDK; ``send`` posts a chosen set of them."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self._providers: dict[str, TracerProvider] = {}
        self._ids = _Ids()

    def _tracer(self, service: str) -> trace.Tracer:
        provider = self._providers.get(service)
        if provider is None:
            provider = TracerProvider(
                resource=Resource.create({A.SERVICE_NAME: service}), id_generator=self._ids
            )
            provider.add_span_processor(SimpleSpanProcessor(self.exporter))
            self._providers[service] = provider
        return provider.get_tracer("llmobs-tests")

    def span(  # noqa: PLR0917 - reads like the span it records
        self,
        service: str,
        name: str,
        start_s: float,
        dur_s: float,
        attrs: dict[str, Any],
        parent: trace.Span | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        error: str = "",
        recorded_as: trace.Span | None = None,
    ) -> trace.Span:
        """Record one span (ended) under ``parent`` (None: a new trace's root).

        ``recorded_as``: give the span that span's trace and span id (a remote parent recorded
        by its own service after all).
        """
        context = trace.set_span_in_context(parent) if parent is not None else None
        start = T0_NS + int(start_s * S)
        self._ids.forced = recorded_as.get_span_context() if recorded_as is not None else None
        try:
            span = self._tracer(service).start_span(
                name, context=context, kind=kind, attributes=attrs, start_time=start
            )
        finally:
            self._ids.forced = None
        if error:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=start + int(dur_s * S))
        return span

    def spans(self, *names: str, trace_of: trace.Span | None = None) -> list[ReadableSpan]:
        """Finished spans by name (all when none given), of one trace when ``trace_of`` is set."""
        found = [
            s
            for s in self.exporter.get_finished_spans()
            if (not names or s.name in names)
            and (trace_of is None or s.context.trace_id == trace_of.get_span_context().trace_id)
        ]
        assert not names or {s.name for s in found} == set(names), names
        return found


def remote_parent() -> trace.Span:
    """A parent from another process whose spans never reach this store."""
    context = SpanContext(
        trace_id=random.getrandbits(128),
        span_id=random.getrandbits(64),
        is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )
    return NonRecordingSpan(context)


def send(url: str, spans: Sequence[ReadableSpan]) -> None:
    """One export request with ``spans``, encoded by the SDK's OTLP encoder."""
    body = encode_spans(spans).SerializeToString()
    response = httpx.post(
        url + "/v1/traces",
        content=body,
        headers={"content-type": "application/x-protobuf"},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def send_shuffled(url: str, spans: Iterable[ReadableSpan], requests: int, seed: int) -> None:
    """``spans`` in a shuffled order, cut into ``requests`` export requests."""
    shuffled = list(spans)
    random.Random(seed).shuffle(shuffled)
    for part in range(requests):
        chunk = shuffled[part::requests]
        if chunk:
            send(url, chunk)


def span_hex(span: trace.Span) -> str:
    return format(span.get_span_context().span_id, "016x")


def trace_hex(span: trace.Span) -> str:
    return format(span.get_span_context().trace_id, "032x")


# --------------------------------------------------------------- instrumentation attribute sets
def openinference_llm(
    model: str, tokens_in: int, tokens_out: int, cached: int = 0
) -> dict[str, Any]:
    """An OpenInference LLM span (LangChain ``ChatOpenAI``, the openai SDK's ``ChatCompletion``)."""
    attrs: dict[str, Any] = {
        A.OI_SPAN_KIND: "LLM",
        A.OI_LLM_MODEL_NAME: model,
        A.OI_LLM_PROVIDER: "openai",
        A.OI_TOKEN_COUNT_PROMPT: tokens_in,
        A.OI_TOKEN_COUNT_COMPLETION: tokens_out,
        A.OI_TOKEN_COUNT_TOTAL: tokens_in + tokens_out,
    }
    if cached:
        attrs[A.OI_TOKEN_COUNT_CACHE_READ] = cached
    return attrs


def openinference_llm_without_usage(model: str) -> dict[str, Any]:
    """An OpenInference LLM span of a call that failed before any usage came back."""
    return {A.OI_SPAN_KIND: "LLM", A.OI_LLM_MODEL_NAME: model, A.OI_LLM_PROVIDER: "openai"}


def openinference_chain() -> dict[str, Any]:
    return {A.OI_SPAN_KIND: "CHAIN"}


def genai_chat(model: str, tokens_in: int, tokens_out: int, **extra: Any) -> dict[str, Any]:
    """An OTel GenAI chat span (OpenLLMetry, OpenLIT, LoongSuite, our probe and gateway)."""
    return {
        A.GEN_AI_OPERATION_NAME: "chat",
        A.GEN_AI_PROVIDER_NAME: "openai",
        A.GEN_AI_REQUEST_MODEL: model,
        A.GEN_AI_RESPONSE_MODEL: model,
        A.GEN_AI_USAGE_INPUT_TOKENS: tokens_in,
        A.GEN_AI_USAGE_OUTPUT_TOKENS: tokens_out,
        **extra,
    }


def genai_workflow(tokens_in: int, tokens_out: int, **extra: Any) -> dict[str, Any]:
    """An OpenLIT ``invoke_workflow`` span repeating the usage of the calls inside it."""
    return {
        A.GEN_AI_OPERATION_NAME: "invoke_workflow",
        A.GEN_AI_USAGE_INPUT_TOKENS: tokens_in,
        A.GEN_AI_USAGE_OUTPUT_TOKENS: tokens_out,
        **extra,
    }


def http_client(url: str = "https://api.openai.com/v1/chat/completions") -> dict[str, Any]:
    """The HTTP client span (httpx/requests instrumentation) below an SDK call."""
    return {"http.request.method": "POST", "url.full": url, A.HTTP_RESPONSE_STATUS_CODE: 200}


def new_id() -> str:
    return os.urandom(8).hex()
