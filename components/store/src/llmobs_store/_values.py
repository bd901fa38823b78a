"""OTLP values as plain Python values and as text, and the lenient coercions ingest reads with.

A producer may send a token count as a string, a cost as NaN or a duration as a negative float:
the coercions here turn what cannot be a count, a cost or a duration into 0 / None instead of
failing the span.
"""

import json
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any


def any_value(value: Any) -> Any:
    """An OTLP ``AnyValue`` as a plain Python value."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, which)


def key_values(kvs: Iterable[Any]) -> dict[str, Any]:
    """Repeated ``KeyValue`` as a dict (the last duplicate key wins)."""
    return {kv.key: any_value(kv.value) for kv in kvs}


def as_text(value: Any) -> str:
    """How an attribute value is kept in the string map: strings as-is, the rest as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def ch_time(ns: int) -> str:
    """A unix-ns time as ClickHouse reads DateTime64(6) from JSON: ``sec.micro``, ten digits of
    seconds (a shorter string, a time before 2001-09-09, is read as a date and refused)."""
    return f"{ns // 1_000_000_000:010d}.{(ns // 1000) % 1_000_000:06d}"


def now_time() -> str:
    """The current time in :func:`ch_time` form (row versions, arrival times)."""
    return ch_time(time.time_ns())


def _first(attrs: Mapping[str, Any], keys: Iterable[str]) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return value
    return None


def _int(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return 0
    try:
        number = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return 0
    return max(number, 0)


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _seconds_to_ms(value: Any) -> float | None:
    number = _float(value)
    return None if number is None else number * 1000.0


def _str(value: Any) -> str:
    return "" if value is None else (value if isinstance(value, str) else as_text(value))


def _attributes(kvs: Iterable[Any]) -> tuple[dict[str, Any], dict[str, str], bool]:
    """Span attributes as values and as text in one pass; also whether any is a k8s.* key."""
    values: dict[str, Any] = {}
    texts: dict[str, str] = {}
    k8s = False
    for kv in kvs:
        key, value = kv.key, kv.value
        which = value.WhichOneof("value")
        if which == "string_value":
            values[key] = texts[key] = value.string_value
        elif which == "int_value":
            number = values[key] = value.int_value
            texts[key] = str(number)
        elif which == "bool_value":
            flag = values[key] = value.bool_value
            texts[key] = "true" if flag else "false"
        else:
            plain = values[key] = any_value(value)
            texts[key] = as_text(plain)
        if key.startswith("k8s."):
            k8s = True
    return values, texts, k8s
