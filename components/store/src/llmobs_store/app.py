"""The store's app factory and lifespan: OTLP receivers, query API, operations, web UI."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from llmobs_semconv.pricing import PriceTable
from llmobs_store import __version__, api, dead_letter_routes, receivers
from llmobs_store._responses import UNAUTHORISED
from llmobs_store.deadletter import DeadLetters
from llmobs_store.merge import ContentMerger
from llmobs_store.normaliser import CachedPrices
from llmobs_store.queries import Queries
from llmobs_store.reconciler import TraceReconciler
from llmobs_store.rum import RumCors
from llmobs_store.schema import SchemaTarget
from llmobs_store.scrape import Scraper
from llmobs_store.security import query_allowed, require_query
from llmobs_store.settings import StoreSettings
from llmobs_store.spool import Spool
from llmobs_store.state import StoreState
from llmobs_store.storage import Storage
from llmobs_store.telemetry import StoreMetrics
from llmobs_store.writer import Writer

log = logging.getLogger("llmobs_store")


def load_prices(settings: StoreSettings) -> PriceTable:
    """The shipped price table, with the override file's entries first when one is given."""
    if settings.price_file is None:
        return CachedPrices()
    try:
        text = Path(settings.price_file).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"price_file: cannot read {settings.price_file}: {exc}") from None
    return CachedPrices.from_json(text)


def static_dir() -> Path:
    return Path(str(resources.files("llmobs_store") / "ui" / "static"))


def create_app(settings: StoreSettings) -> FastAPI:
    """Build the store; its parts start in the lifespan (nothing runs at import or here)."""
    prices = load_prices(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        metrics = StoreMetrics()
        target = SchemaTarget(settings.database, settings.cluster, settings.retention_days)
        storage = Storage(settings.db, target, settings.db_user, settings.db_password)
        spool = Spool(
            settings.spool_dir,
            settings.spool_segment_bytes,
            settings.spool_max_bytes,
            fsync=settings.spool_fsync,
        )
        merger = ContentMerger(storage, settings.content_grace_s)
        trees = TraceReconciler(storage, settings.tree_settle_s, spool.dir)
        writer = Writer(
            storage,
            spool,
            merger=merger,
            prices=prices,
            metrics=metrics,
            batch_rows=settings.batch_rows,
            batch_bytes=settings.batch_bytes,
            batch_wait_s=settings.batch_wait_s,
            dead_letters=DeadLetters(storage, settings.spool_dir, metrics),
            record_limit=settings.dead_letter_record_bytes,
            trees=trees,
        )
        metrics.bind(lambda: spool.depth_bytes, lambda: merger.backlog, lambda: trees.backlog)
        app.state.store = StoreState(settings, storage, spool, writer, Queries(storage), metrics)
        if not await anyio.to_thread.run_sync(storage.connect):
            log.warning(
                "clickhouse unreachable at start, ingest goes to the spool: %s", storage.last_error
            )
        writer.start()
        scraping = None
        if settings.scrape_targets_file is not None:
            scraper = Scraper(
                settings.scrape_targets_file,
                storage,
                default_interval_s=settings.scrape_interval_s,
                timeout_s=settings.scrape_timeout_s,
            )
            app.state.scraper = scraper
            scraping = asyncio.create_task(scraper.run(), name="llmobs-scrape")
        log.info("llmobs store ready: db=%s spool=%s", _redact(settings.db), settings.spool_dir)
        try:
            yield
        finally:
            if scraping is not None:
                scraping.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await scraping
            await anyio.to_thread.run_sync(writer.stop)
            spool.close()
            storage.close()

    app = FastAPI(
        title="llmobs store",
        version=__version__,
        description="OTLP/HTTP ingest, streamed-content merge, ClickHouse storage and query API.",
        lifespan=lifespan,
    )
    if settings.rum_enabled:
        app.add_middleware(RumCors, allowed_origins=settings.rum_allowed_origins)
    app.include_router(receivers.router)
    app.include_router(api.router)
    app.include_router(dead_letter_routes.router)

    @app.get("/healthz", tags=["ops"], summary="Liveness: the process is serving")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["ops"],
        summary="Readiness: ClickHouse reachable, writer healthy",
        description="The status code is open to probes; the detail (storage error, writer, "
        "spool depth) needs the query token when one is set.",
        responses={503: {"description": "Not ready (same body)."}},
    )
    async def readyz(request: Request) -> JSONResponse:
        state: StoreState = request.app.state.store
        ready = state.storage.connected and state.writer.healthy
        body: dict[str, object] = {"ready": ready}
        if query_allowed(request):
            body |= {
                "storage": "ok" if state.storage.connected else state.storage.last_error,
                "writer": "ok" if state.writer.healthy else "retrying",
                "spool_depth_bytes": state.spool.depth_bytes,
            }
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get(
        "/metrics",
        tags=["ops"],
        summary="Prometheus metrics about the store itself (query token when set)",
        dependencies=[Depends(require_query)],
        response_class=Response,
        responses={
            200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}},
            401: UNAUTHORISED,
        },
    )
    async def prometheus(request: Request) -> Response:
        state: StoreState = request.app.state.store
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    ui = static_dir()
    app.mount("/ui", StaticFiles(directory=ui, html=True), name="ui")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(ui / "index.html")

    return app


def _redact(dsn: str) -> str:
    """A DSN without its password, for logs."""
    if "@" not in dsn or "://" not in dsn:
        return dsn
    scheme, rest = dsn.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
