"""Normalisation at ingest: any span vocabulary in, one span model out.

Accepted vocabularies: OTel GenAI current and deprecated names, OpenInference, and the
``llmobs.*`` extras of our contract. The original attributes are kept (as strings) next to the
normalised columns, except the content-bearing ones (prompts, completions), which move to the
content table so span rows stay slim.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmobs_semconv import attributes as A
from llmobs_semconv import span_kinds
from llmobs_semconv.pricing import DEFAULT_PRICES, ModelPrice, PriceTable
from llmobs_store._values import (
    _attributes,
    _first,
    _float,
    _int,
    _seconds_to_ms,
    _str,
    any_value,
    as_text,
    ch_time,
    key_values,
    now_time,
)

__all__ = [
    "CONTENT_ATTRIBUTES",
    "SPAN_COLUMNS",
    "CachedPrices",
    "ContentRecord",
    "NormalisedSpan",
    "ResourceInfo",
    "any_value",
    "as_text",
    "ch_time",
    "finish_reasons",
    "k8s_fields",
    "key_values",
    "normalise_span",
    "now_time",
    "span_kind",
]

# Columns of the spans table, in insert order (see migrations/0001_spans.sql).
SPAN_COLUMNS: tuple[str, ...] = (
    "trace_id", "span_id", "parent_span_id", "name", "kind", "otel_kind", "service",
    "start_time", "end_time", "duration_ms", "status", "status_code", "error", "provider",
    "request_model", "response_model", "input_tokens", "output_tokens", "cached_tokens",
    "reasoning_tokens", "ttft_ms", "tpot_ms", "tbt_max_ms", "tbt_p95_ms", "finish_reasons",
    "input_cost_usd", "output_cost_usd", "cost_usd", "session_id", "user_id", "layer",
    "tool_name", "tool_arguments", "k8s_namespace", "k8s_pod", "k8s_node", "k8s_workload",
    "k8s_container", "attributes", "resource_attributes", "events", "ingested_at", "counted",
)  # fmt: skip

_OTEL_KINDS = {0: "INTERNAL", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}
_NO_PARENT = b"\x00" * 8

# Content-bearing attributes: name -> (role, format). They move to the content table.
CONTENT_ATTRIBUTES: dict[str, tuple[str, str]] = {
    A.GEN_AI_INPUT_MESSAGES: ("input", "json"),
    A.GEN_AI_OUTPUT_MESSAGES: ("output", "json"),
    A.GEN_AI_PROMPT: ("input", "text"),
    A.GEN_AI_COMPLETION: ("output", "text"),
    A.OI_INPUT_VALUE: ("input", "text"),
    A.OI_OUTPUT_VALUE: ("output", "text"),
}
_PROVIDER_KEYS = (A.GEN_AI_PROVIDER_NAME, A.GEN_AI_SYSTEM, A.OI_LLM_PROVIDER, A.OI_LLM_SYSTEM)
_INPUT_KEYS = (A.GEN_AI_USAGE_INPUT_TOKENS, A.GEN_AI_USAGE_PROMPT_TOKENS, A.OI_TOKEN_COUNT_PROMPT)
_OUTPUT_KEYS = (
    A.GEN_AI_USAGE_OUTPUT_TOKENS,
    A.GEN_AI_USAGE_COMPLETION_TOKENS,
    A.OI_TOKEN_COUNT_COMPLETION,
)
_CACHED_KEYS = (A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, A.OI_TOKEN_COUNT_CACHE_READ)
_REASONING_KEYS = (A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, A.OI_TOKEN_COUNT_REASONING)
_SESSION_KEYS = (A.SESSION_ID, A.GEN_AI_CONVERSATION_ID)
_USER_KEYS = (A.USER_ID, "enduser.id")
_TOOL_KEYS = (A.GEN_AI_TOOL_NAME, A.OI_TOOL_NAME)
_TOOL_ARG_KEYS = (A.GEN_AI_TOOL_CALL_ARGUMENTS, "tool.parameters")
_CONTENT_KEYS = frozenset(CONTENT_ATTRIBUTES)


@dataclass
class ContentRecord:
    """Prompt or completion text of one span, complete (from an attribute) or merged."""

    trace_id: str
    span_id: str
    role: str
    format: str
    text: str
    complete: bool = True
    chunks: int = 1
    redacted: int = 0


@dataclass
class NormalisedSpan:
    """One span in the store's model: ``row`` has the SPAN_COLUMNS values by name."""

    row: dict[str, Any]
    content: list[ContentRecord] = field(default_factory=list)


def span_kind(attrs: Mapping[str, Any], otel_kind: str) -> str:
    """The model's span kind from whichever vocabulary names it, else the plain OTel kind."""
    ours = attrs.get(A.LLMOBS_SPAN_KIND)
    if isinstance(ours, str) and ours.upper() in span_kinds.ALL:
        return ours.upper()
    oi = attrs.get(A.OI_SPAN_KIND)
    if isinstance(oi, str) and oi.upper() in span_kinds.BY_OPENINFERENCE:
        return span_kinds.BY_OPENINFERENCE[oi.upper()]
    op = attrs.get(A.GEN_AI_OPERATION_NAME)
    by_op = span_kinds.from_operation(op if isinstance(op, str) else None)
    if by_op is not None:
        return by_op
    if attrs.get(A.MCP_METHOD_NAME):
        return span_kinds.MCP
    return otel_kind


def finish_reasons(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    if isinstance(value, str) and value.startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return [value]
        return [str(v) for v in parsed] if isinstance(parsed, list) else [value]
    return [str(value)]


def k8s_fields(resource: Mapping[str, Any], attrs: Mapping[str, Any]) -> dict[str, str]:
    def pick(key: str) -> str:
        return _str(resource.get(key) or attrs.get(key))

    workload = _first(resource, A.K8S_WORKLOAD_ATTRIBUTES) or _first(
        attrs, A.K8S_WORKLOAD_ATTRIBUTES
    )
    return {
        "k8s_namespace": pick(A.K8S_NAMESPACE_NAME),
        "k8s_pod": pick(A.K8S_POD_NAME),
        "k8s_node": pick(A.K8S_NODE_NAME),
        "k8s_workload": _str(workload),
        "k8s_container": pick(A.K8S_CONTAINER_NAME),
    }


@dataclass
class ResourceInfo:
    """What every span of one OTLP resource shares, computed once per resource."""

    attributes: dict[str, Any]
    text: dict[str, str]
    service: str
    k8s: dict[str, str]
    session_id: str
    user_id: str

    @classmethod
    def of(cls, attributes: dict[str, Any]) -> "ResourceInfo":
        return cls(
            attributes=attributes,
            text={k: as_text(v) for k, v in attributes.items()},
            service=_str(attributes.get(A.SERVICE_NAME)) or "unknown_service",
            k8s=k8s_fields(attributes, {}),
            session_id=_str(_first(attributes, _SESSION_KEYS)),
            user_id=_str(_first(attributes, _USER_KEYS)),
        )


class CachedPrices(PriceTable):
    """The price table with the regex match remembered per model name (a hot path at ingest)."""

    def __init__(self, entries: Iterable[ModelPrice] = DEFAULT_PRICES) -> None:
        super().__init__(entries)
        self._matches: dict[str, ModelPrice | None] = {}

    def price(self, model: str | None) -> ModelPrice | None:
        if not model:
            return None
        try:
            return self._matches[model]
        except KeyError:
            if len(self._matches) > 10_000:
                self._matches.clear()
            found = self._matches[model] = super().price(model)
            return found


def normalise_span(
    span: Any,
    resource: ResourceInfo,
    prices: PriceTable,
    now: str,
) -> NormalisedSpan:
    """Turn one OTLP ``Span`` (with its resource's attributes) into the store's span model."""
    attrs = key_values(span.attributes)
    attrs, kept, has_k8s = _attributes(span.attributes)
    trace_id = span.trace_id.hex()
    span_id = span.span_id.hex()
    parent = span.parent_span_id
    start_ns, end_ns = (
        span.start_time_unix_nano,
        max(span.end_time_unix_nano, span.start_time_unix_nano),
    )
    duration_ms = (end_ns - start_ns) / 1e6
    otel_kind = _OTEL_KINDS.get(span.kind, "INTERNAL")
    kind = span_kind(attrs, otel_kind)

    content: list[ContentRecord] = []
    for key in _CONTENT_KEYS.intersection(kept):
        role, fmt = CONTENT_ATTRIBUTES[key]
        if kept[key] and not any(c.role == role for c in content):
            # Moved to the content table; a second source for one role stays an attribute.
            content.append(ContentRecord(trace_id, span_id, role, fmt, kept.pop(key)))

    events = []
    first_token_ns = None
    exception_message = ""
    for event in span.events:
        event_attrs = key_values(event.attributes)
        if event.name == A.OI_FIRST_TOKEN_EVENT and first_token_ns is None:
            first_token_ns = event.time_unix_nano
        if event.name == "exception" and not exception_message:
            exception_message = _str(event_attrs.get("exception.message")) or _str(
                event_attrs.get("exception.type")
            )
        events.append(
            {"name": event.name, "time_ms": event.time_unix_nano / 1e6, "attributes": event_attrs}
        )

    status = _STATUS.get(span.status.code, "UNSET")
    error_type = _str(attrs.get(A.ERROR_TYPE))
    error = ""
    if status == "ERROR" or error_type:
        status = "ERROR"
        error = span.status.message or exception_message or error_type or "error"

    provider = _str(_first(attrs, _PROVIDER_KEYS))
    oi_model = _str(attrs.get(A.OI_LLM_MODEL_NAME))
    request_model = _str(attrs.get(A.GEN_AI_REQUEST_MODEL)) or oi_model
    response_model = _str(attrs.get(A.GEN_AI_RESPONSE_MODEL)) or oi_model or request_model
    input_tokens = _int(_first(attrs, _INPUT_KEYS))
    output_tokens = _int(_first(attrs, _OUTPUT_KEYS))
    cached_tokens = _int(_first(attrs, _CACHED_KEYS))
    reasoning_tokens = _int(_first(attrs, _REASONING_KEYS))

    ttft_ms = _seconds_to_ms(attrs.get(A.LLMOBS_TTFT))
    if ttft_ms is None:
        ttft_ms = _seconds_to_ms(attrs.get(A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK))
    if ttft_ms is None and first_token_ns is not None and first_token_ns >= start_ns:
        ttft_ms = (first_token_ns - start_ns) / 1e6
    tpot_ms = _seconds_to_ms(attrs.get(A.LLMOBS_TPOT))
    if tpot_ms is None and ttft_ms is not None and output_tokens > 1:
        tpot_ms = max(duration_ms - ttft_ms, 0.0) / (output_tokens - 1)

    input_cost, output_cost, total_cost = _costs(
        attrs,
        prices=prices,
        model=response_model or request_model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_tokens=cached_tokens,
    )
    tool_name = _str(_first(attrs, _TOOL_KEYS))
    tool_arguments = _str(_first(attrs, _TOOL_ARG_KEYS))
    if not tool_arguments and kind == span_kinds.TOOL:
        tool_arguments = next((c.text for c in content if c.role == "input"), "")

    row: dict[str, Any] = {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": "" if not parent or parent == _NO_PARENT else parent.hex(),
        "name": span.name,
        "kind": kind,
        "otel_kind": otel_kind,
        "service": resource.service,
        "start_time": ch_time(start_ns),
        "end_time": ch_time(end_ns),
        "duration_ms": duration_ms,
        "status": status,
        "status_code": min(_int(attrs.get(A.HTTP_RESPONSE_STATUS_CODE)), 65535),
        "error": error,
        "provider": provider,
        "request_model": request_model,
        "response_model": response_model,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cached_tokens": cached_tokens,
        "reasoning_tokens": reasoning_tokens,
        "ttft_ms": ttft_ms,
        "tpot_ms": tpot_ms,
        "tbt_max_ms": _seconds_to_ms(attrs.get(A.LLMOBS_TBT_MAX)),
        "tbt_p95_ms": _seconds_to_ms(attrs.get(A.LLMOBS_TBT_P95)),
        "finish_reasons": finish_reasons(attrs.get(A.GEN_AI_RESPONSE_FINISH_REASONS)),
        "input_cost_usd": input_cost,
        "output_cost_usd": output_cost,
        "cost_usd": total_cost,
        "session_id": _str(_first(attrs, _SESSION_KEYS)) or resource.session_id,
        "user_id": _str(_first(attrs, _USER_KEYS)) or resource.user_id,
        "layer": _str(attrs.get(A.LLMOBS_LAYER)),
        "tool_name": tool_name,
        "tool_arguments": tool_arguments,
        **(k8s_fields(resource.attributes, attrs) if has_k8s else resource.k8s),
        "attributes": kept,
        "resource_attributes": resource.text,
        "events": json.dumps(events, default=str) if events else "",
        "ingested_at": now,  # already a ClickHouse time string
        # A span recorded on behalf of a caller that has its own span of the same call (the
        # gateway below the app's probe) is shown but left out of aggregates (0004_counted.sql).
        "counted": 0 if attrs.get(A.LLMOBS_CALLER_SPAN_ID) else 1,
    }
    return NormalisedSpan(row, content)


def _costs(
    attrs: Mapping[str, Any],
    *,
    prices: PriceTable,
    model: str,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int,
) -> tuple[float, float, float]:
    """(input, output, total) USD: the producer's own figures when present, else the price table."""
    total = _float(attrs.get(A.LLMOBS_COST_USD))
    if total is None:
        total = _float(attrs.get(A.OI_COST_TOTAL))
    if total is not None:
        given_in = _float(attrs.get(A.LLMOBS_COST_INPUT_USD))
        given_out = _float(attrs.get(A.LLMOBS_COST_OUTPUT_USD))
        if given_in is not None or given_out is not None:
            return given_in or 0.0, given_out or 0.0, total
        priced = prices.cost(model, input_tokens, output_tokens, cached_tokens)
        if priced is not None and priced.total_usd > 0:
            # Split the given total in the price table's input/output proportion.
            share = priced.input_usd / priced.total_usd
            return total * share, total * (1 - share), total
        return total, 0.0, total
    priced = prices.cost(model, input_tokens, output_tokens, cached_tokens)
    if priced is None:
        return 0.0, 0.0, 0.0
    return priced.input_usd, priced.output_usd, priced.total_usd
