"""An exporter endpoint that is down or black-holed never slows or breaks the app."""

from __future__ import annotations

import socket
import statistics
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from llmobs_probe import _guard

MODEL = "fast-model"


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A TCP port that completes handshakes (backlog) but never reads or answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def _latencies(c: openai.OpenAI, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "ping"}])
        out.append(time.perf_counter() - t0)
    return out


def test_black_holed_endpoint_leaves_latency_unchanged(
    sim_url: str, black_hole: str, probe_factory: Any
) -> None:
    c = openai.OpenAI(base_url=sim_url + "/v1", api_key="k", max_retries=0)
    _latencies(c, 2)  # warm the connection pool
    baseline = statistics.median(_latencies(c, 15))
    before = _guard.dropped().get(("traces", "queue_full"), 0)
    probe = probe_factory(
        black_hole,
        OTEL_EXPORTER_OTLP_TIMEOUT="3000",
        OTEL_BSP_MAX_QUEUE_SIZE="16",
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE="8",
        LLMOBS_SHUTDOWN_TIMEOUT="0.5",
    )
    instrumented = _latencies(c, 40)
    # Every call returned promptly although each export blocks for 3 s on the black hole.
    assert max(instrumented) < 1.0
    assert statistics.median(instrumented) < baseline + 0.005, (baseline, instrumented)
    dropped = _guard.dropped().get(("traces", "queue_full"), 0) - before
    assert dropped > 0  # the bounded queue overflowed, and it was counted
    t0 = time.perf_counter()
    probe.shutdown()  # bounded by LLMOBS_SHUTDOWN_TIMEOUT, not by the 3 s export timeout
    assert time.perf_counter() - t0 < 1.5


def test_refused_endpoint_counts_failed_exports(sim_url: str, probe_factory: Any) -> None:
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    before = _guard.dropped().get(("traces", "export_failed"), 0)
    probe = probe_factory(f"http://127.0.0.1:{port}", OTEL_EXPORTER_OTLP_TIMEOUT="300")
    c = openai.OpenAI(base_url=sim_url + "/v1", api_key="k", max_retries=0)
    result = c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert result.choices  # the app got its answer
    probe.flush()
    assert _guard.dropped().get(("traces", "export_failed"), 0) > before


# Under gevent the export worker is a greenlet, and greenlets survive fork. A gevent app forks for
# every subprocess (the openai SDK's platform.platform() runs `uname -p` on a request); the child
# must get to its exec (here: its exit) instead of running the parent's export loop forever.
_FORKED_CHILD = """
from gevent import monkey

monkey.patch_all()
import os, sys, time
import gevent
from llmobs_probe._export_worker import ExportWorker

worker = ExportWorker(span_exporter=None, log_exporter=None, collect_metrics=None,
                      max_queue_size=16, max_batch_size=8, schedule_delay_s=0.02,
                      metric_interval_s=60.0)
worker.put_span(object())  # starts the worker greenlet
gevent.sleep(0.05)  # it now waits on its Event
pid = os.fork()
if pid == 0:
    gevent.sleep(0.2)  # lets the inherited worker greenlet run in the child
    os._exit(7)
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        sys.exit(0 if os.waitstatus_to_exitcode(status) == 7 else 1)
    time.sleep(0.05)
os.kill(pid, 9)
os.waitpid(pid, 0)
sys.exit(3)  # the child never got past the worker greenlet it inherited
"""


def test_gevent_child_is_not_held_by_inherited_worker_greenlet() -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", _FORKED_CHILD], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-3000:])
