"""A latency probe: GET a health endpoint every few milliseconds and keep the worst answer time.

Used while a gateway serves a hostile upstream, to prove its event loop never stalls: any
blocking work on the loop shows up as one slow ``/healthz``. The probe runs as its own process
(``python -m llmobs_testing.latency URL``), so it shares no GIL with a gateway or a load
generator in the test's process and measures only what a real client would see. It probes on one
keep-alive socket until its stdin closes, then prints one JSON line: worst seconds, samples,
failures. Every round trip is bounded by a socket timeout, and the whole probe by ``max_s``.
"""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import time
from types import TracebackType
from urllib.parse import urlsplit


class LatencyProbe:
    """``with LatencyProbe(url) as probe: ...``; then ``probe.worst_s`` and ``probe.samples``."""

    def __init__(
        self,
        base_url: str,
        path: str = "/healthz",
        *,
        interval_s: float = 0.005,
        timeout_s: float = 30.0,
        max_s: float = 300.0,
    ) -> None:
        self.args = [base_url, path, str(interval_s), str(timeout_s), str(max_s)]
        self.timeout_s = timeout_s
        self.worst_s = 0.0
        self.samples = 0
        self.failures: list[str] = []
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LatencyProbe:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "llmobs_testing.latency", *self.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        # The child says "ready" once its first answer came back: probing covers what follows.
        line = self._proc.stdout.readline()
        if line.strip() != b"ready":
            self._proc.kill()
            self._proc.communicate()  # reaps it and closes its pipes
            raise RuntimeError(f"the latency probe did not start: {line!r}")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc = self._proc
        assert proc is not None
        try:
            out, _ = proc.communicate(b"", timeout=self.timeout_s + 10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        result = json.loads(out.decode().strip().splitlines()[-1]) if out.strip() else {}
        self.worst_s = float(result.get("worst_s", float("inf")))
        self.samples = int(result.get("samples", 0))
        self.failures = list(result.get("failures", ["the probe printed nothing"]))


def _read_answer(sock: socket.socket, failures: list[str]) -> bool:
    """Read one whole answer (head and content-length body); False if the server closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        if not more:
            return False
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        failures.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        more = sock.recv(65536)
        if not more:
            return False
        body += more
    return True


def _probe(base_url: str, path: str, interval_s: float, timeout_s: float, max_s: float) -> None:
    parts = urlsplit(base_url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    request = f"GET {path} HTTP/1.1\r\nhost: probe\r\n\r\n".encode()
    worst, samples = 0.0, 0
    failures: list[str] = []
    sock: socket.socket | None = None
    ended = time.monotonic() + max_s
    try:
        while time.monotonic() < ended:
            if sock is None:
                sock = socket.create_connection(address, timeout=timeout_s)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            started = time.perf_counter()
            sock.sendall(request)
            if not _read_answer(sock, failures):
                sock.close()
                sock = None
                continue
            took = time.perf_counter() - started
            if samples == 0:
                print("ready", flush=True)
            else:  # the first answer includes connecting: not the loop's latency
                worst = max(worst, took)
            samples += 1
            if select.select([sys.stdin], [], [], interval_s)[0]:
                break  # stdin closed (or written to): stop
    except OSError as exc:
        failures.append(f"{type(exc).__name__}: {exc}")
        if samples == 0:
            print("failed", flush=True)
    finally:
        if sock is not None:
            sock.close()
    print(json.dumps({"worst_s": worst, "samples": samples - 1, "failures": failures}))


if __name__ == "__main__":
    url, probe_path, interval, timeout, limit = sys.argv[1:6]
    _probe(url, probe_path, float(interval), float(timeout), float(limit))
