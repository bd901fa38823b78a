"""The gateway's app factory: ``create_app(settings, config)`` -> a :class:`GatewayApp`.

The app is a request handler for the gateway's own HTTP server (:mod:`llmobs_gateway._server`):
the proxied OpenAI endpoints go to the proxy, and the few others (``/v1/models``, health,
readiness, Prometheus metrics) are answered here. ``serve`` runs it until SIGINT/SIGTERM, then
drains requests in flight and flushes the telemetry (what a lifespan does in an ASGI service).
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from opentelemetry.sdk.metrics.export import MetricExporter
from opentelemetry.sdk.trace.export import SpanExporter

from llmobs_gateway._limits import RateLimiter
from llmobs_gateway._prometheus import CONTENT_TYPE, GatewayMetrics
from llmobs_gateway._proxy import PROXIED, Proxy
from llmobs_gateway._recording import Recorder
from llmobs_gateway._routing import Router, Upstream, build_upstreams
from llmobs_gateway._server import Exchange, HttpServer, Request
from llmobs_gateway._telemetry import Telemetry, build_telemetry
from llmobs_gateway.config import ConfigError, GatewayConfig, load_config
from llmobs_gateway.settings import GatewaySettings
from llmobs_semconv.pricing import PriceTable

log = logging.getLogger("llmobs_gateway")


class GatewayApp:
    """Dispatches requests: proxied POSTs to the proxy, a few GETs answered here."""

    def __init__(
        self,
        settings: GatewaySettings,
        proxy: Proxy,
        *,
        router: Router,
        telemetry: Telemetry,
        upstreams: dict[str, Upstream],
        metrics: GatewayMetrics,
    ) -> None:
        self.settings = settings
        self.proxy = proxy
        self.router = router
        self.telemetry = telemetry
        self.upstreams = upstreams
        self.metrics = metrics
        self.started = time.time()
        self._gets: dict[str, Callable[[Exchange], None]] = {
            "/v1/models": self._models,
            "/models": self._models,
            "/healthz": self._healthz,
            "/readyz": self._readyz,
            "/metrics": self._prometheus,
        }

    async def handle(self, request: Request, exchange: Exchange) -> None:
        path = request.path
        if request.method == "POST":
            target = PROXIED.get(path)
            if target is not None:
                await self.proxy(request, exchange, target[0], target[1])
                return
        elif request.method == "GET":
            answer = self._gets.get(path)
            if answer is not None:
                answer(exchange)
                return
        if path in PROXIED or path in self._gets:
            exchange.send_error(405, "Method not allowed")
        else:
            exchange.send_error(404, "Unknown path")

    def _models(self, exchange: Exchange) -> None:
        data = [
            {"id": model, "object": "model", "created": int(self.started), "owned_by": owner}
            for model, owner in self.router.served_models()
        ]
        exchange.send_whole(200, json.dumps({"object": "list", "data": data}).encode())

    def _healthz(self, exchange: Exchange) -> None:
        exchange.send_whole(200, b'{"status":"ok"}')

    def _readyz(self, exchange: Exchange) -> None:
        open_ = [u.name for u in self.upstreams.values() if u.breaker.is_open]
        ready = len(open_) < len(self.upstreams)
        body = {"status": "ready" if ready else "no healthy upstream", "open_circuits": open_}
        exchange.send_whole(200 if ready else 503, json.dumps(body).encode())

    def _prometheus(self, exchange: Exchange) -> None:
        exchange.send_whole(200, self.metrics.render(), CONTENT_TYPE.encode())

    def server(self) -> HttpServer:
        """An HTTP server for this app (not started)."""
        return HttpServer(
            self.handle,
            max_body_bytes=self.settings.max_body_bytes,
            keepalive_s=self.settings.keepalive_s,
            read_timeout_s=self.settings.read_timeout_s,
            write_stall_s=self.settings.client_write_stall_s,
            max_per_client_ip=self.settings.max_requests_per_client_ip,
        )

    async def aclose(self) -> None:
        """Close upstream connections and flush queued spans, logs and metrics."""
        for upstream in self.upstreams.values():
            await upstream.pool.aclose()
        # Flushing blocks on the export threads: off the event loop.
        await asyncio.to_thread(self.telemetry.shutdown)


async def serve(
    app: GatewayApp,
    *,
    sock: socket.socket | None = None,
    stop: Callable[[], Awaitable[object]] | None = None,
    ready: Callable[[], object] | None = None,
) -> None:
    """Serve ``app`` on ``settings.host``/``port`` (or ``sock``) until SIGINT/SIGTERM (or until
    ``stop()`` returns), then drain requests in flight and flush the telemetry. ``ready`` is
    called once the server accepts connections."""
    settings = app.settings
    server = app.server()
    await server.start(settings.host, settings.port, sock=sock)
    log.info("gateway listening", extra={"host": settings.host, "port": server.port})
    if ready is not None:
        ready()
    try:
        if stop is None:
            loop = asyncio.get_running_loop()
            stopped = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stopped.set)
            await stopped.wait()
        else:
            await stop()
    finally:
        await server.shutdown(settings.shutdown_grace_s)
        await app.aclose()
        log.info("gateway stopped")


def _load_prices(path: str | None) -> PriceTable:
    if not path:
        return PriceTable()
    try:
        return PriceTable.from_json(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"prices_file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"prices_file {path}: {exc}") from None


def create_app(
    settings: GatewaySettings,
    config: GatewayConfig | None = None,
    *,
    span_exporter: SpanExporter | None = None,
    metric_exporter: MetricExporter | None = None,
) -> GatewayApp:
    """Build a gateway. ``config`` defaults to ``settings.config_file``; raises ConfigError."""
    if config is None:
        if not settings.config_file:
            raise ConfigError("no routes: give --config FILE or --upstream MODEL=URL")
        config = load_config(settings.config_file)
    prices = _load_prices(settings.prices_file)
    metrics = GatewayMetrics()
    upstreams = build_upstreams(
        config,
        settings.breaker_failures,
        settings.breaker_cooldown_s,
        max_header_bytes=settings.max_upstream_header_bytes,
    )
    for name in upstreams:
        metrics.upstream_up.labels(name).set(1)
    router = Router(config, upstreams)
    telemetry = build_telemetry(
        settings.service_name,
        settings.otlp_endpoint,
        settings.export_interval_s,
        span_exporter=span_exporter,
        metric_exporter=metric_exporter,
    )
    recorder = Recorder(
        telemetry,
        metrics,
        prices,
        capture_content=settings.capture_content,
        redact_content=settings.redact_content,
        max_chunk_bytes=settings.max_chunk_bytes,
        log_requests=settings.log_requests,
    )
    accepted = frozenset(k.lower() for k in config.api_keys) if config.api_keys else None
    proxy = Proxy(
        settings,
        router,
        RateLimiter(config.limits),
        recorder=recorder,
        metrics=metrics,
        accepted_key_digests=accepted,
    )
    return GatewayApp(
        settings, proxy, router=router, telemetry=telemetry, upstreams=upstreams, metrics=metrics
    )
