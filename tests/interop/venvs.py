"""One virtual environment per instrumentation family, built from a lock checked into the repo.

Families conflict (OpenLIT and OpenLLMetry pin their own OpenTelemetry releases), so each gets
its own environment, never the workspace's: ``envs/<env>/requirements.in`` names the family's
packages on top of the shared app pins (``envs/app.in``), and ``envs/<env>/requirements.txt`` is
its lock (``uv pip compile --generate-hashes``, every platform). An environment is built once
into ``~/.cache/llmobs/interop/<env>-<hash of lock and Python>`` (``LLMOBS_CACHE`` moves it) with
``uv pip sync``, so a warm run costs nothing and a changed lock builds anew.

    python -m tests.interop.venvs build [ENV...]   build what is missing (progress on stderr)
    python -m tests.interop.venvs lock [ENV...]    re-resolve requirements.in into the lock
    python -m tests.interop.venvs path ENV         print the environment's Python
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ENVS = Path(__file__).parent / "envs"
PYTHON = "3.12"  # every family supports it; LoongSuite and OpenLIT list 3.9-3.13
_LOCK_COMMAND = "python -m tests.interop.venvs lock"


class BuildError(RuntimeError):
    """An environment could not be built (no Python, no package, a failed install)."""


def env_names() -> list[str]:
    return sorted(p.parent.name for p in ENVS.glob("*/requirements.in"))


def cache_root() -> Path:
    base = os.environ.get("LLMOBS_CACHE") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "llmobs"
    )
    return Path(base) / "interop"


def uv() -> list[str]:
    """The workspace's uv (next to this interpreter), else the ``uv`` module; never PATH."""
    beside = Path(sys.executable).parent / "uv"
    return [str(beside)] if beside.is_file() else [sys.executable, "-m", "uv"]


def _uv_env() -> dict[str, str]:
    # No interpreter downloads (none can be fetched here, and a found one must not change).
    return {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}


def find_python(version: str = PYTHON) -> str:
    """A CPython ``version`` interpreter: uv's discovery first, then pyenv's versions."""
    found = subprocess.run(
        [*uv(), "python", "find", "--no-project", version],
        capture_output=True,
        text=True,
        env=_uv_env(),
    )
    candidates = [found.stdout.strip()] if found.returncode == 0 else []
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"))
    candidates += [p for p in (shutil.which(f"python{version}"),) if p]
    for candidate in candidates:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    raise BuildError(f"no CPython {version} found (uv python find, pyenv, PATH)")


def lock_file(env: str) -> Path:
    return ENVS / env / "requirements.txt"


def lock_hash(env: str) -> str:
    digest = hashlib.sha256(f"python {PYTHON}\n".encode())
    digest.update(lock_file(env).read_bytes())
    return digest.hexdigest()[:12]


def env_dir(env: str) -> Path:
    return cache_root() / f"{env}-{lock_hash(env)}"


def env_python(env: str) -> Path:
    return env_dir(env) / "bin" / "python"


def is_built(env: str) -> bool:
    return (env_dir(env) / ".complete").is_file()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder per environment, also across processes (a test run and a bootstrap)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _say(message: str) -> None:
    print(f"interop: {message}", file=sys.stderr, flush=True)


def ensure(env: str) -> tuple[Path, float]:
    """The environment's Python, built first when missing; (python, seconds spent building)."""
    if is_built(env):
        return env_python(env), 0.0
    target = env_dir(env)
    with _locked(target.with_name(target.name + ".lock")):
        if is_built(env):  # another process built it while we waited
            return env_python(env), 0.0
        started = time.monotonic()
        _say(f"building the {env} environment from {lock_file(env)} into {target}")
        shutil.rmtree(target, ignore_errors=True)
        python = find_python()
        for step in (
            [*uv(), "venv", "--quiet", "--python", python, str(target)],
            [*uv(), "pip", "sync", "--python", str(target / "bin" / "python"), str(lock_file(env))],
        ):
            run = subprocess.run(step, env=_uv_env(), stdout=sys.stderr, stderr=subprocess.PIPE)
            if run.returncode != 0:
                shutil.rmtree(target, ignore_errors=True)
                tail = run.stderr.decode(errors="replace")[-3000:]
                raise BuildError(f"building the {env} environment failed: {tail}")
            sys.stderr.buffer.write(run.stderr)
        (target / ".complete").write_text(lock_hash(env) + "\n")
        for stale in cache_root().glob(f"{env}-*"):
            if stale.is_dir() and stale != target:  # earlier locks of this environment
                shutil.rmtree(stale, ignore_errors=True)
        spent = time.monotonic() - started
        _say(f"{env} environment built in {spent:.1f} s")
        return env_python(env), spent


def lock(env: str) -> None:
    """Re-resolve ``envs/<env>/requirements.in`` into its hashed, all-platform lock."""
    source = ENVS / env / "requirements.in"
    cmd = [
        *uv(), "pip", "compile", "--quiet", "--universal", "--python-version", PYTHON,
        "--generate-hashes", "--custom-compile-command", f"{_LOCK_COMMAND} {env}",
        "--no-strip-markers", str(source), "-o", str(lock_file(env)),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, env=_uv_env(), cwd=ENVS / env)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("build", "lock", "path"):
        print(__doc__, file=sys.stderr)
        return 2
    names = argv[1:] or env_names()
    unknown = sorted(set(names) - set(env_names()))
    if unknown:
        print(f"unknown environment(s): {', '.join(unknown)} (have {env_names()})", file=sys.stderr)
        return 2
    try:
        for name in names:
            if argv[0] == "build":
                ensure(name)
            elif argv[0] == "lock":
                lock(name)
            else:
                print(ensure(name)[0])
    except BuildError as exc:
        print(f"interop: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
