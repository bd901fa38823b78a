"""The services of ``llmobs demo``, each a subprocess on 127.0.0.1, started in order and stopped
in reverse: store → model-server simulators → gateway → the instrumented app.

Ports are free ones found at run time, except the store's (its UI address is printed and should
stay stable: 4318 unless ``--port``). Each service logs to ``<data-dir>/logs/<name>.log``.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

#: The two models (name, TTFT s, inter-token s): the bigger one is slower to first token.
FAST_MODEL = ("gpt-4o-mini", 0.12, 0.012)
SLOW_MODEL = ("gpt-4o", 0.55, 0.035)
EMBEDDING_MODEL = "text-embedding-3-small"
#: Fraction of requests the flaky upstream fails before the first byte (the gateway fails over).
FLAKY_ERROR_RATE = 0.3
#: How often the store scrapes the simulators' /metrics: short, so the UI's model-server
#: section fills within seconds of the demo starting.
SCRAPE_INTERVAL_S = 5


class StackError(RuntimeError):
    """A service could not start; the message says which and why (and where its log is)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    """True unless something listens on the port (connections in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the servers do: without it, the last run's closed connections would block the port.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, get SIGTERM if the demo itself is killed (-9), so no
    service outlives it holding its port. Elsewhere the demo's own stop() is all there is."""
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _llmobs(*args: str) -> list[str]:
    return [sys.executable, "-m", "llmobs_cli.main", *args]


def _instrument(*command: str) -> list[str]:
    script = Path(sys.executable).with_name("llmobs-instrument")
    if script.exists():
        return [str(script), *command]
    found = shutil.which("llmobs-instrument")
    if found:
        return [found, *command]
    return [sys.executable, "-m", "llmobs_probe.cli", *command]


@dataclass
class Service:
    """One subprocess of the demo and how to tell that it is ready."""

    name: str
    command: list[str]
    ready: Callable[["Service"], bool]
    env: dict[str, str] = field(default_factory=dict)
    startup_s: float = 60.0
    stop_s: float = 15.0
    on_line: Callable[[str], None] | None = None
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    _reader: threading.Thread | None = None
    _started_at: float = 0.0

    def start(self, logs: Path) -> None:
        self.log_path = logs / f"{self.name}.log"
        self._started_at = time.monotonic()
        log = self.log_path.open("ab")
        # A new session: Ctrl-C reaches the demo only, which then stops the services in order.
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl, safe after fork
        )
        self._reader = threading.Thread(target=self._pump, args=(log,), daemon=True)
        self._reader.start()

    def _pump(self, log: IO[bytes]) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            log.write(raw)
            log.flush()
            if self.on_line is not None:
                self.on_line(raw.decode("utf-8", "replace").rstrip())
        log.close()
        self.process.stdout.close()

    def wait_ready(self) -> float:
        """Block until ready (returns seconds since start); StackError when it exits or takes
        longer than startup_s."""
        assert self.process is not None
        started = self._started_at
        while time.monotonic() - started < self.startup_s:
            if self.process.poll() is not None:
                raise StackError(
                    f"{self.name} exited with code {self.process.returncode}{self._tail()}"
                )
            if self.ready(self):
                return time.monotonic() - started
            time.sleep(0.25)
        raise StackError(f"{self.name} was not ready after {self.startup_s:.0f}s{self._tail()}")

    def _tail(self, lines: int = 12) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text("utf-8", "replace").strip().splitlines()[-lines:]
        return (
            f" (log {self.log_path}):\n  " + "\n  ".join(text)
            if text
            else f" (log {self.log_path})"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=self.stop_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def http_ok(url: str) -> Callable[[Service], bool]:
    def check(_: Service) -> bool:
        try:
            return httpx.get(url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def scrape_targets(ports: dict[str, int]) -> dict[str, object]:
    """The store's targets file for the simulators: ``{model_server name: port}`` → their
    ``/metrics`` (vLLM metric names), kind ``model-server``, labelled with the name."""
    return {
        "interval_s": SCRAPE_INTERVAL_S,
        "targets": [
            {
                "url": f"http://127.0.0.1:{port}/metrics",
                "kind": "model-server",
                "labels": {"model_server": name},
            }
            for name, port in ports.items()
        ],
    }


@dataclass
class Stack:
    """The demo's services, their addresses and the app's progress counters."""

    data_dir: Path
    store_port: int
    users: int = 4
    services: list[Service] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {"turns": 0, "agent": 0, "tool": 0, "failed": 0}
    )
    app_ready: threading.Event = field(default_factory=threading.Event)

    @property
    def store_url(self) -> str:
        return f"http://127.0.0.1:{self.store_port}"

    def plan(self) -> list[Service]:
        """The services in start order (ports chosen now)."""
        sim_port, flaky_port, gw_port = free_port(), free_port(), free_port()
        store_env = {
            "LLMOBS_STORE_DB": f"chdb://{self.data_dir / 'data'}",
            "LLMOBS_STORE_SPOOL_DIR": str(self.data_dir / "spool"),
        }
        models = [
            {"name": name, "ttft_s": ttft, "itl_s": itl, "default_output_tokens": 80}
            for name, ttft, itl in (FAST_MODEL, SLOW_MODEL)
        ]
        sim_env = {"LLMOBS_SIM_MODELS": json.dumps([*models, {"name": EMBEDDING_MODEL}])}
        flaky_env = {"LLMOBS_SIM_MODELS": json.dumps(models[:1])}
        routing = {
            "upstreams": [
                {
                    "name": "sim-flaky",
                    "base_url": f"http://127.0.0.1:{flaky_port}/v1",
                    "models": [FAST_MODEL[0]],
                },
                {
                    "name": "sim-main",
                    "base_url": f"http://127.0.0.1:{sim_port}/v1",
                    "models": [FAST_MODEL[0], SLOW_MODEL[0], EMBEDDING_MODEL],
                },
            ],
            "routes": [
                {"model": FAST_MODEL[0], "upstreams": ["sim-flaky", "sim-main"]},
                {"model": SLOW_MODEL[0], "upstreams": ["sim-main"]},
                {"model": EMBEDDING_MODEL, "upstreams": ["sim-main"]},
            ],
        }
        config = self.data_dir / "gateway.json"
        config.write_text(json.dumps(routing, indent=2), encoding="utf-8")
        # The model-server layer: the store scrapes both simulators as an operator-made targets
        # file would list them (the store reads the file again every round).
        targets = self.data_dir / "scrape-targets.json"
        targets.write_text(
            json.dumps(scrape_targets({"fast": sim_port, "flaky": flaky_port}), indent=2),
            encoding="utf-8",
        )
        gateway = f"http://127.0.0.1:{gw_port}"
        # Export often so the UI fills quickly; forward the simulator's x-sim-* length control.
        gateway_env = {
            "LLMOBS_EXPORT_INTERVAL_S": "5",
            "LLMOBS_FORWARD_HEADER_PREFIXES": '["x-sim-"]',
        }
        app_env = {
            "OTEL_SERVICE_NAME": "demo-chatbot",
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.store_url,
            "OTEL_BSP_SCHEDULE_DELAY": "500",
            "OTEL_METRIC_EXPORT_INTERVAL": "5000",
            "LLMOBS_CAPTURE_CONTENT": "true",
            "PYTHONUNBUFFERED": "1",
        }
        self.services = [
            Service(
                "store",
                _llmobs(
                    "store",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.store_port),
                    "--scrape-targets",
                    str(targets),
                ),
                http_ok(f"{self.store_url}/readyz"),
                env=store_env,
                startup_s=120,
                stop_s=30,
            ),
            Service(
                "simulator",
                _llmobs("simulator", "serve", "--port", str(sim_port), "--seed", "1"),
                http_ok(f"http://127.0.0.1:{sim_port}/v1/models"),
                env=sim_env,
            ),
            Service(
                "flaky-simulator",
                _llmobs(
                    "simulator",
                    "serve",
                    "--port",
                    str(flaky_port),
                    "--seed",
                    "2",
                    "--error-rate",
                    str(FLAKY_ERROR_RATE),
                ),
                http_ok(f"http://127.0.0.1:{flaky_port}/v1/models"),
                env=flaky_env,
            ),
            Service(
                "gateway",
                _llmobs(
                    "gateway",
                    "serve",
                    "--port",
                    str(gw_port),
                    "--config",
                    str(config),
                    "--otlp-endpoint",
                    self.store_url,
                    "--capture-content",
                ),
                http_ok(f"{gateway}/healthz"),
                env=gateway_env,
            ),
            Service(
                "app",
                _instrument(
                    sys.executable,
                    "-m",
                    "llmobs_cli._demo.app",
                    "--gateway",
                    f"{gateway}/v1",
                    "--users",
                    str(self.users),
                    "--poison-store",
                    self.store_url,
                ),
                lambda _: self.app_ready.is_set(),
                env=app_env,
                on_line=self._app_line,
            ),
        ]
        return self.services

    def stages(self) -> list[list[Service]]:
        """Start order: what depends on nothing starts together (store, simulators), then the
        gateway (it needs its upstreams), then the app (it needs the gateway)."""
        by_name = {s.name: s for s in self.services}
        return [
            [by_name["store"], by_name["simulator"], by_name["flaky-simulator"]],
            [by_name["gateway"]],
            [by_name["app"]],
        ]

    def _app_line(self, line: str) -> None:
        if line.startswith("index ready"):
            self.app_ready.set()
        elif line.startswith("turn "):
            self.counts["turns"] += 1
            if " failed" in line:
                self.counts["failed"] += 1
            elif "agent ran" in line:
                self.counts["agent"] += 1
            elif "tool call" in line:
                self.counts["tool"] += 1

    def stop(self) -> None:
        """Stop in reverse order: the app flushes to the gateway and store, the store last."""
        for service in reversed(self.services):
            service.stop()
