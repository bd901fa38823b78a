"""The family tables (``llmobs_semconv.families``) compiled for the normaliser's hot path.

At import every table becomes plain dicts: attribute name -> row, kind attribute -> value ->
row, span event name -> meaning. Per span the normaliser then does one dict lookup per
attribute key, a handful for the kind attributes, and a prefix test only for keys no table
names (flattened messages). Which row wins for a field is decided by rank, never by the order
attributes arrived in.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from llmobs_semconv import families
from llmobs_semconv.families import Attr, Flattened, Kind
from llmobs_semconv.families import _rows as F

# A picked value: (rank, attribute name, value).
Picked = tuple[int, str, Any]


@dataclass(frozen=True)
class Index:
    """One compiled view: the open families, or the open ones plus a guarded family."""

    fields: dict[str, Attr]
    kinds: dict[str, dict[str, Kind]]
    flat_prefixes: tuple[str, ...]
    flattened: dict[str, Flattened]

    @classmethod
    def of(cls, fields: dict[str, Attr], kinds: families.KindIndex) -> "Index":
        flattened = {row.prefix: row for row in families.FLATTENED}
        return cls(
            fields=fields,
            kinds=kinds,
            flat_prefixes=tuple(flattened),
            flattened=flattened,
        )

    def pick(
        self, values: Mapping[str, Any], flat: list[str] | None = None
    ) -> tuple[dict[str, Picked], Kind | None]:
        """The best-ranked present attribute per field, and the best-ranked kind row; keys no
        table names but a flattened prefix starts go to ``flat``. One pass, one lookup a key."""
        picked: dict[str, Picked] = {}
        kind: Kind | None = None
        fields_get = self.fields.get
        kinds_get = self.kinds.get
        prefixes = self.flat_prefixes
        for key, value in values.items():
            row = fields_get(key)
            if row is None:
                by_value = kinds_get(key)
                if by_value is not None:
                    if value is None or value == "":
                        continue
                    found = by_value.get(value.lower()) if isinstance(value, str) else None
                    if found is None:
                        found = by_value.get("*")
                    if found is not None and (kind is None or found.rank > kind.rank):
                        kind = found
                elif flat is not None and key.startswith(prefixes):
                    flat.append(key)
                continue
            if value is None or value == "":
                continue
            best = picked.get(row.field)
            if best is None or row.rank > best[0]:
                picked[row.field] = (row.rank, key, value)
        return picked, kind


BASE = Index.of(families.ATTRIBUTES, families.KINDS)
GUARDED: tuple[tuple[str, str, Index], ...] = tuple(
    (g.attribute, g.value, Index.of(g.attributes, g.kinds)) for g in families.GUARDED
)
SPAN_EVENTS = {name: row.meaning for name, row in families.SPAN_EVENTS.items()}
NAME_SUFFIXES = families.NAME_SUFFIXES
NAME_SUFFIX_ATTRIBUTES = frozenset(rule.attribute for rule in NAME_SUFFIXES)
_GUARD_ATTRIBUTES = frozenset(attribute for attribute, _, _ in GUARDED)
CONTENT_FIELDS = frozenset(F.CONTENT_FIELDS)


def index_for(values: Mapping[str, Any]) -> Index:
    """The guarded family's index when the span carries its guard, else the open one."""
    if _GUARD_ATTRIBUTES.isdisjoint(values):
        return BASE
    for attribute, value, index in GUARDED:
        if values.get(attribute) == value:
            return index
    return BASE


def flattened_content(
    index: Index, keys: Iterable[str], values: Mapping[str, Any]
) -> dict[str, tuple[int, str, list[str]]]:
    """Content rebuilt from flattened attributes: field -> (rank, JSON text, keys used)."""
    by_prefix: dict[str, list[str]] = {}
    for key in keys:
        for prefix in index.flat_prefixes:
            if key.startswith(prefix):
                by_prefix.setdefault(prefix, []).append(key)
                break
    found: dict[str, tuple[int, str, list[str]]] = {}
    for prefix, used in by_prefix.items():
        row = index.flattened[prefix]
        items = unflatten(prefix, row.wrappers, ((k, values[k]) for k in used))
        if not items:
            continue
        best = found.get(row.field)
        if best is None or row.rank > best[0]:
            text = json.dumps(items, ensure_ascii=False, separators=(",", ":"), default=str)
            found[row.field] = (row.rank, text, used)
    return found


def unflatten(
    prefix: str, wrappers: tuple[str, ...], pairs: Iterable[tuple[str, Any]]
) -> list[Any]:
    """``PREFIX<n>.<a>.<b>`` pairs -> item n as nested dicts and lists, wrapper segments dropped."""
    items: dict[int, dict[Any, Any]] = {}
    for key, value in pairs:
        number, _, path = key[len(prefix) :].partition(".")
        if not number.isdigit() or not path:
            continue
        node = items.setdefault(int(number), {})
        parts = [p for p in path.split(".") if p not in wrappers]
        if not parts:
            continue
        for part in parts[:-1]:
            child = node.get(_segment(part))
            if not isinstance(child, dict):
                child = node[_segment(part)] = {}
            node = child
        node[_segment(parts[-1])] = value
    return [_listify(items[n]) for n in sorted(items)]


def _segment(part: str) -> Any:
    return int(part) if part.isdigit() else part


def _listify(node: Any) -> Any:
    """Dicts whose keys are all indices become lists, in index order."""
    if not isinstance(node, dict):
        return node
    if node and all(isinstance(k, int) for k in node):
        return [_listify(node[k]) for k in sorted(node)]
    return {str(k): _listify(v) for k, v in node.items()}
