"""Each family run once per test session, shared by every cell that asks for it.

A family whose environment cannot be built is unavailable (the cell skips locally, fails under
``CI=true``); a family whose app or store round trip breaks fails every one of its cells with
the same message instead of being rerun for each. ``results()`` gathers every cell's verdict,
the pinned versions and the timings into what docs/compatibility.md is rendered from.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from tests.interop import _stack, venvs
from tests.interop._checks import CAPABILITIES, Cell, check, price
from tests.interop.expected import EXPECTED_FAILURES
from tests.interop.families import FAMILIES, Family

APP_LIBRARIES = (
    "openai",
    "langchain-core",
    "langchain-openai",
    "langgraph",
    "llama-index-core",
    "llama-index-llms-openai",
    "llama-index-embeddings-openai",
)


class Unavailable(Exception):
    """The family's environment could not be built here."""


@dataclass
class Runs:
    store: _stack.Store
    work: Path
    _runs: dict[str, _stack.FamilyRun | BaseException] = field(default_factory=dict)
    _bundle: Path | None = None

    def bundle(self) -> Path:
        """Our probe's injection bundle for the families' Python (built once per session)."""
        if self._bundle is None:
            target = self.work / "probe-bundle"
            command = [
                str(Path(sys.executable).parent / "llmobs-instrument"), "bundle", str(target),
                "--python-version", venvs.PYTHON,
            ]  # fmt: skip
            built = subprocess.run(command, capture_output=True, text=True)
            if built.returncode != 0:
                raise Unavailable(f"llmobs-instrument bundle failed: {built.stderr[-2000:]}")
            self._bundle = target
        return self._bundle

    def get(self, name: str) -> _stack.FamilyRun:
        if name not in self._runs:
            family = next(f for f in FAMILIES if f.name == name)
            try:
                bundle = self.bundle() if family.injected else None
                self._runs[name] = _stack.run_family(family, self.store, self.work, bundle)
            except venvs.BuildError as exc:
                self._runs[name] = Unavailable(str(exc))
            except Exception as exc:  # every cell of the family reports the same breakage
                self._runs[name] = exc
        found = self._runs[name]
        if isinstance(found, BaseException):
            raise found
        return found


def _versions(run: _stack.FamilyRun) -> dict[str, str]:
    installed = run.result["versions"]
    if run.family.injected:  # loaded from the bundle, not installed in the environment
        return {name: metadata.version(name) for name in run.family.packages}
    return {name: installed.get(name, "?") for name in run.family.packages}


def family_results(run: _stack.FamilyRun, cells: dict[str, Cell]) -> dict[str, Any]:
    family: Family = run.family
    seen = run.seen()
    return {
        "title": family.title,
        "env": family.env,
        "versions": _versions(run),
        "coverage": family.coverage,
        "session": family.session,
        "ttft": family.ttft,
        "cells": {
            name: {
                "status": cell.status,
                "detail": cell.detail,
                "expected": EXPECTED_FAILURES.get((family.name, name)),
            }
            for name, cell in cells.items()
        },
        "served": {
            "requests": len(seen),
            "input_tokens": sum(s.input_tokens for s in seen),
            "output_tokens": sum(s.output_tokens for s in seen),
            "cost_usd": round(sum(price(s) for s in seen), 12),
        },
        "exported": {"spans": len(run.exported.spans), "requests": run.exported.requests},
        "timings_s": {k: round(v, 1) for k, v in run.timings.items()},
    }


def results(runs: Runs) -> dict[str, Any]:
    """Every family's cells (running what has not run yet), as the report renders them."""
    families: dict[str, Any] = {}
    started = time.monotonic()
    app: dict[str, str] = {}
    for family in FAMILIES:
        run = runs.get(family.name)
        cells = {name: check(run, name) for name in CAPABILITIES}
        families[family.name] = family_results(run, cells)
        app = {name: run.result["versions"].get(name, "?") for name in APP_LIBRARIES}
    return {
        "python": venvs.PYTHON,
        "app": app,
        "capabilities": CAPABILITIES,
        "families": families,
        "collected_s": round(time.monotonic() - started, 1),
    }
