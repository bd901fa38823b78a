"""The ``llmobs store`` command group (mounted by the ``llmobs`` CLI)."""

from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="llmobs store: OTLP ingest, content merge, ClickHouse storage, query API and web UI.",
    no_args_is_help=True,
)


@app.command("serve")
def serve(
    *,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 4318,
    db: Annotated[
        str | None,
        typer.Option(
            help="chdb://PATH (embedded, default chdb://.llmobs/data) or "
            "http(s)://user:pass@host:port/database; env LLMOBS_STORE_DB."
        ),
    ] = None,
    retention_days: Annotated[int | None, typer.Option(help="Days kept (TTL).", min=1)] = None,
    spool_dir: Annotated[Path | None, typer.Option(help="Write-ahead spool directory.")] = None,
    cluster: Annotated[
        str | None, typer.Option(help="ClickHouse cluster name (ON CLUSTER).")
    ] = None,
    price_file: Annotated[Path | None, typer.Option(help="JSON price table overrides.")] = None,
    scrape_targets: Annotated[
        Path | None,
        typer.Option(help="JSON file of model-server/GPU Prometheus endpoints to scrape."),
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="debug, info, warning or error.")] = None,
) -> None:
    """Run the store: OTLP/HTTP on /v1/*, the query API on /api/v1, the web UI on /."""
    import logging

    import pydantic
    import uvicorn

    from llmobs_store.app import create_app
    from llmobs_store.settings import StoreSettings

    given: dict[str, Any] = {
        "host": host, "port": port, "db": db, "retention_days": retention_days,
        "spool_dir": spool_dir, "cluster": cluster, "price_file": price_file,
        "log_level": log_level, "scrape_targets_file": scrape_targets,
    }  # fmt: skip
    try:
        settings = StoreSettings(**{k: v for k, v in given.items() if v is not None})
        application = create_app(settings)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise typer.BadParameter(f"{field}: {first['msg']}") from None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    logging.basicConfig(
        level=settings.log_level.upper(),
        format='{"time":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s",'
        '"message":"%(message)s"}',
    )
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )
