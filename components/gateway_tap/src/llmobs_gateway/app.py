"""The gateway's app factory: ``create_app(settings, config)`` -> an ASGI app with a lifespan.

The proxied OpenAI endpoints are dispatched straight to the raw-ASGI proxy (no routing framework
on the hot path); everything else (``/v1/models``, health, metrics) is a small Starlette app.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.trace.export import SpanExporter
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from llmobs_gateway._asgi import Receive, Scope, Send, error_body
from llmobs_gateway._limits import RateLimiter
from llmobs_gateway._prometheus import CONTENT_TYPE, GatewayMetrics
from llmobs_gateway._proxy import PROXIED, Proxy
from llmobs_gateway._recording import Recorder
from llmobs_gateway._routing import Router, Upstream, build_upstreams
from llmobs_gateway._telemetry import Telemetry, build_telemetry
from llmobs_gateway.config import ConfigError, GatewayConfig, load_config
from llmobs_gateway.settings import GatewaySettings
from llmobs_semconv.pricing import PriceTable


class GatewayApp:
    """The ASGI entry point: proxied POSTs to the proxy, the rest to Starlette."""

    def __init__(
        self,
        proxy: Proxy,
        web: Starlette,
        telemetry: Telemetry,
        upstreams: dict[str, Upstream],
        metrics: GatewayMetrics,
    ) -> None:
        self.proxy = proxy
        self.web = web
        self.telemetry = telemetry
        self.upstreams = upstreams
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            target = PROXIED.get(scope["path"])
            if target is not None:
                await self.proxy(scope, receive, send, target[0], target[1])
                return
        await self.web(scope, receive, send)


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
    metric_reader: MetricReader | None = None,
) -> GatewayApp:
    """Build a gateway. ``config`` defaults to ``settings.config_file``; raises ConfigError."""
    if config is None:
        if not settings.config_file:
            raise ConfigError("no routes: give --config FILE or --upstream MODEL=URL")
        config = load_config(settings.config_file)
    prices = _load_prices(settings.prices_file)
    metrics = GatewayMetrics()
    upstreams = build_upstreams(config, settings.breaker_failures, settings.breaker_cooldown_s)
    for name in upstreams:
        metrics.upstream_up.labels(name).set(1)
    router = Router(config, upstreams)
    telemetry = build_telemetry(
        settings.service_name,
        settings.otlp_endpoint,
        settings.export_interval_s,
        span_exporter=span_exporter,
        metric_reader=metric_reader,
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
    started = time.time()

    async def models(_: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": model, "object": "model", "created": int(started), "owned_by": owner}
                    for model, owner in router.served_models()
                ],
            }
        )

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        open_ = [u.name for u in upstreams.values() if u.breaker.is_open]
        ready = len(open_) < len(upstreams)
        return JSONResponse(
            {"status": "ready" if ready else "no healthy upstream", "open_circuits": open_},
            status_code=200 if ready else 503,
        )

    async def prometheus(_: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    async def http_error(_: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = {404: "Unknown path", 405: "Method not allowed"}.get(status, "Request failed")
        return Response(
            error_body(status, message), status_code=status, media_type="application/json"
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for upstream in upstreams.values():
                await upstream.pool.aclose()
            # Flushes queued spans/logs/metrics; blocking, so off the event loop.
            await asyncio.to_thread(telemetry.shutdown)

    web = Starlette(
        routes=[
            Route("/v1/models", models, methods=["GET"]),
            Route("/models", models, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", prometheus, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    return GatewayApp(proxy, web, telemetry, upstreams, metrics)
