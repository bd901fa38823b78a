"""The probe image's dispatcher (docker/probe-dispatch/sitecustomize.py), run by real CPython
interpreters: each loads its own version's bundle from the injected PYTHONPATH, keeps the app's
entries for child processes, and an interpreter without a bundle starts uninstrumented."""

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DISPATCHER = ROOT / "docker" / "probe-dispatch" / "sitecustomize.py"
STUB_BOOTSTRAP = (
    "import os, sys\n"
    "here = os.path.dirname(os.path.abspath(__file__))\n"
    "sys.path.append(os.path.join(os.path.dirname(here), 'site-packages'))\n"
    "os.environ['STUB_BOOTED'] = here\n"
)
CHECK = (
    "import os, sys, stub_probe\n"
    "print(os.environ.get('STUB_BOOTED', '-'))\n"
    "print(stub_probe.__file__)\n"
    "print(os.environ.get('PYTHONPATH', '-'))\n"
)


def interpreters() -> list[str]:
    """This interpreter plus every other CPython 3.9-3.13 found on the machine (pyenv, PATH)."""
    found = {f"{sys.version_info[0]}.{sys.version_info[1]}": sys.executable}
    for minor in range(9, 14):
        version = f"3.{minor}"
        if version in found:
            continue
        pyenv = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python3")))
        path = pyenv[-1] if pyenv else shutil.which(f"python{version}")
        if path:
            found[version] = path
    return [found[v] for v in sorted(found, key=lambda v: int(v.split(".")[1]))]


def layout(tmp: Path, versions: list[str]) -> Path:
    mount = tmp / "llmobs-probe"
    (mount / "bootstrap").mkdir(parents=True)
    shutil.copy(DISPATCHER, mount / "bootstrap" / "sitecustomize.py")
    for version in versions:
        bundle = mount / f"python{version}"
        (bundle / "bootstrap").mkdir(parents=True)
        (bundle / "bootstrap" / "sitecustomize.py").write_text(STUB_BOOTSTRAP)
        (bundle / "site-packages" / "stub_probe").mkdir(parents=True)
        (bundle / "site-packages" / "stub_probe" / "__init__.py").write_text("")
    return mount


def run(python: str, mount: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": f"{mount}/bootstrap:/srv/app:{mount}/site-packages",
    }
    return subprocess.run([python, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def version_of(python: str) -> str:
    out = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return out.stdout.strip()


@pytest.mark.parametrize("python", interpreters())
def test_each_interpreter_boots_its_own_bundle(tmp_path: Path, python: str) -> None:
    mount = layout(tmp_path, ["3.9", "3.10", "3.11", "3.12", "3.13"])
    version = version_of(python)
    out = run(python, mount, CHECK)
    assert out.returncode == 0, out.stderr
    booted, module, pythonpath = out.stdout.split()
    assert booted == str(mount / f"python{version}" / "bootstrap")
    assert module.startswith(str(mount / f"python{version}" / "site-packages"))
    assert pythonpath == "/srv/app", "children keep the app's entries only"


def test_missing_bundle_starts_the_app_uninstrumented(tmp_path: Path) -> None:
    mount = layout(tmp_path, [])
    out = run(sys.executable, mount, "import os; print(os.environ.get('STUB_BOOTED', 'none'))")
    assert out.returncode == 0
    assert out.stdout.strip() == "none"
    assert "no probe bundle for python3." in out.stderr
