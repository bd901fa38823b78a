"""The peers of the gateway benchmark, each installed under ``.bench/`` and set up at its best.

* **LiteLLM** (``litellm[proxy]`` in a throw-away venv): configured as its production guide
  recommends for throughput — one uvicorn worker per core (``--num_workers``; uvloop is its
  default loop), no database (no ``database_url``: no spend logs, no key lookups), no callbacks,
  logging at ERROR, the bundled model cost map instead of a fetch at start-up.
* **Portkey** (``@portkey-ai/gateway`` from npm, run by ``/usr/bin/node``): the OpenAI provider
  with a custom host (the simulator), ``NODE_ENV=production`` and ``--headless`` (no console UI,
  no log streaming). Its server listens on every interface and takes no host option, so a small
  preload script pins ``listen()`` to 127.0.0.1.

Neither goes into the workspace's lock. :func:`check_routes` proves, before any timing, that a
target really reaches the simulator (the simulator's own request counter moves) and streams
(the first content chunk arrives well before the end).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / ".bench"
LITELLM_VENV = BENCH_DIR / "litellm"
PORTKEY_DIR = BENCH_DIR / "portkey"
PORTKEY_PACKAGE = "@portkey-ai/gateway"
PORTKEY_VERSION = "1.15.2"
PORTKEY_SERVER = (
    PORTKEY_DIR / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
)
NODE = shutil.which("node") or "/usr/bin/node"
_LOCALHOST_PRELOAD = """\
// Pin every listen() of this process to 127.0.0.1: the Portkey server binds all interfaces.
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "object" && args[0] !== null) {
    return listen.call(this, { ...args[0], host: "127.0.0.1" }, ...args.slice(1));
  }
  if (typeof args[0] === "number" || typeof args[0] === "string") {
    const callbacks = args.slice(1).filter((a) => typeof a === "function");
    return listen.call(this, args[0], "127.0.0.1", ...callbacks);
  }
  return listen.apply(this, args);
};
// Portkey adds its x-portkey-* headers to a streamed response whose headers are immutable on
// this Node version ("TypeError: immutable", Portkey-AI/gateway#1389 and #1550) and answers 500.
// Skip those informational header edits instead, as the upstream fix (#1551) does.
for (const method of ["append", "set", "delete"]) {
  const original = Headers.prototype[method];
  Headers.prototype[method] = function (...args) {
    try {
      return original.apply(this, args);
    } catch (error) {
      if (error instanceof TypeError && error.message === "immutable") return undefined;
      throw error;
    }
  };
}
"""


def _uv() -> list[str]:
    return (shutil.which("uv") or f"{sys.executable} -m uv").split()


def ensure_litellm() -> Path:
    """A throw-away venv with litellm[proxy]; created on the first run only."""
    litellm = LITELLM_VENV / "bin" / "litellm"
    if litellm.exists():
        return litellm
    subprocess.run([*_uv(), "venv", "-q", str(LITELLM_VENV), "--python", "3.11"], check=True)
    python = str(LITELLM_VENV / "bin" / "python")
    subprocess.run(
        [*_uv(), "pip", "install", "-q", "--python", python, "litellm[proxy]"], check=True
    )
    return litellm


def litellm_version() -> str:
    python = LITELLM_VENV / "bin" / "python"
    code = "import importlib.metadata as m; print(m.version('litellm'))"
    return subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()


def litellm_config(upstream: str, models: list[str], key: str) -> Path:
    path = BENCH_DIR / "litellm-config.yaml"
    entries = "".join(
        f"  - model_name: {model}\n"
        "    litellm_params:\n"
        f"      model: openai/{model}\n"
        f"      api_base: {upstream}/v1\n"
        "      api_key: sk-upstream\n"
        for model in models
    )
    path.write_text(
        "model_list:\n"
        f"{entries}"
        "general_settings:\n"
        f"  master_key: {key}\n"
        "  disable_spend_logs: true\n"
        "  disable_error_logs: true\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  drop_params: true\n"
        "  set_verbose: false\n"
        "  callbacks: []\n"
    )
    return path


def litellm_command(port: int, config: Path, workers: int) -> tuple[list[str], dict[str, str]]:
    command = [
        str(ensure_litellm()),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        str(workers),
        # uvicorn's supervisor kills a worker that does not answer its ping within 5 s; importing
        # litellm takes longer than that on a busy machine, and the workers die in a loop.
        "--timeout_worker_healthcheck",
        "600",
    ]
    env = {
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    # No DATABASE_URL: the proxy runs without its Postgres (no spend logs, no key table).
    return command, env


def ensure_portkey() -> Path:
    """``npm install @portkey-ai/gateway`` (pinned) into .bench/portkey, never the workspace."""
    if not PORTKEY_SERVER.exists():
        PORTKEY_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(PORTKEY_DIR),
                PORTKEY_PACKAGE,
            ],
            check=True,
        )
    (PORTKEY_DIR / "localhost.cjs").write_text(_LOCALHOST_PRELOAD)
    return PORTKEY_SERVER


def portkey_version() -> str:
    package = PORTKEY_SERVER.parents[1] / "package.json"
    return str(json.loads(package.read_text())["version"]) if package.exists() else ""


def portkey_command(port: int) -> tuple[list[str], dict[str, str]]:
    server = ensure_portkey()
    command = [
        NODE,
        "-r",
        str(PORTKEY_DIR / "localhost.cjs"),
        str(server),
        f"--port={port}",
        "--headless",
    ]
    return command, {"NODE_ENV": "production"}


def portkey_headers(upstream: str) -> dict[str, str]:
    """Route to the simulator: the OpenAI provider with the simulator as its custom host."""
    return {"x-portkey-provider": "openai", "x-portkey-custom-host": f"{upstream}/v1"}


def _sim_requests(upstream: str) -> float:
    text = httpx.get(f"{upstream}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name.startswith("vllm:request_success")
        for sample in family.samples
        if sample.name.endswith("_total")
    )


def _stream_once(url: str, headers: dict[str, str], body: bytes) -> tuple[int, float, float]:
    """(content events, seconds to the first with text, seconds to the last) of one stream."""
    started = time.perf_counter()
    first = last = 0.0
    events = 0
    with httpx.stream(
        "POST",
        f"{url}/v1/chat/completions",
        content=body,
        headers={"content-type": "application/json", **headers},
        timeout=60,
    ) as answer:
        if answer.status_code != 200:
            raise RuntimeError(f"HTTP {answer.status_code}: {answer.read()[:300]!r}")
        for line in answer.iter_lines():
            if line.startswith("data:") and '"content":"' in line and '"content":""' not in line:
                events += 1
                last = time.perf_counter() - started
                first = first or last
    return events, first, last


def check_routes(
    name: str, url: str, *, upstream: str, headers: dict[str, str], model: str, itl_s: float
) -> None:
    """Streamed requests through ``url`` must reach the simulator and arrive token by token.

    ``model`` is a slow one (``itl_s`` between tokens, tens of ms), so that a relay which merely
    coalesces events arriving a few ms apart still passes and one that buffers the stream does
    not. One warm-up request (a cold process may bunch its first stream), then one of 20 tokens:
    the simulator's request counter must move, and the text events must spread over at least half
    the simulator's generation time.
    """
    tokens = 20
    body = json.dumps(
        {
            "model": model,
            "stream": True,
            "max_tokens": tokens,
            "messages": [{"role": "user", "content": "check"}],
        }
    ).encode()
    try:
        _stream_once(url, headers, body)
        before = _sim_requests(upstream)
        events, first, last = _stream_once(url, headers, body)
    except (RuntimeError, httpx.HTTPError) as exc:
        raise RuntimeError(f"{name}: the check request failed: {exc}") from exc
    # The simulator counts a request when it finishes; give its counter a moment.
    deadline = time.monotonic() + 5
    while (moved := _sim_requests(upstream) - before) < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    if moved < 1:
        raise RuntimeError(f"{name}: the request never reached the simulator")
    spread = last - first
    if events < tokens // 2 or spread < 0.5 * (tokens - 1) * itl_s:
        raise RuntimeError(
            f"{name}: not streamed ({events} text events within {spread * 1000:.1f} ms; the "
            f"simulator spends {(tokens - 1) * itl_s * 1000:.0f} ms generating them)"
        )
    print(
        f"  {name}: reaches the simulator and streams ({events} text events over "
        f"{spread * 1000:.0f} ms, first after {first * 1000:.1f} ms)"
    )


def cores() -> int:
    return len(os.sched_getaffinity(0))
