"""The compatibility suite: every family × capability cell, then the doc they render.

A cell listed in expected.py is ``xfail(strict=True)``: it must fail with ``CellFailed`` (a
family whose run breaks fails differently, and so fails the test), and a cell that starts
passing fails the suite until its entry is removed. A family whose environment cannot be built
skips locally and fails under ``CI=true``.
"""

from __future__ import annotations

import difflib
import json

import pytest

from llmobs_testing import prereq
from tests.interop import report
from tests.interop._checks import CAPABILITIES, FAIL, check
from tests.interop._runs import Runs, Unavailable, results
from tests.interop._stack import FamilyRun
from tests.interop.expected import EXPECTED_FAILURES
from tests.interop.families import EVERY_CALL, FAMILIES

pytestmark = [pytest.mark.interop, pytest.mark.timeout(1200)]


class CellFailed(AssertionError):
    """The store's answer for one cell is wrong (what an expected failure must raise)."""


def _cells() -> list[object]:
    cells = []
    for family in FAMILIES:
        for capability in CAPABILITIES:
            reason = EXPECTED_FAILURES.get((family.name, capability))
            marks = (
                [pytest.mark.xfail(strict=True, raises=CellFailed, reason=reason)] if reason else []
            )
            cells.append(
                pytest.param(family.name, capability, id=f"{family.name}-{capability}", marks=marks)
            )
    return cells


def _run(runs: Runs, name: str) -> FamilyRun:
    try:
        return runs.get(name)
    except Unavailable as exc:
        prereq.require(False, f"the {name} family's environment", str(exc))
        raise  # unreachable: require() skips or fails


def test_expected_failures_name_real_cells() -> None:
    names = {family.name for family in FAMILIES}
    for family, capability in EXPECTED_FAILURES:
        assert family in names, f"expected.py names an unknown family {family!r}"
        assert capability in CAPABILITIES, f"expected.py names an unknown capability {capability!r}"


@pytest.mark.parametrize(("family", "capability"), _cells())
def test_cell(runs: Runs, family: str, capability: str) -> None:
    cell = check(_run(runs, family), capability)
    if cell.status == FAIL:
        raise CellFailed(f"{family} / {capability}: {cell.detail}")


def test_every_fully_instrumented_family_was_served_the_same(runs: Runs) -> None:
    """The same app, the same pins, a deterministic simulator: the same calls for everyone."""
    served = {}
    for family in FAMILIES:
        if family.sees == EVERY_CALL:
            run = _run(runs, family.name)
            served[family.name] = sorted(
                (s.call, s.model, s.input_tokens, s.output_tokens) for s in run.seen()
            )
    first = next(iter(served.values()))
    assert all(calls == first for calls in served.values()), served


def test_the_compatibility_doc_is_what_the_results_render(runs: Runs) -> None:
    for family in FAMILIES:
        _run(runs, family.name)
    found = results(runs)
    report.RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report.RESULTS.write_text(json.dumps(found, indent=2) + "\n")
    rendered = report.render(found)
    committed = report.DOC.read_text() if report.DOC.is_file() else ""
    if rendered != committed:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                rendered.splitlines(keepends=True),
                "docs/compatibility.md (committed)",
                "docs/compatibility.md (from this run)",
            )
        )
        pytest.fail(
            f"docs/compatibility.md is not what this run's results render; regenerate it with "
            f"`python -m tests.interop.report` (from {report.RESULTS}):\n{diff[:6000]}",
            pytrace=False,
        )
