"""``llmobs-instrument bundle DIR`` for a target Python; a fresh interpreter with only the
bundle's bootstrap (and the app's own packages) on PYTHONPATH instruments an unmodified script.

The oldest CPython the probe supports (3.9) is used when the machine has it (pyenv or PATH);
otherwise the base interpreter of this virtual environment (outside the venv).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmobs_probe.cli import main
from llmobs_semconv import attributes as A

SCRIPT = Path(__file__).parent / "apps" / "chat_script.py"


def target_python() -> tuple[str, str]:
    """(interpreter path, "3.X"): CPython 3.9 when present, else this venv's base interpreter."""
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.9.*/bin/python3")))
    candidate = found[-1] if found else shutil.which("python3.9")
    if candidate:
        ok = subprocess.run([candidate, "-c", "pass"], capture_output=True, timeout=30)
        if ok.returncode == 0:
            return candidate, "3.9"
    base = getattr(sys, "_base_executable", sys.executable)
    return base, f"{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(bundle dir, the app's own package dir, interpreter) for the target Python."""
    python, version = target_python()
    root = tmp_path_factory.mktemp("bundle")
    target = root / "probe"
    assert main(["bundle", str(target), "--python-version", version]) == 0
    app_packages = root / "app"
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    cmd = [uv, "pip", "install", "--quiet", "--target", str(app_packages)]
    subprocess.run(
        # openai < 3 sends through httpx (3.x: httpx2, which the bundled instrumentation skips).
        [*cmd, "--python-version", version, "openai>=1.30,<3"],
        check=True,
        timeout=300,
    )
    return target, app_packages, python


def test_bundle_layout(bundle: tuple[Path, Path, str]) -> None:
    target, _, _ = bundle
    assert (target / "bootstrap" / "sitecustomize.py").is_file()
    site = target / "site-packages"
    for package in (
        "llmobs_probe",
        "llmobs_semconv",
        "opentelemetry/sdk",
        "opentelemetry/exporter/otlp/proto/http",
        "opentelemetry/instrumentation/flask",
        "opentelemetry/instrumentation/requests",
        "wrapt",
    ):
        assert (site / package).is_dir(), package
    manifest = json.loads((target / "llmobs-bundle.json").read_text())
    assert manifest["layout"] == {"bootstrap": "bootstrap", "site_packages": "site-packages"}


def test_fresh_interpreter_with_the_bundle_instruments_an_unmodified_script(
    bundle: tuple[Path, Path, str], sim_url: str, receiver: Any
) -> None:
    target, app_packages, python = bundle
    endpoint, received = receiver
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(
        # Only the bootstrap and the app's own packages: the bootstrap adds its site-packages.
        PYTHONPATH=os.pathsep.join([str(target / "bootstrap"), str(app_packages)]),
        SIM_URL=sim_url,
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_SERVICE_NAME="bundled",
        OTEL_BSP_SCHEDULE_DELAY="50",
    )
    proc = subprocess.run(
        [python, "-s", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["probe_loaded"] is True
    assert report["pythonpath"] == str(app_packages)  # the bootstrap left for child processes
    received.wait(lambda r: len(r.llm_spans()) == 2)
    spans = received.llm_spans()
    assert {s["resource"][A.SERVICE_NAME] for s in spans} == {"bundled"}
    assert any(s["attributes"].get(A.GEN_AI_RESPONSE_ID) == report["id"] for s in spans)
    assert any(s["attributes"].get(A.LLMOBS_TTFT, 0) > 0 for s in spans)


TRACE_SCRIPT = Path(__file__).parent / "apps" / "trace_script.py"
HTTPX_SCOPE = "opentelemetry.instrumentation.httpx"


def test_through_the_bundle_one_llm_call_is_one_trace_with_the_http_span_under_it(
    bundle: tuple[Path, Path, str], sim_url: str, receiver: Any
) -> None:
    """The bundled httpx instrumentation's POST span is a child of the LLM span (sync, async,
    streaming and not), and the traceparent the model server receives is in the LLM's trace."""
    target, app_packages, python = bundle
    endpoint, received = receiver
    run_id = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(
        PYTHONPATH=os.pathsep.join([str(target / "bootstrap"), str(app_packages)]),
        SIM_URL=sim_url,
        RUN_ID=run_id,
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_SERVICE_NAME="bundled-trace",
        OTEL_BSP_SCHEDULE_DELAY="50",
    )
    proc = subprocess.run(
        [python, "-s", str(TRACE_SCRIPT)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    received.wait(
        lambda r: (
            len(r.llm_spans()) == 4 and sum(1 for s in r.spans if s["scope"] == HTTPX_SCOPE) == 4
        )
    )
    llm = {s["span_id"]: s for s in received.llm_spans()}
    http = [s for s in received.spans if s["scope"] == HTTPX_SCOPE]
    assert sorted(s["parent_span_id"] for s in http) == sorted(llm)  # one POST under each call
    for span in http:
        assert span["trace_id"] == llm[span["parent_span_id"]]["trace_id"]
    assert len({s["trace_id"] for s in received.spans}) == 4  # one trace per call, no extra roots
    assert sum(1 for s in llm.values() if s["attributes"].get(A.GEN_AI_REQUEST_STREAM)) == 2
    # What a gateway on the way joins on: the traceparent the model server got, in the LLM's trace
    # and parented by that call's POST span.
    seen = httpx.get(f"{sim_url}/sim/requests", timeout=10).json()["requests"]
    ours = [r for r in seen if r["headers"].get("x-llmobs-test-run") == run_id]
    assert len(ours) == 4
    http_ids = {(s["trace_id"], s["span_id"]) for s in http}
    for request in ours:
        _, trace_id, parent_id, _ = request["traceparent"].split("-")
        assert (trace_id, parent_id) in http_ids
