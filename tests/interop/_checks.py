"""The capability checks: one function per column of the compatibility matrix.

Each takes what one family run produced (``FamilyRun``: the simulator's log, what the family
exported, and what the store's query API returned) and says ``pass``, ``fail`` or ``n/a`` (the
library does not record that, so there is nothing for the store to read) with a one-line
detail. The truth is always the simulator (what it served) or the family's own export (what it
said); the store is only ever read through ``/api/v1``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any

from llmobs_semconv import span_kinds
from llmobs_semconv.pricing import DEFAULT_PRICES, PriceTable
from tests.interop._stack import SIM_TTFT_S, FamilyRun, Served

CAPABILITIES: dict[str, str] = {
    "listed": "every exported trace is in the trace list",
    "kinds": "the span kinds the family names are read",
    "model": "each model call's span carries the model served",
    "tokens": "each model call's span carries the tokens served",
    "cost": "each model call's span is priced from the tokens served",
    "ttft": "the streamed call's span has its time to first token",
    "session": "the 3-turn session is one session of 3 turns",
    "user": "the session's traces carry the user",
    "content": "the prompts and completions the library captured are stored",
    "counted_once": "requests, tokens and cost total what was served, each call once",
}
PASS, FAIL, NA = "pass", "fail", "n/a"
_CALL_KINDS = {"chat": span_kinds.LLM, "embeddings": span_kinds.EMBEDDING}
_PRICES = PriceTable(DEFAULT_PRICES)  # the store runs with its shipped price table
# Where each family names a span's kind (shown when the store left one as a plain OTel kind).
_KIND_KEYS = (
    "openinference.span.kind",
    "traceloop.span.kind",
    "gen_ai.span.kind",
    "gen_ai.operation.name",
)
TURNS = 3


@dataclass(frozen=True)
class Cell:
    status: str
    detail: str


def price(served: Served) -> float:
    cost = _PRICES.cost(served.model, served.input_tokens, served.output_tokens)
    return cost.total_usd if cost is not None else 0.0


def _stored(run: FamilyRun) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """(step, stored span) for every span the store returned for the family's traces."""
    times = {s.span_id: (s.start_unix_nano, s.end_unix_nano) for s in run.exported.spans}
    for trace in run.traces.values():
        for span in trace["spans"]:
            start, end = times.get(span["span_id"], (0, 0))
            yield run.step_of(start, end), span


def _model(span: dict[str, Any]) -> str:
    return str(span.get("response_model") or span.get("request_model") or "")


def _unmatched(
    run: FamilyRun,
    served_key: Callable[[Served], Hashable],
    span_key: Callable[[dict[str, Any]], Hashable],
) -> tuple[list[Served], Counter[tuple[str | None, str, Hashable]]]:
    """Served calls with no distinct stored span of the right kind in their step whose key
    matches; also every (step, kind, key) the store had, for the detail."""
    have: Counter[tuple[str | None, str, Hashable]] = Counter()
    for step, span in _stored(run):
        if span["kind"] in _CALL_KINDS.values():
            have[(step, span["kind"], span_key(span))] += 1
    left = Counter(have)
    missing = []
    for served in run.seen():
        key = (served.step, _CALL_KINDS[served.kind], served_key(served))
        if left[key] > 0:
            left[key] -= 1
        else:
            missing.append(served)
    return missing, have


def _match_cell(
    run: FamilyRun,
    what: str,
    served_key: Callable[[Served], Hashable],
    span_key: Callable[[dict[str, Any]], Hashable],
) -> Cell:
    missing, have = _unmatched(run, served_key, span_key)
    total = len(run.seen())
    if not missing:
        return Cell(PASS, f"{total} of {total} calls")
    first = missing[0]
    there = sorted(
        str(key)
        for (step, kind, key) in have
        if (step, kind) == (first.step, _CALL_KINDS[first.kind])
    )
    return Cell(
        FAIL,
        f"{total - len(missing)} of {total} calls; e.g. {first.call} served {what} "
        f"{served_key(first)}, its {_CALL_KINDS[first.kind]} spans have {there or 'none'}",
    )


def listed(run: FamilyRun) -> Cell:
    exported = {s.trace_id for s in run.exported.spans}
    missing = exported - {item["trace_id"] for item in run.listed}
    if not missing:
        return Cell(PASS, f"{len(exported)} of {len(exported)} traces")
    rootless = [t for t in missing if all(s.parent_span_id for s in _trace(run, t))]
    return Cell(
        FAIL,
        f"{len(exported) - len(missing)} of {len(exported)} traces; {len(rootless)} of the "
        f"{len(missing)} missing have no root span (their parent was never exported)",
    )


def _trace(run: FamilyRun, trace_id: str) -> list[Any]:
    return [s for s in run.exported.spans if s.trace_id == trace_id]


def kinds(run: FamilyRun) -> Cell:
    stored = {span["span_id"]: span["kind"] for _, span in _stored(run)}
    have = set(stored.values())
    missing = run.family.kinds - have
    if not missing:
        return Cell(PASS, ", ".join(sorted(run.family.kinds)))
    unread = sorted(
        {
            f"{key}={span.attributes[key]}→{stored[span.span_id]}"
            for span in run.exported.spans
            for key in _KIND_KEYS[:3]
            if key in span.attributes and stored.get(span.span_id) in span_kinds.OTEL
        }
    )
    return Cell(FAIL, f"no {', '.join(sorted(missing))} span; unread: {'; '.join(unread[:6])}")


def model(run: FamilyRun) -> Cell:
    return _match_cell(run, "model", lambda s: s.model, _model)


def tokens(run: FamilyRun) -> Cell:
    return _match_cell(
        run,
        "input/output tokens",
        lambda s: (s.input_tokens, s.output_tokens),
        lambda span: (span["input_tokens"], span["output_tokens"]),
    )


def cost(run: FamilyRun) -> Cell:
    return _match_cell(
        run,
        "(input, output, USD)",
        lambda s: (s.input_tokens, s.output_tokens, round(price(s), 12)),
        lambda span: (span["input_tokens"], span["output_tokens"], round(span["cost_usd"], 12)),
    )


def ttft(run: FamilyRun) -> Cell:
    spans = [span for step, span in _stored(run) if step == "stream" and span["kind"] == "LLM"]
    values = [span["ttft_ms"] for span in spans if span["ttft_ms"] is not None]
    if not run.family.ttft:
        if values:
            return Cell(FAIL, f"the family table says no TTFT, yet the store has {values}")
        return Cell(NA, "the library records no time to first token")
    floor = SIM_TTFT_S * 1000
    good = [
        span
        for span in spans
        if span["ttft_ms"] is not None and floor <= span["ttft_ms"] <= span["duration_ms"] + 1
    ]
    if good:
        return Cell(PASS, f"from {run.family.ttft}")
    return Cell(
        FAIL,
        f"the streamed call's LLM spans have ttft_ms {[s['ttft_ms'] for s in spans]} "
        f"(not in [{floor:.0f} ms, duration]); the library records it as {run.family.ttft}",
    )


def _session_traces(run: FamilyRun) -> list[str]:
    """The traces of the session step that hold a model call (one per turn, or more)."""
    found = {span["trace_id"] for step, span in _stored(run) if step == "session"}
    return sorted(
        t for t in found if any(s["kind"] == span_kinds.LLM for s in run.traces[t]["spans"])
    )


def session(run: FamilyRun) -> Cell:
    traces = _session_traces(run)
    unread = [t for t in traces if not _has(run, t, "session_id", run.session_id)]
    if unread:
        return Cell(FAIL, f"no session id read on {len(unread)} of {len(traces)} turn traces")
    turns = run.session["turns"] if run.session else []
    ids = {turn["trace_id"] for turn in turns}
    if len(turns) != TURNS or not ids <= set(traces):
        return Cell(
            FAIL, f"the session has {len(turns)} turns, not {TURNS} ({len(traces)} turn traces)"
        )
    return Cell(PASS, f"{TURNS} turns")


def _has(run: FamilyRun, trace_id: str, column: str, value: str) -> bool:
    return any(span[column] == value for span in run.traces[trace_id]["spans"])


def user(run: FamilyRun) -> Cell:
    traces = _session_traces(run)
    unread = [t for t in traces if not _has(run, t, "user_id", run.user_id)]
    if unread or not traces:
        return Cell(FAIL, f"no user id read on {len(unread)} of {len(traces)} turn traces")
    return Cell(PASS, f"{len(traces)} of {len(traces)} turn traces")


def _needles(run: FamilyRun) -> list[tuple[str, str, str]]:
    """(step, role, text) the app sent or got back, for the steps whose calls are plain."""
    answers = run.result["answers"]
    needles = []
    for step in ("chat", "stream", "chain"):
        needles.append((step, "input", f"ixq-{step}:"))
        needles += [(step, "output", answer) for answer in answers.get(step, [])[:1]]
    for number, answer in enumerate(answers.get("session", [])):
        needles += [("session", "input", f"ixq-session-{number}:"), ("session", "output", answer)]
    seen_steps = {call.split(":")[0] for call in run.family.sees}
    return [n for n in needles if n[0] in seen_steps and n[2]]


def content(run: FamilyRun) -> Cell:
    captured = [n for n in _needles(run) if run.exported.captured(n[2])]
    if not captured:
        return Cell(NA, "the library exported no prompt or completion text")
    stored: dict[tuple[str | None, str], list[str]] = {}
    for step, span in _stored(run):
        for role in ("input", "output"):
            record = (span.get("content") or {}).get(role)
            if record and record.get("text"):
                stored.setdefault((step, role), []).append(record["text"])
    missing = [
        (step, role)
        for step, role, text in captured
        if not any(text in found for found in stored.get((step, role), []))
    ]
    if not missing:
        return Cell(PASS, f"{len(captured)} of {len(captured)} captured texts")
    roles = sorted({role for _, role in missing})
    return Cell(
        FAIL,
        f"{len(captured) - len(missing)} of {len(captured)} captured texts stored; "
        f"missing {' and '.join(roles)} text of {sorted({step for step, _ in missing})}",
    )


def counted_once(run: FamilyRun) -> Cell:
    seen = run.seen()
    want = (len(seen), sum(s.input_tokens for s in seen), sum(s.output_tokens for s in seen))
    usage = run.usage or {}
    got = (usage.get("requests", 0), usage.get("input_tokens", 0), usage.get("output_tokens", 0))
    want_cost, got_cost = sum(price(s) for s in seen), float(usage.get("cost_usd", 0.0))
    if got == want and abs(got_cost - want_cost) <= 1e-9 * max(want_cost, 1e-9):
        return Cell(PASS, f"{want[0]} requests, {want[1]}/{want[2]} tokens, ${want_cost:.8f}")
    return Cell(
        FAIL,
        f"requests, input, output: store {got} vs served {want}; "
        f"cost ${got_cost:.8f} vs ${want_cost:.8f}",
    )


CHECKS: dict[str, Callable[[FamilyRun], Cell]] = {
    "listed": listed,
    "kinds": kinds,
    "model": model,
    "tokens": tokens,
    "cost": cost,
    "ttft": ttft,
    "session": session,
    "user": user,
    "content": content,
    "counted_once": counted_once,
}


def check(run: FamilyRun, capability: str) -> Cell:
    return CHECKS[capability](run)
