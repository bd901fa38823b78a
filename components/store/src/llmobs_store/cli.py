"""The ``llmobs store`` command group (mounted by the ``llmobs`` CLI)."""

from typing import Annotated

import typer

app = typer.Typer(
    help="llmobs store: OTLP ingest, content merge, ClickHouse storage, query API and web UI.",
    no_args_is_help=True,
)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 4318,
) -> None:
    """Not built yet: the store issue fills this in."""
    typer.echo(f"llmobs store serve: not built yet ({host}:{port})", err=True)
    raise typer.Exit(2)
