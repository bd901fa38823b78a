"""The ``llmobs gateway`` command group (mounted by the ``llmobs`` CLI)."""

from typing import Annotated

import typer

app = typer.Typer(
    help="llmobs gateway tap: an OpenAI-compatible AI gateway that records every request.",
    no_args_is_help=True,
)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 4000,
) -> None:
    """Not built yet: the gateway issue fills this in."""
    typer.echo(f"llmobs gateway serve: not built yet ({host}:{port})", err=True)
    raise typer.Exit(2)
