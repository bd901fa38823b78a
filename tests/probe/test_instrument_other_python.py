"""``llmobs-instrument PYTHON app.py`` where PYTHON is not the probe's own interpreter.

Real interpreters under pyenv: another environment of this venv's Python version (a venv of the
base interpreter, with the app's own openai in it) is instrumented, the app's packages winning
over the probe's; a different CPython version gets one line saying what to do, and the app runs.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llmobs_semconv import attributes as A

SCRIPT = Path(__file__).parent / "apps" / "chat_script.py"
INSTRUMENT = str(Path(sys.executable).parent / "llmobs-instrument")
UV = str(Path(sys.executable).parent / "uv")
VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"


def other_version_python() -> tuple[str, str]:
    """A pyenv CPython 3.9-3.13 of another minor version than this venv's."""
    for minor in (9, 10, 11, 12, 13):
        version = f"3.{minor}"
        if version == VERSION:
            continue
        found = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python3")))
        if found:
            return found[-1], version
    raise AssertionError("no other CPython 3.9-3.13 under pyenv")  # the machine has them


@pytest.fixture(scope="module")
def app_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's own environment: a venv of this Python's base interpreter, openai installed."""
    venv = tmp_path_factory.mktemp("appenv") / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [UV, "pip", "install", "--quiet", "--python", str(python), "openai>=1.30"],
        check=True,
        timeout=300,
    )
    return python


def launch(command: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    env.update(extra)
    return subprocess.run(
        [INSTRUMENT, *command], env=env, capture_output=True, text=True, timeout=120
    )


def test_another_environments_python_is_instrumented(
    app_env: Path, sim_url: str, receiver: Any
) -> None:
    endpoint, received = receiver
    proc = launch(
        [str(app_env), str(SCRIPT)],
        SIM_URL=sim_url,
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_SERVICE_NAME="other-env",
        OTEL_BSP_SCHEDULE_DELAY="50",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "probe not started" not in proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["probe_loaded"] is True
    received.wait(lambda r: len(r.llm_spans()) == 2)
    spans = received.llm_spans()
    assert {s["resource"][A.SERVICE_NAME] for s in spans} == {"other-env"}
    assert any(s["attributes"].get(A.GEN_AI_RESPONSE_ID) == report["id"] for s in spans)


def test_the_apps_own_packages_win_over_the_probes(app_env: Path) -> None:
    code = "import json, openai; print(json.dumps(openai.__file__))"
    proc = launch([str(app_env), "-c", code], OTEL_SDK_DISABLED="true")
    assert proc.returncode == 0, proc.stderr[-3000:]
    openai_file = json.loads(proc.stdout.strip().splitlines()[-1])
    assert openai_file.startswith(str(app_env.parent.parent)), openai_file  # not this venv's


def test_another_python_version_gets_one_line_saying_what_to_do() -> None:
    python, version = other_version_python()
    code = "import sys; print('app ran', 'llmobs_probe' in sys.modules)"
    proc = launch([python, "-c", code])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "app ran False"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "ModuleNotFoundError" not in lines[0]
    assert f"llmobs-instrument bundle DIR --python-version {version}" in lines[0]
    assert "install llmobs-probe into that environment" in lines[0]
