"""The OpenTelemetry Collector as the store benchmark's bound on what accepting OTLP costs.

``otelcol/`` holds a minimal collector distribution: ``main.go`` wires the OTLP receiver and the
nop exporter (accepts every span, drops it) into ``otelcol.NewCommand``; ``go.mod``/``go.sum`` pin
every module (collector v0.165.0 / v1.71.0, the release the Go module proxy serves). ``binary()``
builds it once into ``~/.cache/llmobs/bin/otelcol-llmobs-bench-<version>-<go.sum hash>`` (the cache
of ``llmobs_testing.peers``) and reuses it afterwards: ``CGO_ENABLED=0``, ``GOTOOLCHAIN=local`` (no
toolchain download), ``-trimpath``. ``serve()`` runs it with the OTLP/HTTP receiver on a free
loopback port and its own metrics on another; ``accepted_spans()`` reads
``otelcol_receiver_accepted_spans`` from them, which counts a span once the pipeline (here the nop
exporter) has taken it, just before the HTTP answer.

Built by ``scripts/bootstrap-extras.sh`` (when Go is present) and ``make bench-store``:
``.venv/bin/python benchmarks/store/_otelcol.py`` prints the binary's path, building it if missing.
"""

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from llmobs_testing.peers import PeerBuildError, cache_bin_dir
from llmobs_testing.servers import free_port

PROTO = {"content-type": "application/x-protobuf"}
SOURCE = Path(__file__).resolve().parent / "otelcol"
VERSION = "v0.165.0"  # go.opentelemetry.io/collector/otelcol in otelcol/go.mod
_BUILD_TIMEOUT_S = 1800
_ACCEPTED = re.compile(
    r'^otelcol_receiver_accepted_spans(?:_total)?\{[^}]*receiver="otlp"[^}]*\} ([0-9.e+]+)$', re.M
)
_CONFIG = """receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{otlp_port}
exporters:
  nop:
service:
  telemetry:
    logs: {{level: warn}}
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus: {{host: 127.0.0.1, port: {metrics_port}, without_units: true}}
  pipelines:
    traces: {{receivers: [otlp], exporters: [nop]}}
"""


def _target() -> Path:
    pin = hashlib.sha256((SOURCE / "go.sum").read_bytes() + (SOURCE / "main.go").read_bytes())
    return cache_bin_dir() / f"otelcol-llmobs-bench-{VERSION}-{pin.hexdigest()[:8]}"


def installed() -> Path | None:
    """The built binary when it is there (never builds)."""
    target = _target()
    return target if target.is_file() and os.access(target, os.X_OK) else None


def binary() -> Path | None:
    """The collector binary, built once per pinned version; None when Go is missing."""
    target = _target()
    if installed():
        return target
    go = shutil.which("go")
    if go is None:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several processes may ask at once: one builds
        if installed():
            return target
        with tempfile.TemporaryDirectory(prefix="otelcol-build-") as tmp:
            work = Path(tmp)
            for name in ("main.go", "go.mod", "go.sum"):  # build outside the repo: no go.work
                shutil.copy(SOURCE / name, work / name)
            built = work / "otelcol"
            env = {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local"}
            cmd = [go, "build", "-trimpath", "-ldflags=-s -w", "-o", str(built), "."]
            result = subprocess.run(
                cmd, cwd=work, env=env, capture_output=True, text=True, timeout=_BUILD_TIMEOUT_S
            )
            if result.returncode != 0:
                tail = (result.stdout + result.stderr)[-2000:]
                raise PeerBuildError(f"go build of the collector failed:\n{tail}")
            partial = target.with_name(target.name + ".partial")
            shutil.move(built, partial)
            partial.chmod(0o755)
            partial.replace(target)  # atomic: nobody sees a half-written binary
    return target


@dataclass
class Collector:
    """A running collector: where to send OTLP/HTTP, where its metrics are, its process id."""

    otlp_url: str
    metrics_url: str
    pid: int


def accepted_spans(collector: Collector) -> int:
    """Spans the OTLP receiver has accepted (handed to the pipeline) so far."""
    text = httpx.get(collector.metrics_url, timeout=10).text
    match = _ACCEPTED.search(text)
    return int(float(match.group(1))) if match else 0


@contextlib.contextmanager
def serve(executable: Path, work: Path) -> Iterator[Collector]:
    """Run the collector on free loopback ports until the block ends; yields once it answers."""
    otlp_port, metrics_port = free_port(), free_port()
    config = work / "otelcol.yaml"
    config.write_text(_CONFIG.format(otlp_port=otlp_port, metrics_port=metrics_port))
    collector = Collector(
        f"http://127.0.0.1:{otlp_port}", f"http://127.0.0.1:{metrics_port}/metrics", 0
    )
    with open(work / "otelcol.log", "wb") as log:
        proc = subprocess.Popen(
            [str(executable), "--config", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        collector.pid = proc.pid
        try:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.TransportError):
                    # Up once the receiver answers an empty export (telemetry starts first).
                    empty = httpx.post(
                        collector.otlp_url + "/v1/traces", content=b"", headers=PROTO
                    )
                    if empty.status_code == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the collector did not start: {(work / 'otelcol.log').read_text()[-2000:]}"
                    )
                time.sleep(0.1)
            yield collector
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    started = time.monotonic()
    path = binary()
    if path is None:
        sys.exit("the OpenTelemetry Collector needs a Go toolchain (>= 1.26) to build")
    print(f"{path} ({time.monotonic() - started:.0f} s)")
