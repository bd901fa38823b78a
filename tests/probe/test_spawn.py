"""uvicorn ``--workers N`` (multiprocessing spawn): every worker instrumented, other children not.

uvicorn starts its workers as fresh interpreters (spawn). The bootstrap removes itself from
PYTHONPATH for child processes, so the workers get the probe through the multiprocessing
preparation data (``llmobs_probe._spawn``) while a plain subprocess of the app stays untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import signal
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from llmobs_probe import _spawn
from llmobs_probe.cli import bootstrap_dir
from llmobs_semconv import attributes as A
from llmobs_testing.servers import free_port
from tests.probe.conftest import wait_serving

APPS = Path(__file__).parent / "apps"
INSTRUMENT = Path(sys.executable).parent / "llmobs-instrument"
UVICORN = Path(sys.executable).parent / "uvicorn"
WORKERS = 2


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return dict(json.loads(resp.read()))


def test_uvicorn_spawned_workers_deliver_llm_spans_and_plain_children_stay_clean(
    sim_url: str, receiver: Any, tmp_path: Path
) -> None:
    endpoint, received = receiver
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    env.pop("PYTHONPATH", None)
    env.update(
        SIM_URL=sim_url,
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_SERVICE_NAME="uvicorn-workers",
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    cmd = [str(INSTRUMENT), str(UVICORN), "fastapi_app:app", "--app-dir", str(APPS)]
    cmd += ["--workers", str(WORKERS), "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--log-level", "warning"]
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_serving(lambda: _get(base + "/chat"), proc, log)
        pids: set[int] = set()
        with ThreadPoolExecutor(8) as pool:
            for _ in range(20):  # bounded: 20 rounds of 16 concurrent requests at most
                pids.update(r["pid"] for r in pool.map(lambda _: _get(base + "/chat"), range(16)))
                if len(pids) == WORKERS:
                    break
        assert len(pids) == WORKERS, pids
        assert proc.pid not in pids  # served by the spawned workers, not the supervisor

        def delivered(r: Any) -> bool:
            return {s["attributes"].get("test.pid") for s in r.spans} >= pids

        received.wait(delivered, timeout=20)
        llm_pids = set()
        with received.lock:
            by_id = {s["span_id"]: s for s in received.spans}
            for span in received.spans:
                if A.GEN_AI_OPERATION_NAME in span["attributes"]:
                    parent = by_id.get(span["parent_span_id"])
                    if parent is not None and "test.pid" in parent["attributes"]:
                        llm_pids.add(parent["attributes"]["test.pid"])
        assert llm_pids == pids  # an LLM span from each worker, in its request's trace

        # A plain child program of an instrumented worker is not instrumented.
        child = _get(base + "/child")
        assert child["probe_here"] is True
        assert child["probe"] is False
        assert bootstrap_dir() not in child["pythonpath"].split(os.pathsep)
        assert "llmobs_probe" not in log.read_text(), log.read_text()[-3000:]
    finally:
        proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def test_preparation_entry_unpickles_without_the_probe_importable_and_never_raises() -> None:
    """The child unpickles the entry before it has the probe's paths: it must only use builtins,
    and a path that does not hold the probe leaves the child as it was."""
    data = pickle.dumps({_spawn.PREPARATION_KEY: _spawn._ChildStart(["/nonexistent"])})
    code = (
        "import pickle, sys; sys.path[:] = [p for p in sys.path if 'site-packages' not in p]; "
        f"d = pickle.loads({data!r}); print(d, 'llmobs_probe' in sys.modules, "
        "'/nonexistent' in sys.path)"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert out.stdout.split() == ["{'llmobs_probe':", "None}", "False", "True"], out
