"""Third-party peers of our simulator, built on demand: llm-d-inference-sim (Go, vLLM-compatible).

``llm_d_sim_binary()`` builds ``github.com/llm-d/llm-d-inference-sim`` at a pinned version into
the user cache dir (``~/.cache/llmobs/bin/llm-d-inference-sim-<version>``) the first time and
reuses it afterwards; ``None`` when Go is missing (tests then call ``prereq.require``).

Why not ``go install …@version``: the Go proxy answers 403 on the module's version list, which
``go install`` reads to check for deprecation, so it fails. A throw-away wrapper module with
``go get …@version`` + ``go build`` needs only the pinned version and works. ``CGO_ENABLED=0``
(the simulator's ZMQ library is pure Go) and ``GOTOOLCHAIN=local`` (no toolchain download).
"""

import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

from llmobs_testing.servers import free_port

LLM_D_SIM_MODULE = "github.com/llm-d/llm-d-inference-sim"
LLM_D_SIM_VERSION = "v0.10.2"
_BUILD_TIMEOUT_S = 1500


class PeerBuildError(RuntimeError):
    """Go is present but the build failed; the message carries the end of Go's output."""


def cache_bin_dir() -> Path:
    """``$LLMOBS_CACHE_DIR`` or ``$XDG_CACHE_HOME/llmobs`` or ``~/.cache/llmobs``, plus ``bin``."""
    root = os.environ.get("LLMOBS_CACHE_DIR")
    if root:
        return Path(root) / "bin"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "llmobs" / "bin"


def _go(args: Sequence[str], cwd: Path, go: str) -> None:
    env = {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local"}
    result = subprocess.run(
        [go, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=_BUILD_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-2000:]
        raise PeerBuildError(f"go {' '.join(args)} failed ({result.returncode}):\n{tail}")


def llm_d_sim_binary(version: str = LLM_D_SIM_VERSION) -> Path | None:
    """The llm-d-inference-sim executable, built once per version; None when Go is missing."""
    target = cache_bin_dir() / f"llm-d-inference-sim-{version}"
    if target.is_file() and os.access(target, os.X_OK):
        return target
    go = shutil.which("go")
    if go is None:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    # Several test processes may ask at once: one builds, the others wait for it.
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():
            return target
        with tempfile.TemporaryDirectory(prefix="llm-d-sim-build-") as tmp:
            work = Path(tmp)
            _go(["mod", "init", "llmobs.local/peers/llmdsim"], work, go)
            package = f"{LLM_D_SIM_MODULE}/cmd/llm-d-inference-sim"
            _go(["get", f"{package}@{version}"], work, go)
            built = work / "llm-d-inference-sim"
            _go(["build", "-o", str(built), package], work, go)
            partial = target.with_name(target.name + ".partial")
            shutil.move(built, partial)
            partial.chmod(0o755)
            partial.replace(target)  # atomic: nobody sees a half-written binary
    return target


def llm_d_sim_args(
    model: str, port: int, *, ttft_s: float, itl_s: float, max_num_seqs: int = 5
) -> list[str]:
    """Flags for an offline, deterministic-timing llm-d-inference-sim serving ``model``.

    ``--force-dummy-tokenizer`` keeps it off the network: otherwise it asks huggingface.co
    whether the model exists before choosing a tokenizer.
    """
    return [
        f"--model={model}",
        f"--port={port}",
        "--mode=random",
        f"--time-to-first-token={round(ttft_s * 1000)}ms",
        f"--inter-token-latency={round(itl_s * 1000)}ms",
        f"--max-num-seqs={max_num_seqs}",
        "--force-dummy-tokenizer",
        "--seed=1",
    ]


@contextlib.contextmanager
def serve_llm_d_sim(
    binary: Path,
    model: str = "sim-model",
    *,
    ttft_s: float = 0.05,
    itl_s: float = 0.01,
    max_num_seqs: int = 5,
    extra_args: Sequence[str] = (),
) -> Iterator[str]:
    """Run llm-d-inference-sim on a free port; yield ``http://127.0.0.1:PORT`` once healthy.

    It listens on every interface (it has no host flag); traffic here stays on 127.0.0.1.
    """
    port = free_port()
    args = [
        str(binary),
        *llm_d_sim_args(model, port, ttft_s=ttft_s, itl_s=itl_s, max_num_seqs=max_num_seqs),
        *extra_args,
    ]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"llm-d-inference-sim exited: {log.read()[-2000:]!r}")
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError("llm-d-inference-sim did not become healthy in 30 s")
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
