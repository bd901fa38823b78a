"""The probe overhead benchmark's harness on the workspace's own interpreter (openai and the probe
are installed there): a real worker process per mode, the zero-span guard, the figures and the
generated docs section."""

import argparse
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks" / "probe"))
import _figures
import overhead

ARGS = argparse.Namespace(reps=1, scale=0.01)
pytestmark = pytest.mark.slow  # two worker processes, each starting the openai SDK (and the probe)


@pytest.fixture(scope="module")
def rows() -> dict[str, dict[str, Any]]:
    python = Path(sys.executable)
    return {m: overhead.run_worker(python, m, "openai", "", ARGS) for m in ("baseline", "llmobs")}


def test_the_llmobs_mode_exports_one_span_per_openai_operation(
    rows: dict[str, dict[str, Any]],
) -> None:
    row = rows["llmobs"]
    assert row["spans_per_op"] == 1.0  # warm-up and timed calls and streams: one LLM span each
    assert row["spans"] == sum(row["counts"].values()) + sum(
        max(n // 10, 2) for n in row["counts"].values()
    )
    assert "openai" in row["probe_instrumentations"]
    assert rows["baseline"]["spans"] == 0
    assert set(row["ops"]) == {"call", "stream_short", "stream_long"}
    assert all(s["process_s"] > 0 and s["thread_s"] > 0 for s in row["ops"].values())


def test_an_instrumented_mode_that_exports_nothing_fails_the_run(
    rows: dict[str, dict[str, Any]],
) -> None:
    overhead.require_spans(rows["baseline"], "")
    silent = {**rows["baseline"], "mode": "openinference"}
    with pytest.raises(SystemExit, match="openinference / openai exported 0 spans"):
        overhead.require_spans(silent, "its log")


def test_figures_subtract_the_baseline_and_the_llmobs_row_says_what_it_covers(
    rows: dict[str, dict[str, Any]],
) -> None:
    figures = _figures.summarise({"openai": {m: [r] for m, r in rows.items()}})["openai"]
    ours, base = rows["llmobs"]["ops"]["call"], rows["baseline"]["ops"]["call"]
    assert figures["llmobs"]["call_added_us"] == pytest.approx(
        (ours["process_s"] - base["process_s"]) * 1e6
    )
    assert figures["baseline"]["call_added_us"] == 0
    assert figures["llmobs"]["framework_level"] is False  # the SDK workload has no framework
    langchain_row = {**rows["llmobs"], "workload": "langchain"}
    assert not _figures.framework_level("langchain", [langchain_row])
    landed = {**langchain_row, "probe_instrumentations": ["langchain", "openai"]}
    assert _figures.framework_level("langchain", [landed])
    assert not _figures.framework_level("llamaindex", [landed])


def test_the_docs_section_is_inserted_once_then_replaced_in_place(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    before = "# Benchmarks\n\n## Probe overhead\n\nHand-written.\n\n## Next\n\nKept.\n"
    doc.write_text(before)
    _figures.write_docs(doc, "### Generated\n\nfirst")
    text = doc.read_text()
    assert text.index("Hand-written.") < text.index(_figures.BEGIN) < text.index("## Next")
    assert "first" in text
    _figures.write_docs(doc, "### Generated\n\nsecond")
    again = doc.read_text()
    assert "first" not in again
    assert again.count(_figures.BEGIN) == 1
    assert again.replace("second", "first") == text
