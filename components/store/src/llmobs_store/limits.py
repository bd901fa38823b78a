"""Value limits at ingest, derived from the column types the migrations declare.

ClickHouse refuses a whole insert for one value outside its column's type (``-1`` in a
``UInt8``, a time past what ``DateTime64`` text can carry), and silently wraps others (``300`` in
a ``UInt8`` is stored as ``44``). Rather than copying numbers by hand, this module reads the
``CREATE TABLE`` and ``ADD COLUMN`` statements shipped in ``migrations/`` (the schema is the one
source of truth) and clamps every integer and time value of a row into its column's range before
the row is encoded. What still fails is isolated by the writer's bisection (see ``writer.py``).
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from llmobs_store.schema import SchemaTarget, load_migrations

# On a cluster the columns are declared on ``name_local ON CLUSTER c`` (the Distributed ``name``
# has none): both renderings must give the same table names, or nothing is clamped.
_CREATE = re.compile(
    r"CREATE TABLE IF NOT EXISTS \w+\.(\w+?)(?:_local)?(?:\s+ON CLUSTER \S+)?\s*\((.*)\)\s*ENGINE",
    re.DOTALL,
)
_ADD = re.compile(
    r"ALTER TABLE \w+\.(\w+?)(?:_local)?(?:\s+ON CLUSTER \S+)?\s+.*?ADD COLUMN IF NOT EXISTS "
    r"(\w+) (.*)",
    re.DOTALL,
)
_TTL = re.compile(r"\bTTL\s+toDateTime\((\w+)\)\s*\+\s*INTERVAL\s+(\d+)\s+DAY")
_INT = re.compile(r"^(U?)Int(8|16|32|64|128|256)$")
_WRAPPERS = ("Nullable", "LowCardinality")
# DateTime64 is rendered as unix "seconds.fraction" text (normaliser.ch_time); ClickHouse reads
# at most ten digits of seconds from that form (9999999999 s is 2286-11-20), below the type's own
# upper end (2299-12-31), so ten digits is the limit that matters. Times are unsigned at ingest.
_TIME_SECONDS_DIGITS = 10
# A column a TTL reads as toDateTime(col) + INTERVAL n DAY must fit DateTime (a UInt32 of seconds)
# with the interval added: past that it wraps to a time already expired, and ClickHouse silently
# drops the row at insert.
_DATETIME = "UInt32"
# The schema as rendered for this process's target (one store per process: chDB hosts one engine).
_rendered: dict[str, SchemaTarget] = {"target": SchemaTarget()}


def use_target(target: SchemaTarget) -> None:
    """Derive the limits from the schema as rendered for ``target`` (its retention)."""
    if target != _rendered["target"]:
        _rendered["target"] = target
        schema_columns.cache_clear()
        ttl_columns.cache_clear()
        table_limits.cache_clear()


@dataclass(frozen=True)
class ColumnLimit:
    """How one column's values are clamped: an integer range, or the time text's width."""

    column: str
    kind: str  # "int" | "time"
    low: int = 0
    high: int = 0
    array: bool = False
    precision: int = 0  # digits of the fraction of a time
    max_seconds: int = 10**_TIME_SECONDS_DIGITS - 1  # of a time


def _type_at(text: str) -> str:
    """The column type at the start of ``text`` (parenthesis-aware, up to a space or comma)."""
    depth = 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and (char in " ,\n"):
            return text[:index]
    return text.strip()


def _unwrap(type_name: str) -> tuple[str, bool]:
    array = False
    changed = True
    while changed:
        changed = False
        for wrapper in (*_WRAPPERS, "Array"):
            if type_name.startswith(wrapper + "(") and type_name.endswith(")"):
                type_name = type_name[len(wrapper) + 1 : -1]
                array = array or wrapper == "Array"
                changed = True
    return type_name, array


def limit_of(column: str, type_name: str) -> ColumnLimit | None:
    """The clamp for a column of ``type_name``, or None when any value of its kind fits."""
    inner, array = _unwrap(type_name)
    match = _INT.match(inner)
    if match:
        bits = int(match.group(2))
        if match.group(1):
            return ColumnLimit(column, "int", 0, 2**bits - 1, array)
        return ColumnLimit(column, "int", -(2 ** (bits - 1)), 2 ** (bits - 1) - 1, array)
    if inner.startswith("DateTime64("):
        precision = int(inner[len("DateTime64(") :].split(",")[0].split(")")[0])
        return ColumnLimit(column, "time", array=array, precision=precision)
    return None


def _columns(body: str) -> Iterator[tuple[str, str]]:
    for line in body.splitlines():
        words = line.strip().split(None, 1)
        if len(words) == 2 and words[0] != "INDEX" and re.match(r"^\w+$", words[0]):
            yield words[0], _type_at(words[1])


@cache
def schema_columns() -> dict[str, dict[str, str]]:
    """table -> column -> type, as the shipped migrations declare them (``_local`` left off)."""
    tables: dict[str, dict[str, str]] = {}
    for migration in load_migrations(_rendered["target"]):
        for statement in migration.statements:
            if created := _CREATE.search(statement):
                tables.setdefault(created.group(1), {}).update(_columns(created.group(2)))
            elif added := _ADD.search(statement):
                tables.setdefault(added.group(1), {})[added.group(2)] = _type_at(added.group(3))
    return tables


@cache
def ttl_columns() -> dict[str, tuple[str, int]]:
    """table -> (column its TTL reads through toDateTime(), days added), from the migrations."""
    found: dict[str, tuple[str, int]] = {}
    for migration in load_migrations(_rendered["target"]):
        for statement in migration.statements:
            created, ttl = _CREATE.search(statement), _TTL.search(statement)
            if created and ttl:
                found[created.group(1)] = (ttl.group(1), int(ttl.group(2)))
    return found


@cache
def table_limits(table: str) -> tuple[ColumnLimit, ...]:
    """The clamps of one table's columns that have a limited range."""
    limits = []
    for column, type_name in schema_columns().get(table, {}).items():
        limit = limit_of(column, type_name)
        if limit is None:
            continue
        ttl_column, ttl_days = ttl_columns().get(table, ("", 0))
        if limit.kind == "time" and ttl_column == column:
            datetime = limit_of(column, _DATETIME)
            assert datetime is not None
            seconds = min(limit.max_seconds, datetime.high - ttl_days * 86400)
            limit = ColumnLimit(column, "time", precision=limit.precision, max_seconds=seconds)
        limits.append(limit)
    return tuple(limits)


def _clamp_int(value: Any, limit: ColumnLimit) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        return value
    return min(max(value, limit.low), limit.high)


def _clamp_time(value: Any, limit: ColumnLimit) -> Any:
    if not isinstance(value, str):
        return value
    seconds = value.partition(".")[0]
    if len(seconds) > _TIME_SECONDS_DIGITS or int(seconds) > limit.max_seconds:
        return f"{limit.max_seconds:0{_TIME_SECONDS_DIGITS}d}." + "9" * limit.precision
    return value


def clamp_row(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """Bring every limited value of ``row`` into its column's range (in place; returns it)."""
    for limit in table_limits(table):
        if limit.column not in row:
            continue
        value = row[limit.column]
        clamp = _clamp_int if limit.kind == "int" else _clamp_time
        if limit.array and isinstance(value, list):
            row[limit.column] = [clamp(v, limit) for v in value]
        else:
            row[limit.column] = clamp(value, limit)
    return row


def expiry_cutoff(table: str, now_seconds: int) -> tuple[str, int] | None:
    """(column, oldest second kept) of a table with a TTL: older rows ClickHouse drops at insert."""
    found = ttl_columns().get(table)
    if found is None:
        return None
    return found[0], now_seconds - found[1] * 86400


def is_expired(table: str, row: dict[str, Any], now_seconds: int) -> bool:
    """Whether ``row`` is already past its table's TTL (it would vanish silently at insert)."""
    cutoff = expiry_cutoff(table, now_seconds)
    if cutoff is None or not isinstance(row.get(cutoff[0]), str):
        return False
    return int(row[cutoff[0]].partition(".")[0]) < cutoff[1]
