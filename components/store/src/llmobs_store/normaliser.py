"""Normalisation at ingest: any span vocabulary in, one span model out.

What each attribute, kind value and span event of each instrumentation family means is data:
the tables of ``llmobs_semconv.families`` (OTel GenAI current and deprecated, OpenInference,
OpenLLMetry, OpenLIT, LoongSuite, MCP, PromptFlow, vLLM, our ``llmobs.*`` extras), compiled once
by ``_families.py``. Per span this module looks each attribute key up once, lets the best-ranked
name per field win, and derives what the conventions leave implicit (input tokens from a total,
TTFT from a first-token event, TPOT from TTFT and duration, cost from the price table). The
original attributes are kept (as strings) next to the normalised columns, except the content
(prompts, completions, flattened messages), which moves to the content table.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmobs_semconv import attributes as A
from llmobs_semconv import span_kinds
from llmobs_semconv.families import _rows as F
from llmobs_semconv.pricing import DEFAULT_PRICES, ModelPrice, PriceTable
from llmobs_store import _families
from llmobs_store._span_content import ContentRecord, span_content, span_events
from llmobs_store._values import (
    _attributes,
    _first,
    _float,
    _int,
    _str,
    any_value,
    as_text,
    ch_time,
    key_values,
    now_time,
)

__all__ = [
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
]

# Columns of the spans table, in insert order (see migrations/0001_spans.sql, 0004, 0007).
SPAN_COLUMNS: tuple[str, ...] = (
    "trace_id", "span_id", "parent_span_id", "name", "kind", "otel_kind", "service",
    "start_time", "end_time", "duration_ms", "status", "status_code", "error", "provider",
    "request_model", "response_model", "input_tokens", "output_tokens", "cached_tokens",
    "cache_creation_tokens", "reasoning_tokens", "ttft_ms", "tpot_ms", "tbt_max_ms",
    "tbt_p95_ms", "finish_reasons", "input_cost_usd", "output_cost_usd", "cost_usd",
    "session_id", "user_id", "layer", "tool_name", "tool_arguments", "k8s_namespace", "k8s_pod",
    "k8s_node", "k8s_workload", "k8s_container", "attributes", "resource_attributes", "events",
    "ingested_at", "counted",
)  # fmt: skip

_OTEL_KINDS = {0: "INTERNAL", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}
_NO_PARENT = b"\x00" * 8
_RESOURCE_FIELDS = (F.SESSION_ID, F.USER_ID)


@dataclass
class NormalisedSpan:
    """One span in the store's model: ``row`` has the SPAN_COLUMNS values by name."""

    row: dict[str, Any]
    content: list[ContentRecord] = field(default_factory=list)


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
        picked, _ = _families.BASE.pick(attributes)
        session, user = (_str(picked[f][2]) if f in picked else "" for f in _RESOURCE_FIELDS)
        return cls(
            attributes=attributes,
            text={k: as_text(v) for k, v in attributes.items()},
            service=_str(attributes.get(A.SERVICE_NAME)) or "unknown_service",
            k8s=k8s_fields(attributes, {}),
            session_id=session,
            user_id=user,
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

    index = _families.index_for(attrs)
    flat: list[str] = []
    picked, kind_row = index.pick(attrs, flat)
    kind = otel_kind if kind_row is None else kind_row.kind
    get = {name: found[2] for name, found in picked.items()}.get

    # The common span has no events and no content: skip their work then (a hot path).
    events: list[dict[str, Any]] = []
    first_token_ns: int | None = None
    exception_message = ""
    event_content: dict[str, _families.Picked] = {}
    if span.events:
        events, first_token_ns, exception_message, event_content = span_events(span.events, index)
    content: list[ContentRecord] = []
    if flat or event_content or not _families.CONTENT_FIELDS.isdisjoint(picked):
        content = span_content(
            trace_id,
            span_id,
            picked=picked,
            kept=kept,
            attrs=attrs,
            flat=flat,
            index=index,
            from_events=event_content,
        )

    status = _STATUS.get(span.status.code, "UNSET")
    error_type = _str(get(F.ERROR_TYPE))
    error = ""
    if status == "ERROR" or error_type:
        status = "ERROR"
        error = span.status.message or exception_message or error_type or "error"

    model = _str(get(F.MODEL))
    request_model = _str(get(F.REQUEST_MODEL)) or model
    response_model = _str(get(F.RESPONSE_MODEL)) or model or request_model
    input_tokens, output_tokens = _int(get(F.INPUT_TOKENS)), _int(get(F.OUTPUT_TOKENS))
    if F.TOTAL_TOKENS in picked:
        # A total with one side missing gives that side (embeddings: total = prompt).
        total = _int(get(F.TOTAL_TOKENS))
        if F.INPUT_TOKENS not in picked:
            input_tokens = max(total - output_tokens, 0)
        elif F.OUTPUT_TOKENS not in picked:
            output_tokens = max(total - input_tokens, 0)
    cached_tokens = _int(get(F.CACHED_TOKENS))

    ttft_ms = _duration_ms(picked, F.TTFT, index)
    if ttft_ms is None and first_token_ns is not None and first_token_ns >= start_ns:
        ttft_ms = (first_token_ns - start_ns) / 1e6
    tpot_ms = _duration_ms(picked, F.TPOT, index)
    if tpot_ms is None and ttft_ms is not None and output_tokens > 1:
        tpot_ms = max(duration_ms - ttft_ms, 0.0) / (output_tokens - 1)

    input_cost, output_cost, total_cost = _costs(
        (_float(get(F.COST_USD)), _float(get(F.INPUT_COST_USD)), _float(get(F.OUTPUT_COST_USD))),
        prices=prices,
        model=response_model or request_model,
        tokens=(input_tokens, output_tokens, cached_tokens),
    )
    tool_name = _str(get(F.TOOL_NAME))
    if not tool_name and not _families.NAME_SUFFIX_ATTRIBUTES.isdisjoint(attrs):
        tool_name = _name_suffix(span.name, attrs, F.TOOL_NAME)
    tool_arguments = _str(get(F.TOOL_ARGUMENTS))
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
        "status_code": min(_int(get(F.STATUS_CODE)), 65535),
        "error": error,
        "provider": _str(get(F.PROVIDER)),
        "request_model": request_model,
        "response_model": response_model,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cached_tokens": cached_tokens,
        "cache_creation_tokens": _int(get(F.CACHE_CREATION_TOKENS)),
        "reasoning_tokens": _int(get(F.REASONING_TOKENS)),
        "ttft_ms": ttft_ms,
        "tpot_ms": tpot_ms,
        "tbt_max_ms": _duration_ms(picked, F.TBT_MAX, index),
        "tbt_p95_ms": _duration_ms(picked, F.TBT_P95, index),
        "finish_reasons": finish_reasons(get(F.FINISH_REASONS)),
        "input_cost_usd": input_cost,
        "output_cost_usd": output_cost,
        "cost_usd": total_cost,
        "session_id": _str(get(F.SESSION_ID)) or resource.session_id,
        "user_id": _str(get(F.USER_ID)) or resource.user_id,
        "layer": _str(get(F.LAYER)) or ("" if kind_row is None else kind_row.layer),
        "tool_name": tool_name,
        "tool_arguments": tool_arguments,
        **(k8s_fields(resource.attributes, attrs) if has_k8s else resource.k8s),
        "attributes": kept,
        "resource_attributes": resource.text,
        "events": json.dumps(events, default=str) if events else "",
        "ingested_at": now,  # already a ClickHouse time string
        # A span recorded on behalf of a caller that has its own span of the same call (the
        # gateway below the app's probe) is shown but left out of aggregates (0004_counted.sql).
        "counted": 0 if get(F.CALLER_SPAN_ID) else 1,
    }
    return NormalisedSpan(row, content)


def _duration_ms(
    picked: Mapping[str, _families.Picked], name: str, index: _families.Index
) -> float | None:
    """A duration field in ms by its row's unit; 0 is "not measured" (OpenLIT writes 0 TPOT
    for unstreamed calls), never a real first-token time or token gap."""
    found = picked.get(name)
    if found is None:  # the common case: return before any other work
        return None
    number = _float(found[2])
    if not number:
        return None
    row = index.fields.get(found[1])
    unit = row.unit if row is not None else "s"
    return number * F.DURATION_UNITS.get(unit, 1000.0)


def _name_suffix(name: str, attrs: Mapping[str, Any], target: str) -> str:
    """A field named in the span name (``MCP send tools/call NAME``), per the family tables."""
    for rule in _families.NAME_SUFFIXES:
        if rule.field == target and attrs.get(rule.attribute) == rule.value:
            head = rule.value + " "
            at = name.find(head)
            if at >= 0:
                return name[at + len(head) :].strip()
    return ""


def _costs(
    given: tuple[float | None, float | None, float | None],
    *,
    prices: PriceTable,
    model: str,
    tokens: tuple[int, int, int],
) -> tuple[float, float, float]:
    """(input, output, total) USD: the producer's own figures when present, else the price table.

    ``given`` is the producer's (total, input, output); ``tokens`` (input, output, cached input).
    """
    total, given_in, given_out = given
    # A producer's zero is "not priced" (OpenLIT sends 0 when it could not fetch its price list),
    # not "free": the price table prices a free model at 0 all the same.
    if total is not None and total > 0:
        if given_in is not None or given_out is not None:
            return given_in or 0.0, given_out or 0.0, total
        priced = prices.cost(model, *tokens)
        if priced is not None and priced.total_usd > 0:
            # Split the given total in the price table's input/output proportion.
            share = priced.input_usd / priced.total_usd
            return total * share, total * (1 - share), total
        return total, 0.0, total
    priced = prices.cost(model, *tokens)
    if priced is None:
        return 0.0, 0.0, 0.0
    return priced.input_usd, priced.output_usd, priced.total_usd
