"""The query API's SQL: one function per endpoint, results shaped as the API returns them.

Aggregates of requests, tokens, cost and latency use only ``counted`` spans (see ``COUNTED``).
Aggregates read without ``FINAL`` (it costs ~10x at a million spans): the writer drops spans it
has already stored (retries, a replayed spool batch), and ReplacingMergeTree merges remove any
copy that slips through. Lookups of one trace or session's content read ``FINAL``. Times come back
as unix milliseconds and durations in milliseconds; parameters are bound server-side.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmobs_semconv import span_kinds
from llmobs_store import model_servers
from llmobs_store.storage import Storage

_TRUNCATE = 4096
_GENAI_CALLS = (span_kinds.LLM, span_kinds.EMBEDDING)
USAGE_KEYS = {
    "model": "if(response_model != '', response_model, request_model)",
    "service": "service",
    "user": "user_id",
    "session": "session_id",
    "namespace": "k8s_namespace",
}
# One LLM call recorded by two layers (the app's span and the gateway's span under it) is
# aggregated once: the layer that marks its span with llmobs.caller.span_id stores counted = 0.
# Lists and single traces still show every span.
COUNTED = "counted = 1"
_COUNTED_SUMS = (
    "sumIf(input_tokens, counted = 1) AS input_tokens, "
    "sumIf(output_tokens, counted = 1) AS output_tokens, sumIf(cost_usd, counted = 1) AS cost_usd"
)
_RANGE = (
    "start_time >= fromUnixTimestamp64Milli({start:Int64}) "
    "AND start_time < fromUnixTimestamp64Milli({end:Int64})"
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
        where = [_RANGE, "parent_span_id = ''"]
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
        """One summary row per trace (root name and service, totals), in the given order."""
        if not trace_ids:
            return []
        rows = self._rows(
            "SELECT trace_id, "
            "argMin(name, (parent_span_id != '', start_time)) AS name, "
            "argMin(service, (parent_span_id != '', start_time)) AS service, "
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
        by_id = {row["trace_id"]: row for row in rows}
        return [by_id[t] for t in trace_ids if t in by_id]

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        spans = self._rows(
            "SELECT trace_id, span_id, parent_span_id, name, kind, otel_kind, service, "
            "toUnixTimestamp64Milli(start_time) AS start_ms, "
            "toUnixTimestamp64Milli(end_time) AS end_ms, duration_ms, status, status_code, "
            "error, provider, request_model, response_model, input_tokens, output_tokens, "
            "cached_tokens, reasoning_tokens, ttft_ms, tpot_ms, tbt_max_ms, tbt_p95_ms, "
            "finish_reasons, input_cost_usd, output_cost_usd, cost_usd, session_id, user_id, "
            "layer, tool_name, tool_arguments, k8s_namespace, k8s_pod, k8s_node, k8s_workload, "
            "k8s_container, attributes, resource_attributes, events, counted "
            "FROM $db.spans FINAL WHERE trace_id = {trace_id:String} ORDER BY start_time, span_id",
            {"trace_id": trace_id},
        )
        if not spans:
            return None
        content = self.content_for(trace_id, None)
        for span in spans:
            span["k8s"] = {
                name: span.pop(f"k8s_{name}")
                for name in ("namespace", "pod", "node", "workload", "container")
            }
            span["content"] = {
                role: content.get((span["span_id"], role)) for role in ("input", "output")
            }
        return {"trace_id": trace_id, "spans": spans}

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
        params: dict[str, Any] = {"start": start, "end": end, "limit": limit, "offset": offset}
        user = ""
        if user_id:
            user, params["user_id"] = " AND user_id = {user_id:String}", user_id
        # Page the sessions on their session-tagged spans (narrow), then total every trace in
        # which any span names one of them: a session's spans are all those traces' spans.
        page = self._rows(
            "SELECT session_id, max(end_time) AS last, count() OVER () AS total "
            f"FROM $db.spans WHERE {_RANGE} AND session_id != ''{user} GROUP BY session_id "
            "ORDER BY last DESC, session_id LIMIT {limit:UInt32} OFFSET {offset:UInt32}",
            params,
        )
        if not page:
            return {"items": [], "total": 0}
        ids = [row["session_id"] for row in page]
        rows = self._rows(
            "SELECT sid AS session_id, anyIf(uid, uid != '') AS user_id, "
            "toUnixTimestamp64Milli(min(t_start)) AS start_ms, "
            "toUnixTimestamp64Milli(max(t_end)) AS end_ms, count() AS turns, "
            "sum(t_in) AS input_tokens, sum(t_out) AS output_tokens, sum(t_cost) AS cost_usd, "
            "sum(t_err) AS errors FROM ("
            "SELECT trace_id, anyIf(session_id, session_id != '') AS sid, "
            "anyIf(user_id, user_id != '') AS uid, min(start_time) AS t_start, "
            "max(end_time) AS t_end, sumIf(input_tokens, counted = 1) AS t_in, "
            "sumIf(output_tokens, counted = 1) AS t_out, sumIf(cost_usd, counted = 1) AS t_cost, "
            "countIf(status = 'ERROR' AND counted = 1) AS t_err "
            "FROM $db.spans WHERE trace_id IN (SELECT trace_id FROM $db.spans WHERE "
            f"{_RANGE} AND session_id IN {{ids:Array(String)}}) GROUP BY trace_id) "
            "WHERE sid IN {ids:Array(String)} GROUP BY sid",
            {**params, "ids": ids},
        )
        by_id = {row["session_id"]: row for row in rows}
        items = [by_id[i] for i in ids if i in by_id]
        return {"items": items, "total": int(page[0]["total"])}

    def session(self, session_id: str) -> dict[str, Any] | None:
        turns = self._rows(
            "SELECT trace_id, toUnixTimestamp64Milli(min(start_time)) AS start_ms, "
            "(toUnixTimestamp64Micro(max(end_time)) - toUnixTimestamp64Micro(min(start_time)))"
            " / 1000 AS duration_ms, "
            "argMinIf(if(response_model != '', response_model, request_model), start_time, "
            "kind = 'LLM') AS model, "
            # The user's question is the first LLM call's input; the answer is the last LLM
            # call's output (a turn with a tool call ends with the model's final reply).
            "argMinIf(span_id, start_time, kind = 'LLM' AND counted = 1) AS first_llm, "
            "argMaxIf(span_id, end_time, kind = 'LLM' AND counted = 1) AS last_llm, "
            "anyIf(user_id, user_id != '') AS user_id, "
            f"{_COUNTED_SUMS}, minIf(ttft_ms, kind = 'LLM') AS ttft_ms, "
            "if(countIf(status = 'ERROR') > 0, 'ERROR', 'OK') AS status "
            "FROM $db.spans FINAL WHERE trace_id IN "
            "(SELECT trace_id FROM $db.spans WHERE session_id = {session_id:String}) "
            "GROUP BY trace_id ORDER BY start_ms, trace_id",
            {"session_id": session_id},
        )
        if not turns:
            return None
        span_ids = sorted({t[k] for t in turns for k in ("first_llm", "last_llm") if t[k]})
        content = self.content_for(None, span_ids, max_chars=_TRUNCATE) if span_ids else {}
        user_id = next((t["user_id"] for t in turns if t["user_id"]), "")
        for turn in turns:
            first, last = turn.pop("first_llm"), turn.pop("last_llm")
            turn.pop("user_id")
            for role, span_id in (("input", first), ("output", last)):
                record = content.get((span_id, role))
                turn[role] = record["text"] if record else None
        totals = {
            "turns": len(turns),
            "input_tokens": sum(t["input_tokens"] for t in turns),
            "output_tokens": sum(t["output_tokens"] for t in turns),
            "cost_usd": sum(t["cost_usd"] for t in turns),
            "errors": sum(1 for t in turns if t["status"] == "ERROR"),
            "duration_ms": sum(t["duration_ms"] for t in turns),
        }
        return {"session_id": session_id, "user_id": user_id, "turns": turns, "totals": totals}

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
        rows = self._rows(
            # Aliases differ from column names: ClickHouse resolves aliases inside WHERE.
            f"SELECT {key} AS key, countIf(kind IN ({calls})) AS requests, "
            "sum(input_tokens) AS u_in, sum(output_tokens) AS u_out, "
            "sum(input_cost_usd) AS u_in_cost, sum(output_cost_usd) AS u_out_cost, "
            f"sum(cost_usd) AS u_cost FROM $db.spans WHERE {_RANGE} AND {COUNTED} "
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
            f"WHERE trace_id IN {{ids:Array(String)}} AND kind = 'LLM' AND {COUNTED}",
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
