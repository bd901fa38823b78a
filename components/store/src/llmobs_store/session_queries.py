"""The Sessions view's SQL: the list of sessions and one session turn by turn.

A span belongs to the session (and user) it names, else to the one its nearest ancestor names
(inherited, from the tree pass: ``_tree_sql.joined``). A session's turns are the traces with a span
naming it; its tokens, cost and errors are those of its counted spans, so the list, one session
and usage by session add up to the same figures.
"""

from collections.abc import Callable, Sequence
from typing import Any

from llmobs_store import _tree_sql as tree

Rows = Callable[[str, dict[str, Any]], list[dict[str, Any]]]
_TRUNCATE = 4096
_RANGE = (
    "start_time >= fromUnixTimestamp64Milli({start:Int64}) "
    "AND start_time < fromUnixTimestamp64Milli({end:Int64})"
)
ContentFor = Callable[
    [str | None, Sequence[str] | None, int], dict[tuple[str, str], dict[str, Any]]
]


def sessions(  # noqa: PLR0917 - the endpoint's parameters, as Queries.sessions takes them
    rows: Rows, start: int, end: int, user_id: str | None, limit: int, offset: int
) -> dict[str, Any]:
    params: dict[str, Any] = {"start": start, "end": end, "limit": limit, "offset": offset}
    # Page the sessions on the spans that name one (narrow), then total the spans of every
    # trace that has one of them: a session's spans can only be in those traces.
    source, user = "$db.spans AS s", ""
    if user_id:
        # The user may be named by an ancestor of the span that names the session.
        source = f"$db.spans AS s {tree.joined(_RANGE)}"
        user, params["user_id"] = f" AND {tree.USER_JOINED} = {{user_id:String}}", user_id
    page = rows(
        "SELECT s.session_id AS session_id, max(s.end_time) AS last, count() OVER () AS total "
        f"FROM {source} WHERE {_RANGE} AND s.session_id != ''{user} GROUP BY session_id "
        "ORDER BY last DESC, session_id LIMIT {limit:UInt32} OFFSET {offset:UInt32}",
        params,
    )
    if not page:
        return {"items": [], "total": 0}
    ids = [row["session_id"] for row in page]
    traces = (
        f"(SELECT trace_id FROM $db.spans WHERE {_RANGE} AND session_id IN {{ids:Array(String)}})"
    )
    found = rows(
        "SELECT sid AS session_id, anyIf(uid, uid != '') AS user_id, "
        "toUnixTimestamp64Milli(min(st)) AS start_ms, toUnixTimestamp64Milli(max(et)) AS end_ms, "
        "uniqExact(trace_id) AS turns, sumIf(i, c) AS input_tokens, sumIf(o, c) AS output_tokens, "
        "sumIf(cost, c) AS cost_usd, countIf(err AND c) AS errors FROM ("
        f"SELECT s.trace_id AS trace_id, {tree.SESSION_JOINED} AS sid, {tree.USER_JOINED} AS uid, "
        "s.start_time AS st, s.end_time AS et, s.input_tokens AS i, s.output_tokens AS o, "
        f"s.cost_usd AS cost, {tree.COUNTED_JOINED} AS c, s.status = 'ERROR' AS err "
        f"FROM $db.spans AS s {tree.joined(f'trace_id IN {traces}')} "
        f"WHERE s.trace_id IN {traces}) WHERE sid IN {{ids:Array(String)}} GROUP BY sid",
        {**params, "ids": ids},
    )
    by_id = {row["session_id"]: row for row in found}
    items = [by_id[i] for i in ids if i in by_id]
    return {"items": items, "total": int(page[0]["total"])}


def session(rows: Rows, content_for: ContentFor, session_id: str) -> dict[str, Any] | None:
    traces = "(SELECT trace_id FROM $db.spans WHERE session_id = {session_id:String})"
    counted = tree.COUNTED_JOINED
    mine = f"{counted} AND {tree.SESSION_JOINED} = {{session_id:String}}"
    turns = rows(
        "SELECT s.trace_id AS trace_id, toUnixTimestamp64Milli(min(s.start_time)) AS start_ms, "
        "(toUnixTimestamp64Micro(max(s.end_time)) - toUnixTimestamp64Micro(min(s.start_time)))"
        " / 1000 AS duration_ms, "
        "argMinIf(if(s.response_model != '', s.response_model, s.request_model), s.start_time, "
        "s.kind = 'LLM') AS model, "
        # The user's question is the first LLM call's input; the answer is the last LLM
        # call's output (a turn with a tool call ends with the model's final reply).
        f"argMinIf(s.span_id, s.start_time, s.kind = 'LLM' AND {counted}) AS first_llm, "
        f"argMaxIf(s.span_id, s.end_time, s.kind = 'LLM' AND {counted}) AS last_llm, "
        f"anyIf({tree.USER_JOINED}, {tree.USER_JOINED} != '') AS user_id, "
        f"sumIf(s.input_tokens, {mine}) AS input_tokens, "
        f"sumIf(s.output_tokens, {mine}) AS output_tokens, "
        f"sumIf(s.cost_usd, {mine}) AS cost_usd, minIf(s.ttft_ms, s.kind = 'LLM') AS ttft_ms, "
        "if(countIf(s.status = 'ERROR') > 0, 'ERROR', 'OK') AS status "
        f"FROM $db.spans AS s FINAL {tree.joined(f'trace_id IN {traces}')} "
        f"WHERE s.trace_id IN {traces} GROUP BY s.trace_id ORDER BY start_ms, trace_id",
        {"session_id": session_id},
    )
    if not turns:
        return None
    span_ids = sorted({t[k] for t in turns for k in ("first_llm", "last_llm") if t[k]})
    content = content_for(None, span_ids, _TRUNCATE) if span_ids else {}
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
