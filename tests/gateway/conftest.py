"""Fixtures for the gateway's integration tests: a real OTLP/HTTP receiver, simulators, gateways.

Everything runs as real HTTP servers on 127.0.0.1 (free ports): the simulator as the model server,
the gateway on its own server (as `llmobs gateway serve` runs it), and a small OTLP/HTTP receiver
that decodes the protobuf export requests the gateway's OpenTelemetry SDK sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import openai
import pytest
import uvloop
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from llmobs_gateway.app import GatewayApp, create_app, serve
from llmobs_gateway.config import GatewayConfig, parse_config
from llmobs_gateway.settings import GatewaySettings
from llmobs_testing.servers import serve_app
from llmobs_testing.simulator import ModelProfile, SimulatorSettings
from llmobs_testing.simulator import create_app as create_simulator


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


@dataclass
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    status_code: int
    attributes: dict[str, Any]
    resource: dict[str, Any]


@dataclass
class ReceivedLog:
    trace_id: str
    span_id: str
    body: Any
    event_name: str
    attributes: dict[str, Any]


@dataclass
class OtlpReceiver:
    """Collects what arrives at /v1/traces, /v1/logs and /v1/metrics (decoded protobuf)."""

    url: str = ""
    spans: list[ReceivedSpan] = field(default_factory=list)
    logs: list[ReceivedLog] = field(default_factory=list)
    metric_names: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for_spans(
        self, predicate: Callable[[ReceivedSpan], bool], count: int = 1, timeout: float = 10.0
    ) -> list[ReceivedSpan]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = [s for s in self.spans if predicate(s)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def app(self) -> Starlette:
        async def traces(request: Request) -> Response:
            msg = ExportTraceServiceRequest()
            msg.ParseFromString(await request.body())
            with self.lock:
                for rs in msg.resource_spans:
                    resource = {kv.key: any_value(kv.value) for kv in rs.resource.attributes}
                    for ss in rs.scope_spans:
                        for s in ss.spans:
                            self.spans.append(
                                ReceivedSpan(
                                    name=s.name,
                                    trace_id=s.trace_id.hex(),
                                    span_id=s.span_id.hex(),
                                    parent_span_id=s.parent_span_id.hex(),
                                    kind=s.kind,
                                    status_code=s.status.code,
                                    attributes={kv.key: any_value(kv.value) for kv in s.attributes},
                                    resource=resource,
                                )
                            )
            return Response(b"", media_type="application/x-protobuf")

        async def logs(request: Request) -> Response:
            msg = ExportLogsServiceRequest()
            msg.ParseFromString(await request.body())
            with self.lock:
                for rl in msg.resource_logs:
                    for sl in rl.scope_logs:
                        for r in sl.log_records:
                            self.logs.append(
                                ReceivedLog(
                                    trace_id=r.trace_id.hex(),
                                    span_id=r.span_id.hex(),
                                    body=any_value(r.body),
                                    event_name=r.event_name,
                                    attributes={kv.key: any_value(kv.value) for kv in r.attributes},
                                )
                            )
            return Response(b"", media_type="application/x-protobuf")

        async def metrics(request: Request) -> Response:
            msg = ExportMetricsServiceRequest()
            msg.ParseFromString(await request.body())
            with self.lock:
                for rm in msg.resource_metrics:
                    for sm in rm.scope_metrics:
                        self.metric_names.update(m.name for m in sm.metrics)
            return Response(b"", media_type="application/x-protobuf")

        return Starlette(
            routes=[
                Route("/v1/traces", traces, methods=["POST"]),
                Route("/v1/logs", logs, methods=["POST"]),
                Route("/v1/metrics", metrics, methods=["POST"]),
            ]
        )


@pytest.fixture(autouse=True)
def _close_sdk_clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close every openai.OpenAI a test made, so no socket is left for the GC to warn about
    in some later test (warnings are errors)."""
    made: list[openai.OpenAI] = []
    original = openai.OpenAI.__init__

    def init(self: openai.OpenAI, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(openai.OpenAI, "__init__", init)
    yield
    for client in made:
        client.close()


@pytest.fixture
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    with serve_app(receiver.app()) as url:
        receiver.url = url
        yield receiver


def simulator(**profile: Any) -> Any:
    """A simulator app serving one model profile (name defaults to sim-model)."""
    extra = {k: profile.pop(k) for k in list(profile) if k in SimulatorSettings.model_fields}
    profile.setdefault("name", "sim-model")
    return create_simulator(SimulatorSettings(models=[ModelProfile(**profile)], **extra))


@pytest.fixture
def sim_url() -> Iterator[str]:
    """A fast simulator (5 ms TTFT, 2 ms between tokens) serving ``sim-model``."""
    with serve_app(simulator(ttft_s=0.005, itl_s=0.002)) as url:
        yield url


@dataclass
class Gateway:
    url: str
    app: GatewayApp

    def flush(self) -> None:
        """Push queued spans and logs out now (the SDK batches them every second)."""
        self.app.telemetry.tracer_provider.force_flush()
        self.app.telemetry.logger_provider.force_flush()


@contextlib.contextmanager
def serve_gateway(app: GatewayApp) -> Iterator[str]:
    """Run ``serve(app)`` (what ``llmobs gateway serve`` runs) on a free port in a thread with
    its own uvloop event loop; on exit stop it the way SIGTERM does and join the thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    ready = threading.Event()
    loop_box: list[asyncio.AbstractEventLoop] = []
    stop_box: list[asyncio.Event] = []
    failure: list[BaseException] = []

    async def main() -> None:
        stop = asyncio.Event()
        loop_box.append(asyncio.get_running_loop())
        stop_box.append(stop)
        await serve(app, sock=sock, stop=stop.wait, ready=ready.set)

    def run() -> None:
        try:
            uvloop.run(main())
        except BaseException as exc:
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=run, name=f"gateway-{port}", daemon=True)
    thread.start()
    try:
        assert ready.wait(15), "the gateway did not start"
        assert not failure, f"the gateway failed to start: {failure!r}"
        yield f"http://127.0.0.1:{port}"
    finally:
        if loop_box and stop_box and thread.is_alive():
            loop_box[0].call_soon_threadsafe(stop_box[0].set)
        thread.join(20)
        sock.close()
        assert not thread.is_alive(), "the gateway did not stop"
        assert not failure, f"the gateway failed: {failure!r}"


@contextlib.contextmanager
def run_gateway(
    config: GatewayConfig | dict[str, Any], otlp_url: str | None = None, **settings: Any
) -> Iterator[Gateway]:
    """Serve a gateway for ``config`` on a free port."""
    if isinstance(config, dict):
        config = parse_config(config)
    app = create_app(GatewaySettings(otlp_endpoint=otlp_url, **settings), config)
    with serve_gateway(app) as url:
        yield Gateway(url, app)


def one_upstream(base_url: str, model: str = "sim-model", **upstream: Any) -> dict[str, Any]:
    return {
        "upstreams": [{"name": "sim", "base_url": base_url + "/v1", "models": [model], **upstream}],
        "routes": [{"model": model, "upstreams": ["sim"]}],
    }
