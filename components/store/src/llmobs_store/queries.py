"""The query API's SQL: one function per endpoint, results shaped as the API returns them.

Aggregates of requests, tokens, cost and latency use only the spans the trace-tree rule counts
(one per LLM call however many layers recorded it: ``_tree.py``, read through ``_tree_sql.py``).
Aggregates read without ``FINAL`` (it costs ~10x at a million spans): the writer drops spans it
has already stored (retries, a replayed spool batch), and ReplacingMergeTree merges remove any
copy that slips through. Lookups of one trace or session's content read ``FINAL``. Times come back
as unix milliseconds and durations in milliseconds; parameters are bound server-side. The Sessions
view's SQL is in ``session_queries.py``.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmobs_semconv import span_kinds
from llmobs_store import _tree_sql as tree
from llmobs_store import model_servers, session_queries
from llmobs_store.storage import Storage

_GENAI_CALLS = (span_kinds.LLM, span_kinds.EMBEDDING)
USAGE_KEYS = {
    "model": "if(response_model != '', response_model, request_model)",
    "service": "service",
    "user": tree.USER_JOINED,
    "session": tree.SESSION_JOINED,
    "namespace": "k8s_namespace",
}
_RANGE = (
    "start_time >= fromUnixTimestamp64Milli({start:Int64}) "
    "AND start_time < fromUnixTimestamp64Milli({end:Int64})"
)
# One LLM call recorded by several layers is aggregated once (the tree rule, _tree.py); lists and
# single traces still show every span.
COUNTED = tree.counted(_RANGE)
_IDS = "trace_id IN {ids:Array(String)}"
_COUNTED_SUMS = (
    f"sumIf(input_tokens, {tree.counted(_IDS)} AS c) AS input_tokens, "
    "sumIf(output_tokens, c) AS output_tokens, sumIf(cost_usd, c) AS cost_usd"
)


@dataclass(frozen=True)
class TraceFilter:
    """Filters of the trace search (all optional)."""

    service: str | None = None
    model: str | None = None
    kind: str | None = None
    status: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    min_duration_ms: float | None = None
    q: str | None = None


def clean(value: Any) -> Any:
    """NaN/inf (empty quantiles) → None, recursively, so JSON stays valid."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    return value


class Queries:
    """Query functions bound to one storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.db = storage.database

    def _rows(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return [clean(row) for row in self.storage.query(sql.replace("$db", self.db), params)]

    # ------------------------------------------------------------------ overview
    def overview(self, start: int, end: int, bucket_s: int) -> dict[str, Any]:
        calls = ", ".join(f"'{k}'" for k in _GENAI_CALLS)
        metrics = (
            f"countIf(kind IN ({calls})) AS requests, "
            f"countIf(kind IN ({calls}) AND status = 'ERROR') AS errors, "
            "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
            "sum(cost_usd) AS cost_usd, quantile(0.95)(ttft_ms) AS ttft_p95_ms, "
            "quantile(0.95)(tpot_ms) AS tpot_p95_ms"
        )
        params = {"start": start, "end": end, "bucket": bucket_s}
        series = self._rows(
            f"SELECT toUnixTimestamp64Milli(toDateTime64(toStartOfInterval(start_time, "
            f"INTERVAL {{bucket:UInt32}} SECOND), 3)) AS t, {metrics} "
            f"FROM $db.spans WHERE {_RANGE} AND {COUNTED} GROUP BY t ORDER BY t",
            params,
        )
        totals = self._rows(f"SELECT {metrics} FROM $db.spans WHERE {_RANGE} AND {COUNTED}", params)
        return {"series": series, "totals": totals[0] if totals else {}}

    # ------------------------------------------------------------------ traces
    def traces(
        self, start: int, end: int, flt: TraceFilter, limit: int, offset: int
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"start": start, "end": end, "limit": limit, "offset": offset}
        span_conditions = []
        for column, key, value in (
            ("service", "service", flt.service),
            ("kind", "kind", flt.kind),
            ("session_id", "session_id", flt.session_id),
            ("user_id", "user_id", flt.user_id),
        ):
            if value:
                span_conditions.append(f"{column} = {{{key}:String}}")
                params[key] = value
        if flt.model:
            span_conditions.append(
                "(response_model = {model:String} OR request_model = {model:String})"
            )
            params["model"] = flt.model
        # Page first, over root spans only (a narrow top-N scan), then aggregate just the
        # traces on the page. Each filter is "some span of the trace matches": one set of trace
        # ids per filter, intersected in one subquery (cheaper than one semi-join each).
        sets = [f"SELECT trace_id FROM $db.spans WHERE {_RANGE} AND {c}" for c in span_conditions]
        if flt.status and flt.status.upper() == "ERROR":
            sets.append(f"SELECT trace_id FROM $db.spans WHERE {_RANGE} AND status = 'ERROR'")
        if flt.q:
            params["q"] = flt.q
            sets.append(
                "SELECT trace_id FROM (SELECT trace_id FROM $db.content WHERE "
                "positionCaseInsensitive(text, {q:String}) > 0 UNION DISTINCT SELECT trace_id "
                f"FROM $db.spans WHERE {_RANGE} "
                "AND positionCaseInsensitive(name, {q:String}) > 0)"
            )
        where = [_RANGE, tree.listed(_RANGE)]
        if sets:
            where.append(f"trace_id IN ({' INTERSECT '.join(sets)})")
        if flt.status and flt.status.upper() != "ERROR":
            where.append(
                f"trace_id NOT IN (SELECT trace_id FROM $db.spans WHERE {_RANGE} "
                "AND status = 'ERROR')"
            )
        if flt.min_duration_ms is not None:
            params["min_duration"] = flt.min_duration_ms
            where.append("duration_ms >= {min_duration:Float64}")
        condition = " AND ".join(where)
        page_sql = "ORDER BY start_time DESC, trace_id LIMIT {limit:UInt32} OFFSET {offset:UInt32}"
        if len(where) > 2:
            # Filtered: few rows survive, so one query computes the filter sets once and
            # carries the total in a window.
            page = self._rows(
                f"SELECT trace_id, count() OVER () AS n FROM $db.spans WHERE {condition} "
                + page_sql,
                params,
            )
            count = int(page[0]["n"]) if page else 0
            if not page and offset:
                rows = self._rows(f"SELECT count() AS n FROM $db.spans WHERE {condition}", params)
                count = int(rows[0]["n"]) if rows else 0
        else:
            # Unfiltered: a top-N scan for the page, a plain count for the total.
            page = self._rows(
                f"SELECT trace_id FROM $db.spans WHERE {condition} " + page_sql, params
            )
            rows = self._rows(f"SELECT count() AS n FROM $db.spans WHERE {condition}", params)
            count = int(rows[0]["n"]) if rows else 0
        ids = list(dict.fromkeys(row["trace_id"] for row in page))  # a duplicate root: once
        return {"items": self.trace_summaries(ids), "total": count}

    def trace_summaries(self, trace_ids: list[str]) -> list[dict[str, Any]]:
        """One summary row per trace (root name and service, totals), in the given order.

        A trace whose root is not stored is named after the span standing in for it and marked
        ``root_missing``.
        """
        if not trace_ids:
            return []
        rows = self._rows(
            "SELECT trace_id, "
            f"argMin(name, ((NOT {tree.listed(_IDS)}) AS unlisted, start_time)) AS name, "
            "argMin(service, (unlisted, start_time)) AS service, "
            "countIf(parent_span_id = '') = 0 AS root_missing, "
            "toUnixTimestamp64Milli(min(start_time)) AS start_ms, "
            "(toUnixTimestamp64Micro(max(end_time)) - toUnixTimestamp64Micro(min(start_time)))"
            " / 1000 AS duration_ms, "
            "count() AS span_count, "
            "arraySort(groupUniqArrayIf(response_model, response_model != '')) AS models, "
            f"{_COUNTED_SUMS}, "
            "if(countIf(status = 'ERROR') > 0, 'ERROR', 'OK') AS status, "
            "anyIf(session_id, session_id != '') AS session_id, "
            "anyIf(user_id, user_id != '') AS user_id, "
            "minIf(ttft_ms, kind = 'LLM') AS ttft_ms "
            "FROM $db.spans FINAL WHERE trace_id IN {ids:Array(String)} GROUP BY trace_id",
            {"ids": trace_ids},
        )
        by_id = {row["trace_id"]: row | {"root_missing": bool(row["root_missing"])} for row in rows}
        return [by_id[t] for t in trace_ids if t in by_id]

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        spans = self._rows(
            "SELECT trace_id, span_id, parent_span_id, name, kind, otel_kind, service, "
            "toUnixTimestamp64Milli(start_time) AS start_ms, "
            "toUnixTimestamp64Milli(end_time) AS end_ms, duration_ms, status, status_code, "
            "error, provider, request_model, response_model, input_tokens, output_tokens, "
            "cached_tokens, cache_creation_tokens, reasoning_tokens, ttft_ms, tpot_ms, "
            "tbt_max_ms, tbt_p95_ms, finish_reasons, input_cost_usd, output_cost_usd, cost_usd, "
            "session_id, user_id, "
            "layer, tool_name, tool_arguments, k8s_namespace, k8s_pod, k8s_node, k8s_workload, "
            "k8s_container, attributes, resource_attributes, events, "
            f"toUInt8({tree.counted('trace_id = {trace_id:String}')}) AS counted_now "
            "FROM $db.spans FINAL WHERE trace_id = {trace_id:String} ORDER BY start_time, span_id",
            {"trace_id": trace_id},
        )
        if not spans:
            return None
        for span in spans:
            span["counted"] = span.pop("counted_now")
        content = self.content_for(trace_id, None)
        for span in spans:
            span["k8s"] = {
                name: span.pop(f"k8s_{name}")
                for name in ("namespace", "pod", "node", "workload", "container")
            }
            span["content"] = {
                role: content.get((span["span_id"], role)) for role in ("input", "output")
            }
        root_missing = not any(span["parent_span_id"] == "" for span in spans)
        return {"trace_id": trace_id, "root_missing": root_missing, "spans": spans}

    def content_for(
        self, trace_id: str | None, span_ids: Sequence[str] | None, max_chars: int = 0
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """Merged content by (span_id, role), for one trace or for given spans."""
        text = f"substring(text, 1, {int(max_chars)})" if max_chars else "text"
        params: dict[str, Any]
        if trace_id is not None:
            where, params = "trace_id = {trace_id:String}", {"trace_id": trace_id}
        else:
            where, params = (
                "span_id IN {span_ids:Array(String)}",
                {"span_ids": list(span_ids or [])},
            )
        rows = self._rows(
            f"SELECT span_id, role, format, {text} AS text, complete, chunks, bytes, redacted "
            f"FROM $db.content FINAL WHERE {where}",
            params,
        )
        return {
            (r["span_id"], r["role"]): {
                "text": r["text"],
                "format": r["format"],
                "complete": bool(r["complete"]),
                "chunks": r["chunks"],
                "bytes": r["bytes"],
                "redacted": r["redacted"],
            }
            for r in rows
        }

    # ------------------------------------------------------------------ sessions
    def sessions(
        self, start: int, end: int, user_id: str | None, limit: int, offset: int
    ) -> dict[str, Any]:
        return session_queries.sessions(self._rows, start, end, user_id, limit, offset)

    def session(self, session_id: str) -> dict[str, Any] | None:
        return session_queries.session(self._rows, self.content_for, session_id)

    # ------------------------------------------------------------------ models
    def models(self, start: int, end: int, bucket_s: int) -> dict[str, Any]:
        params = {"start": start, "end": end, "bucket": bucket_s}
        model = USAGE_KEYS["model"]
        parts = []
        for name, column in (
            ("ttft", "ttft_ms"),
            ("tpot", "tpot_ms"),
            ("tbt", "tbt_p95_ms"),
            ("latency", "duration_ms"),
        ):
            parts.append(f"quantiles(0.5, 0.95, 0.99)({column}) AS q_{name}")
        rows = self._rows(
            f"SELECT provider, {model} AS model, count() AS requests, "
            "countIf(status = 'ERROR') AS errors, "
            "sum(input_tokens) AS in_tokens, sum(output_tokens) AS out_tokens, "
            "out_tokens / nullIf(sum(greatest(duration_ms - ifNull(ttft_ms, 0), 0)) "
            "/ 1000, 0) AS output_tokens_per_s, "
            + ", ".join(parts)
            + f" FROM $db.spans WHERE {_RANGE} AND kind = 'LLM' AND {COUNTED} "
            "GROUP BY provider, model ORDER BY requests DESC, model",
            params,
        )
        for row in rows:
            row["input_tokens"] = row.pop("in_tokens")
            row["output_tokens"] = row.pop("out_tokens")
            for name in ("ttft", "tpot", "tbt", "latency"):
                q = row.pop(f"q_{name}") or [None, None, None]
                for label, value in zip(("p50", "p95", "p99"), q, strict=False):
                    row[f"{name}_{label}_ms"] = value
        series = self._rows(
            "SELECT toUnixTimestamp64Milli(toDateTime64(toStartOfInterval(start_time, "
            f"INTERVAL {{bucket:UInt32}} SECOND), 3)) AS t, {model} AS model, "
            "count() AS requests, quantile(0.95)(ttft_ms) AS ttft_p95_ms, "
            "quantile(0.95)(tpot_ms) AS tpot_p95_ms, quantile(0.95)(duration_ms) AS latency_p95_ms "
            f"FROM $db.spans WHERE {_RANGE} AND kind = 'LLM' AND {COUNTED} GROUP BY t, model "
            "ORDER BY t, model",
            params,
        )
        return {"items": rows, "series": series}

    # ------------------------------------------------------------------ model servers
    def model_servers(self, start: int, end: int, bucket_s: int) -> dict[str, Any]:
        return model_servers.report(self._rows, start, end, bucket_s)

    # ------------------------------------------------------------------ usage, errors, loops
    def usage(self, group_by: str, start: int, end: int, limit: int) -> dict[str, Any]:
        key = USAGE_KEYS[group_by]
        calls = ", ".join(f"'{k}'" for k in _GENAI_CALLS)
        source, counted = "$db.spans AS s", COUNTED
        if group_by in ("user", "session"):
            # A span without its own session or user belongs to its nearest ancestor's.
            source, counted = f"$db.spans AS s {tree.joined(_RANGE)}", tree.COUNTED_JOINED
        rows = self._rows(
            # Aliases differ from column names: ClickHouse resolves aliases inside WHERE.
            f"SELECT {key} AS key, countIf(kind IN ({calls})) AS requests, "
            "sum(input_tokens) AS u_in, sum(output_tokens) AS u_out, "
            "sum(input_cost_usd) AS u_in_cost, sum(output_cost_usd) AS u_out_cost, "
            f"sum(cost_usd) AS u_cost FROM {source} WHERE {_RANGE} AND {counted} "
            "AND (input_tokens + output_tokens > 0 OR cost_usd > 0) "
            "GROUP BY key ORDER BY u_cost DESC, u_in + u_out DESC, key "
            "LIMIT {limit:UInt32}",
            {"start": start, "end": end, "limit": limit},
        )
        names = {
            "u_in": "input_tokens",
            "u_out": "output_tokens",
            "u_in_cost": "input_cost_usd",
            "u_out_cost": "output_cost_usd",
            "u_cost": "cost_usd",
        }
        return {"items": [{names.get(k, k): v for k, v in row.items()} for row in rows]}

    def errors(self, start: int, end: int, limit: int) -> dict[str, Any]:
        rows = self._rows(
            "SELECT trace_id, span_id, toUnixTimestamp64Milli(start_time) AS start_ms, service, "
            "name, if(response_model != '', response_model, request_model) AS model, error, "
            f"status_code FROM $db.spans WHERE {_RANGE} AND status = 'ERROR' "
            "ORDER BY start_time DESC, span_id LIMIT {limit:UInt32}",
            {"start": start, "end": end, "limit": limit},
        )
        return {"items": rows}

    def loops(self, start: int, end: int, threshold: int = 3) -> dict[str, Any]:
        params = {"start": start, "end": end, "threshold": threshold}
        loops = self._rows(
            "SELECT trace_id, anyIf(session_id, session_id != '') AS session_id, tool_name, "
            "arguments, count() AS repeats, "
            "toUnixTimestamp64Micro(arraySort(groupArray(start_time))[2]) AS first_repeat_us "
            "FROM (SELECT trace_id, session_id, tool_name, start_time, "
            "replaceRegexpAll(trimBoth(tool_arguments), '\\\\s+', ' ') AS arguments "
            f"FROM $db.spans WHERE {_RANGE} AND kind = 'TOOL' AND tool_name != '') "
            "GROUP BY trace_id, tool_name, arguments HAVING repeats >= {threshold:UInt32} "
            "ORDER BY repeats DESC, trace_id LIMIT 1000",
            params,
        )
        if not loops:
            return {"items": []}
        llm = self._rows(
            "SELECT trace_id, toUnixTimestamp64Micro(start_time) AS start_us, "
            "input_tokens + output_tokens AS tokens FROM $db.spans FINAL "
            f"WHERE {_IDS} AND kind = 'LLM' AND {tree.counted(_IDS)}",
            {"ids": sorted({loop["trace_id"] for loop in loops})},
        )
        for loop in loops:
            after = loop.pop("first_repeat_us")
            loop["wasted_tokens"] = sum(
                s["tokens"]
                for s in llm
                if s["trace_id"] == loop["trace_id"] and s["start_us"] > after
            )
        return {"items": loops}
