"""``llmobs-instrument bundle DIR``: the probe and its dependencies for a target Python.

Writes::

    DIR/bootstrap/sitecustomize.py    the bootstrap (first on the app's PYTHONPATH)
    DIR/site-packages/                llmobs_probe, llmobs_semconv and every dependency, including
                                      the contrib instrumentations (last on PYTHONPATH)
    DIR/llmobs-bundle.json            what was bundled: probe version, target Python, platform

The probe and the contract are pure Python and copied from this installation; the third-party
dependencies are installed with ``uv pip install --target`` (uv on PATH or the ``uv`` package),
else pip, for ``--python-version`` and ``--platform``, so wheels with C extensions (wrapt,
protobuf) match the app's interpreter.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import List, Optional

_OURS = ("llmobs-semconv", "llmobs_semconv", "llmobs-probe", "llmobs_probe")


def requirements() -> List[str]:
    """Third-party requirements of llmobs-probe, the ``contrib`` extra included."""
    reqs = []
    for raw in metadata.requires("llmobs-probe") or []:
        spec, _, marker = raw.partition(";")
        spec = spec.strip()
        if spec.lower().startswith(_OURS):
            continue
        marker = marker.strip()
        if marker and "extra" in marker and "contrib" not in marker:
            continue
        reqs.append(spec)
    return reqs


def build(
    target: Path,
    python_version: Optional[str] = None,
    platform: Optional[str] = None,
    installer: Optional[List[str]] = None,
) -> Path:
    """Write the bundle into ``target``; raises RuntimeError with the installer's output."""
    import llmobs_probe
    import llmobs_semconv

    version = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
    site = target / "site-packages"
    boot = target / "bootstrap"
    site.mkdir(parents=True, exist_ok=True)
    boot.mkdir(parents=True, exist_ok=True)
    cmd = installer or _installer(site, version, platform)
    proc = subprocess.run([*cmd, *requirements()], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"installing the probe's dependencies failed:\n{proc.stderr[-4000:]}")
    for package in (llmobs_probe, llmobs_semconv):
        source = Path(package.__file__).parent  # type: ignore[arg-type]
        dest = site / source.name
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(Path(llmobs_probe.__file__).parent / "bootstrap" / "sitecustomize.py", boot)
    manifest = {
        "probe_version": llmobs_probe.__version__,
        "python_version": version,
        "platform": platform,
        "layout": {"bootstrap": "bootstrap", "site_packages": "site-packages"},
        "pythonpath": "DIR/bootstrap:<app's own PYTHONPATH>:DIR/site-packages",
    }
    (target / "llmobs-bundle.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return target


def _installer(site: Path, version: str, platform: Optional[str]) -> List[str]:
    """``uv pip install`` when uv is at hand, else this interpreter's pip; RuntimeError if neither.

    uv is looked for on PATH and then as the ``uv`` package in this environment (its binary is
    not on PATH when the venv is not activated); pip covers a plain ``pip install llmobs-probe``.
    Neither is a dependency of the probe: it ships in app images, and the bundle is built elsewhere.
    """
    uv = _uv_binary()
    if uv:
        cmd = [uv, "pip", "install", "--quiet", "--target", str(site), "--python-version", version]
        if platform:
            cmd += ["--python-platform", platform]
        return cmd
    if importlib.util.find_spec("pip") is None:
        raise RuntimeError(
            f"neither uv nor pip is available to {sys.executable}: "
            f"install one into this environment ({sys.executable} -m ensurepip, or pip install uv)"
        )
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(site)]
    cmd += ["--python-version", version, "--only-binary=:all:"]
    if platform:
        cmd += ["--platform", platform]
    return cmd


def _uv_binary() -> Optional[str]:
    found = shutil.which("uv")
    if found:
        return found
    try:
        import uv  # type: ignore[import-not-found,unused-ignore]  # optional: pip install uv

        return str(uv.find_uv_bin())
    except Exception:  # not installed, or its binary is missing: pip is next
        return None
