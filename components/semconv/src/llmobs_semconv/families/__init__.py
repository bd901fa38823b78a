"""The names every common instrumentation family writes, and what each means to the llmobs model.

One module per family (OTel GenAI, OpenInference, OpenLLMetry, OpenLIT, LoongSuite, MCP,
PromptFlow, vLLM, our own extras), each a :class:`Family` of rows that name their source. The
store's normaliser reads the indexes built here at import (one dict lookup per attribute key);
``docs/conventions.md`` lists the rows. A name that two families write must mean the same to
both (same field, unit and rank; same kind): building the indexes checks it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final

from llmobs_semconv.families import (
    llmobs,
    loongsuite,
    mcp,
    openinference,
    openlit,
    openllmetry,
    otel_genai,
    promptflow,
    vllm,
)
from llmobs_semconv.families._rows import (
    Attr,
    Family,
    Flattened,
    Kind,
    LogEvent,
    NameSuffix,
    SpanEvent,
)

__all__ = [
    "ATTRIBUTES",
    "FAMILIES",
    "FLATTENED",
    "GUARDED",
    "KINDS",
    "LOG_EVENTS",
    "NAME_SUFFIXES",
    "SPAN_EVENTS",
    "Attr",
    "Family",
    "Flattened",
    "Guarded",
    "Kind",
    "LogEvent",
    "NameSuffix",
    "SpanEvent",
    "attribute_index",
    "kind_index",
]

FAMILIES: Final[tuple[Family, ...]] = (
    llmobs.FAMILY,
    otel_genai.FAMILY,
    mcp.FAMILY,
    openinference.FAMILY,
    openllmetry.FAMILY,
    openlit.FAMILY,
    loongsuite.FAMILY,
    promptflow.FAMILY,
    vllm.FAMILY,
)

KindIndex = dict[str, dict[str, Kind]]


def attribute_index(rows: Iterable[Attr], into: dict[str, Attr] | None = None) -> dict[str, Attr]:
    """Attribute name -> row; a name given twice must mean the same (field, unit, rank)."""
    index: dict[str, Attr] = dict(into or {})
    for row in rows:
        seen = index.get(row.name)
        if seen is not None and replace(seen, source="") != replace(row, source=""):
            raise ValueError(f"{row.name!r} is mapped twice inconsistently: {seen} and {row}")
        index.setdefault(row.name, row)
    return index


def kind_index(rows: Iterable[Kind], into: KindIndex | None = None) -> KindIndex:
    """Attribute -> lower-cased value (``*``: any) -> row; a pair given twice must agree."""
    index: KindIndex = {name: dict(values) for name, values in (into or {}).items()}
    for row in rows:
        values = index.setdefault(row.attribute, {})
        value = row.value.lower()
        seen = values.get(value)
        if seen is not None and replace(seen, source="") != replace(row, source=""):
            raise ValueError(
                f"{row.attribute}={row.value!r} is mapped twice inconsistently: {seen} and {row}"
            )
        values.setdefault(value, row)
    return index


def _unique(rows: Iterable[SpanEvent | LogEvent]) -> dict[str, SpanEvent | LogEvent]:
    index: dict[str, SpanEvent | LogEvent] = {}
    for row in rows:
        seen = index.get(row.name)
        if seen is not None and replace(seen, source="") != replace(row, source=""):
            raise ValueError(f"event {row.name!r} is mapped twice inconsistently")
        index.setdefault(row.name, row)
    return index


@dataclass(frozen=True)
class Guarded:
    """The indexes for spans whose ``attribute`` is ``value``: the base ones plus a family's."""

    attribute: str
    value: str
    attributes: dict[str, Attr]
    kinds: KindIndex


_OPEN = [family for family in FAMILIES if family.guard is None]

#: Attribute name -> what it fills (families without a guard).
ATTRIBUTES: Final = attribute_index(row for f in _OPEN for row in f.attributes)
#: Attribute -> value -> kind (families without a guard).
KINDS: Final = kind_index(row for f in _OPEN for row in f.kinds)
#: Span event name -> meaning.
SPAN_EVENTS: Final[dict[str, SpanEvent]] = {
    name: row
    for name, row in _unique(r for f in FAMILIES for r in f.span_events).items()
    if isinstance(row, SpanEvent)
}
#: Log event name -> how it carries content.
LOG_EVENTS: Final[dict[str, LogEvent]] = {
    name: row
    for name, row in _unique(r for f in FAMILIES for r in f.log_events).items()
    if isinstance(row, LogEvent)
}
FLATTENED: Final[tuple[Flattened, ...]] = tuple(r for f in FAMILIES for r in f.flattened)
NAME_SUFFIXES: Final[tuple[NameSuffix, ...]] = tuple(r for f in FAMILIES for r in f.name_suffixes)


def _apart(fields: dict[str, Attr], kinds: KindIndex) -> None:
    # The normaliser looks a key up as a field first and as a kind only when it is none.
    both = sorted(set(fields) & set(kinds))
    if both:
        raise ValueError(f"names both a field and a kind attribute: {both}")


_apart(ATTRIBUTES, KINDS)
#: Families limited to spans that carry their guard attribute, with their merged indexes.
GUARDED: Final[tuple[Guarded, ...]] = tuple(
    Guarded(
        attribute=f.guard[0],
        value=f.guard[1],
        attributes=attribute_index(f.attributes, into=ATTRIBUTES),
        kinds=kind_index(f.kinds, into=KINDS),
    )
    for f in FAMILIES
    if f.guard is not None
)
for _guarded in GUARDED:
    _apart(_guarded.attributes, _guarded.kinds)
