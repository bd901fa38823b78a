"""The capability checks on hand-made runs: each can fail, and says why.

The suite itself shows them passing (the reference row) and failing (the expected cells) on
real data; these pin the cases that real data does not always produce.
"""

from __future__ import annotations

from typing import Any

from tests.interop._checks import FAIL, NA, PASS, check
from tests.interop._recorder import Exported, ExportedSpan
from tests.interop._stack import FamilyRun, Served
from tests.interop.families import BY_NAME

STEP = {"step": "chat", "start_unix_nano": 1_000, "end_unix_nano": 9_000}
CALL = Served("chat", "chat", "gpt-4o-mini", 9, 12, stream=False)


def _span(span_id: str, parent: str = "", trace_id: str = "t1", **stored: Any) -> tuple:
    exported = ExportedSpan(trace_id, span_id, parent, "chat", 2_000, 3_000, {}, (), "svc")
    row = {
        "trace_id": trace_id, "span_id": span_id, "kind": "LLM", "request_model": "gpt-4o-mini",
        "response_model": "gpt-4o-mini", "input_tokens": 9, "output_tokens": 12,
        "cost_usd": 9 * 0.15e-6 + 12 * 0.6e-6, "ttft_ms": None, "duration_ms": 1.0,
        "session_id": "", "user_id": "", "content": {"input": None, "output": None},
    }  # fmt: skip
    row.update(stored)
    return exported, row


def _run(*spans: tuple, usage: dict[str, Any] | None = None, listed: bool = True) -> FamilyRun:
    exported = Exported(spans=[s for s, _ in spans])
    traces: dict[str, Any] = {}
    for _, row in spans:
        traces.setdefault(row["trace_id"], {"spans": []})["spans"].append(row)
    return FamilyRun(
        family=BY_NAME["otel-latest"],
        service="svc",
        session_id="s",
        user_id="u",
        result={"windows": [STEP], "answers": {"chat": ["an answer"], "session": []}},
        served=[CALL],
        exported=exported,
        listed=[{"trace_id": t} for t in traces] if listed else [],
        traces=traces,
        usage=usage,
        session=None,
    )


def test_a_nested_copy_of_a_call_still_matches_its_tokens_but_is_counted_twice() -> None:
    cost = 9 * 0.15e-6 + 12 * 0.6e-6
    doubled = {"requests": 2, "input_tokens": 18, "output_tokens": 24, "cost_usd": 2 * cost}
    run = _run(_span("a"), _span("b", parent="a"), usage=doubled)
    assert check(run, "tokens").status == PASS
    assert check(run, "cost").status == PASS
    counted = check(run, "counted_once")
    assert counted.status == FAIL
    assert "(2, 18, 24) vs served (1, 9, 12)" in counted.detail
    once = {"requests": 1, "input_tokens": 9, "output_tokens": 12, "cost_usd": cost}
    assert check(_run(_span("a"), usage=once), "counted_once").status == PASS


def test_a_call_whose_span_has_other_tokens_or_no_model_fails() -> None:
    tokens = check(_run(_span("a", input_tokens=0)), "tokens")
    assert tokens.status == FAIL
    assert "(9, 12)" in tokens.detail
    assert check(_run(_span("a", response_model="", request_model="")), "model").status == FAIL


def test_a_trace_without_its_root_span_that_is_not_listed_fails_as_rootless() -> None:
    cell = check(_run(_span("a", parent="remote"), listed=False), "listed")
    assert cell.status == FAIL
    assert "1 of the 1 missing have no root span" in cell.detail


def test_content_is_not_applicable_until_the_library_exports_it_then_must_be_stored() -> None:
    assert check(_run(_span("a")), "content").status == NA
    run = _run(_span("a"))
    run.exported.texts.append("ixq-chat: the prompt")
    assert check(run, "content").status == FAIL
    stored = {"input": {"text": "[ixq-chat: the prompt]"}, "output": None}
    run = _run(_span("a", content=stored))
    run.exported.texts.append("ixq-chat: the prompt")
    assert check(run, "content").status == PASS
