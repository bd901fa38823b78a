"""Fixtures for the probe's tests: a real OTLP/HTTP receiver, the simulator, an instrumented SDK.

The receiver is a real HTTP server on 127.0.0.1 (port 0) decoding the protobuf export requests
with ``opentelemetry-proto``, so every test sees the bytes the probe really sends.
"""

from __future__ import annotations

import gzip
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from llmobs_probe._distro import Probe
from llmobs_probe._settings import ProbeSettings


def any_value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return tuple(any_value(x) for x in v.array_value.values)
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind)


def attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in kvs}


@dataclass
class Received:
    """What the receiver decoded, flattened."""

    spans: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    keep_bodies: bool = True  # False: log bodies are replaced by their length (memory tests)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def wait(self, predicate: Callable[[Received], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate(self):
                    return
            time.sleep(0.02)
        raise AssertionError(f"receiver: condition not met in {timeout}s ({len(self.spans)} spans)")

    def llm_spans(self) -> list[dict[str, Any]]:
        with self.lock:
            return [s for s in self.spans if "gen_ai.operation.name" in s["attributes"]]

    def metric_points(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p for m in self.metrics if m["name"] == name for p in m["points"]]


class _Handler(BaseHTTPRequestHandler):
    received: Received

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        rec = self.received
        if self.path == "/v1/traces":
            req = ExportTraceServiceRequest.FromString(body)
            out = []
            for rs in req.resource_spans:
                resource = attrs(rs.resource.attributes)
                for ss in rs.scope_spans:
                    for s in ss.spans:
                        out.append(
                            {
                                "name": s.name,
                                "trace_id": s.trace_id.hex(),
                                "span_id": s.span_id.hex(),
                                "parent_span_id": s.parent_span_id.hex(),
                                "kind": s.kind,
                                "attributes": attrs(s.attributes),
                                "resource": resource,
                                "scope": ss.scope.name,
                                "status": s.status.code,
                                "start": s.start_time_unix_nano,
                                "end": s.end_time_unix_nano,
                                "headers": dict(self.headers),
                            }
                        )
            with rec.lock:
                rec.spans.extend(out)
                rec.requests += 1
        elif self.path == "/v1/logs":
            req_l = ExportLogsServiceRequest.FromString(body)
            logs = []
            for rl in req_l.resource_logs:
                for sl in rl.scope_logs:
                    for r in sl.log_records:
                        logs.append(
                            {
                                "trace_id": r.trace_id.hex(),
                                "span_id": r.span_id.hex(),
                                "body": any_value(r.body)
                                if rec.keep_bodies
                                else len(any_value(r.body) or ""),
                                "attributes": attrs(r.attributes),
                                "event_name": getattr(r, "event_name", ""),
                            }
                        )
            with rec.lock:
                rec.logs.extend(logs)
                rec.requests += 1
        elif self.path == "/v1/metrics":
            req_m = ExportMetricsServiceRequest.FromString(body)
            metrics = []
            for rm in req_m.resource_metrics:
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        kind = m.WhichOneof("data")
                        points = []
                        for p in getattr(m, kind).data_points:
                            point: dict[str, Any] = {"attributes": attrs(p.attributes)}
                            if kind == "histogram":
                                point.update(
                                    count=p.count, sum=p.sum, bounds=tuple(p.explicit_bounds)
                                )
                            else:
                                point["value"] = p.as_int if p.HasField("as_int") else p.as_double
                            points.append(point)
                        metrics.append(
                            {"name": m.name, "unit": m.unit, "kind": kind, "points": points}
                        )
            with rec.lock:
                rec.metrics.extend(metrics)
                rec.requests += 1
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[tuple[str, Received]]:
    """A real OTLP/HTTP receiver on 127.0.0.1; yields (base URL, what it received)."""
    received = Received()
    handler = type("Handler", (_Handler,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


CONTRIB_NAMES = ("requests", "httpx", "aiohttp-client", "fastapi", "starlette", "flask")


def probe_env(endpoint: str, **extra: str) -> dict[str, str]:
    """Settings for a probe exporting quickly to ``endpoint``."""
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "OTEL_METRIC_EXPORT_INTERVAL": "200",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "2000",
        "OTEL_SERVICE_NAME": "probe-test",
        # In-process tests leave the libraries the test harness itself uses uninstrumented.
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": ",".join(CONTRIB_NAMES),
    }
    env.update(extra)
    return env


def start_probe(env: dict[str, str]) -> Probe:
    """A probe built from ``env`` without touching the global providers (tests run many)."""
    from llmobs_probe import _distro

    settings = ProbeSettings.from_env(env)
    return _distro._build(settings, install_globals=False)


@pytest.fixture
def probe_factory() -> Iterator[Callable[..., Probe]]:
    """Start probes exporting to a receiver; each is shut down (and unwrapped) afterwards."""
    started: list[Probe] = []

    def make(endpoint: str, **extra: str) -> Probe:
        probe = start_probe(probe_env(endpoint, **extra))
        started.append(probe)
        return probe

    yield make
    for probe in started:
        probe.shutdown()


SIM_MODEL = "gpt-4o-mini"
FAST_MODEL = "fast-model"  # no simulated latency: for tests about the probe's own latency


@pytest.fixture(scope="session")
def sim_url() -> Iterator[str]:
    """The model-server simulator on 127.0.0.1, fast timings; yields its base URL (no /v1)."""
    from llmobs_testing.servers import serve_app
    from llmobs_testing.simulator import ModelProfile, SimulatorSettings, create_app

    settings = SimulatorSettings(
        models=[
            ModelProfile(name=SIM_MODEL, ttft_s=0.03, itl_s=0.002, default_output_tokens=12),
            ModelProfile(name="text-embedding-3-small", ttft_s=0.0, itl_s=0.0),
            ModelProfile(name=FAST_MODEL, ttft_s=0.0, itl_s=0.0, default_output_tokens=4),
        ]
    )
    with serve_app(create_app(settings)) as url:
        yield url


@pytest.fixture
def traced(
    receiver: tuple[str, Received], probe_factory: Callable[..., Probe]
) -> tuple[Probe, Received]:
    """An instrumented openai SDK exporting to a fresh receiver."""
    endpoint, received = receiver
    return probe_factory(endpoint), received


@pytest.fixture(autouse=True)
def _collect_clients() -> Iterator[None]:
    """Collect each test's SDK clients (and their pooled sockets) when it ends, quietly, so a
    socket left to the garbage collector never surfaces as a warning inside a later test."""
    yield
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def wait_serving(
    get: Callable[[], object], proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 60.0
) -> None:
    """Wait until the app under test answers ``get()``; fail with its log if it exits or stalls."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            get()
            return
        except OSError:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
