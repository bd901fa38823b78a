"""``llmobs-instrument bundle`` from real installations of the probe, with no ``uv`` on PATH.

Three environments, each run with a PATH of the system directories only (no venv ``bin``, no uv):
this workspace's venv (made by uv: the ``uv`` package but no pip), a plain ``python -m venv``
(pip, no uv) with the probe installed into it, and a venv with neither, which must fail with one
line saying what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATH = os.pathsep.join(p for p in ("/usr/local/bin", "/usr/bin", "/bin") if os.path.isdir(p))
UV = str(Path(sys.executable).parent / "uv")  # only to set the environments up


def bundle_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_", "UV_"))}
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = PATH
    assert shutil.which("uv", path=PATH) is None, "uv on the system PATH: the test proves nothing"
    return env


def run_bundle(cli: list[str], target: Path) -> subprocess.CompletedProcess[str]:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return subprocess.run(
        [*cli, "bundle", str(target), "--python-version", version],
        env=bundle_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_bundled(proc: subprocess.CompletedProcess[str], target: Path) -> None:
    assert proc.returncode == 0, proc.stderr[-3000:]
    for package in ("llmobs_probe", "opentelemetry/sdk", "wrapt"):
        assert (target / "site-packages" / package).is_dir(), package


def probe_venv(path: Path, with_pip: bool) -> Path:
    """A venv of a pyenv/base CPython with the probe installed as a user would (not editable)."""
    base = getattr(sys, "_base_executable", sys.executable)
    if with_pip:
        subprocess.run([base, "-m", "venv", str(path)], check=True, timeout=120)
    else:
        subprocess.run([base, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    python = path / "bin" / "python"
    packages = [str(ROOT / "components" / "semconv"), str(ROOT / "components" / "probe")]
    subprocess.run(
        [UV, "pip", "install", "--quiet", "--python", str(python), *packages],
        check=True,
        timeout=300,
    )
    return python


def test_from_this_workspace_venv_uses_the_uv_package(tmp_path: Path) -> None:
    target = tmp_path / "bundle"
    assert_bundled(run_bundle([sys.executable, "-m", "llmobs_probe.cli"], target), target)


def test_from_a_plain_pip_install_uses_pip(tmp_path: Path) -> None:
    python = probe_venv(tmp_path / "venv", with_pip=True)
    target = tmp_path / "bundle"
    assert_bundled(run_bundle([str(python.parent / "llmobs-instrument")], target), target)


def test_with_neither_uv_nor_pip_one_line_says_what_to_install(tmp_path: Path) -> None:
    python = probe_venv(tmp_path / "venv", with_pip=False)
    proc = run_bundle([str(python.parent / "llmobs-instrument")], tmp_path / "bundle")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "neither uv nor pip" in lines[0]
    assert "ensurepip" in lines[0]
    assert "pip install uv" in lines[0]
