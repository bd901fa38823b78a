"""The peer environments of the probe overhead benchmark: one locked uv project per peer.

``envs/<peer>/`` holds a ``pyproject.toml`` and its ``uv.lock``; the venv is built from the lock
alone (``uv sync --frozen``) into ``~/.cache/llmobs/bench/probe-<peer>-<hash>``, where the hash
covers the lock and the project (and, for ``llmobs``, the probe's and the contract package's
project files, whose entry points an editable install freezes), so a changed pin gets a fresh venv
and an unchanged one is reused. Each env pins the libraries under test to the same versions
(checked before a run: a baseline taken in one env only stands for all of them if they agree).

Re-lock after changing a pin: ``cd benchmarks/probe/envs/<peer> && python -m uv lock``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENVS = Path(__file__).resolve().parent / "envs"
# The libraries whose own cost the baseline measures: every env must hold the same versions.
LIBRARIES = (
    "openai",
    "httpx",
    "langchain-core",
    "langchain-openai",
    "langgraph",
    "llama-index-core",
    "llama-index-llms-openai",
)
# The instrumentation packages reported beside the figures.
PEER_PACKAGES = (
    "opentelemetry-sdk",
    "opentelemetry-instrumentation-openai-v2",
    "opentelemetry-util-genai",
    "openlit",
    "traceloop-sdk",
    "opentelemetry-instrumentation-openai",
    "opentelemetry-instrumentation-langchain",
    "opentelemetry-instrumentation-llamaindex",
    "openinference-instrumentation-openai",
    "openinference-instrumentation-langchain",
    "openinference-instrumentation-llama-index",
    "loongsuite-instrumentation-langchain",
    "loongsuite-instrumentation-langgraph",
)
_LLMOBS_INPUTS = ("components/probe/pyproject.toml", "components/semconv/pyproject.toml")


def cache_root() -> Path:
    """``$LLMOBS_CACHE_DIR`` or ``$XDG_CACHE_HOME/llmobs`` or ``~/.cache/llmobs``, plus ``bench``
    (the same root as ``llmobs_testing.peers.cache_bin_dir``)."""
    root = os.environ.get("LLMOBS_CACHE_DIR")
    if root:
        return Path(root) / "bench"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "llmobs" / "bench"


def env_hash(peer: str) -> str:
    digest = hashlib.sha256()
    inputs = [ENVS / peer / "pyproject.toml", ENVS / peer / "uv.lock"]
    if peer == "llmobs":
        inputs += [ROOT / p for p in _LLMOBS_INPUTS]
    for path in inputs:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def ensure(peer: str) -> Path:
    """The interpreter of ``peer``'s venv, built from its lock on first use."""
    venv = cache_root() / f"probe-{peer}-{env_hash(peer)}"
    python = venv / "bin" / "python"
    done = venv / ".complete"
    if done.exists():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs at once: one builds, the other waits
        if done.exists():
            return python
        shutil.rmtree(venv, ignore_errors=True)  # a build that died half-way
        print(f"building the {peer} venv from envs/{peer}/uv.lock into {venv}", file=sys.stderr)
        env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
        cmd = [sys.executable, "-m", "uv", "sync", "--quiet", "--frozen", "--project"]
        result = subprocess.run([*cmd, str(ENVS / peer)], env=env, check=False)
        if result.returncode != 0:
            raise SystemExit(f"building the {peer} venv failed (uv sync rc {result.returncode})")
        done.write_text(env_hash(peer) + "\n")
    return python


def versions(python: Path) -> dict[str, str]:
    """Installed versions of the libraries under test and of the peers' packages."""
    names = list(LIBRARIES + PEER_PACKAGES)
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for n in json.loads(sys.argv[1]):\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))\n"
    )
    out = subprocess.run(
        [str(python), "-c", code, json.dumps(names)], capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout))


def check_same_libraries(found: dict[str, dict[str, str]]) -> None:
    """Fail unless every env holds the same version of each library under test it has."""
    for name in LIBRARIES:
        seen = {peer: v[name] for peer, v in found.items() if name in v}
        if len(set(seen.values())) > 1:
            raise SystemExit(
                f"{name} differs between peer envs {seen}: pin it to one version in every "
                f"benchmarks/probe/envs/*/pyproject.toml and re-lock"
            )
