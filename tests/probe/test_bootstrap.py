"""The bootstrap from outside: ``llmobs-instrument CMD`` and ``sitecustomize`` on PYTHONPATH."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from llmobs_probe.cli import bootstrap_dir, main
from llmobs_semconv import attributes as A

SCRIPT = Path(__file__).parent / "apps" / "chat_script.py"
INSTRUMENT = Path(sys.executable).parent / "llmobs-instrument"


def run(
    cmd: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    clean.pop("PYTHONPATH", None)
    clean.update(env)
    return subprocess.run(cmd, env=clean, capture_output=True, text=True, timeout=timeout)


def probe_env(endpoint: str, sim_url: str, **extra: str) -> dict[str, str]:
    env = {
        "SIM_URL": sim_url,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_SERVICE_NAME": "script",
        "OTEL_RESOURCE_ATTRIBUTES": "k8s.pod.name=pod-1",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
    }
    env.update(extra)
    return env


def test_llmobs_instrument_runs_an_unmodified_script(sim_url: str, receiver: Any) -> None:
    endpoint, received = receiver
    proc = run([str(INSTRUMENT), sys.executable, str(SCRIPT)], probe_env(endpoint, sim_url))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["probe_loaded"] is True
    assert not report["pythonpath"] or bootstrap_dir() not in report["pythonpath"]  # not inherited
    received.wait(lambda r: len(r.llm_spans()) == 2)  # flushed at exit
    spans = received.llm_spans()
    assert {s["attributes"].get(A.GEN_AI_RESPONSE_ID) for s in spans} >= {report["id"]}
    assert all(s["resource"][A.SERVICE_NAME] == "script" for s in spans)
    assert all(s["resource"][A.K8S_POD_NAME] == "pod-1" for s in spans)


def test_disabled_probe_loads_nothing(sim_url: str, receiver: Any) -> None:
    endpoint, received = receiver
    env = probe_env(endpoint, sim_url, LLMOBS_DISABLED="true")
    proc = run([str(INSTRUMENT), sys.executable, str(SCRIPT)], env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["probe_loaded"] is False
    assert received.requests == 0


def test_bad_setting_is_one_clear_line_and_the_app_runs(sim_url: str, receiver: Any) -> None:
    endpoint, _ = receiver
    env = probe_env(endpoint, sim_url, OTEL_TRACES_SAMPLER="sometimes")
    proc = run([sys.executable, str(SCRIPT)], {**env, "PYTHONPATH": bootstrap_dir()})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["chunks"] > 0
    lines = [line for line in proc.stderr.splitlines() if "llmobs probe" in line]
    assert len(lines) == 1
    assert "OTEL_TRACES_SAMPLER" in lines[0]
    assert "Traceback" not in proc.stderr


def test_usage_errors() -> None:
    assert main([]) == 2
    assert main(["--help"]) == 0
    assert main(["definitely-not-a-command-xyz"]) == 127
    assert main(["bundle", "/tmp/x", "--python-version", "three"]) == 2
