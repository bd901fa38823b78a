"""The ``llmobs operator`` command group (mounted by the ``llmobs`` CLI)."""

from typing import Annotated

import typer

app = typer.Typer(
    help="llmobs operator: the LLMObservability CRD, reconciled components and probe injection.",
    no_args_is_help=True,
)


@app.command("run")
def run(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 8443,
) -> None:
    """Not built yet: the operator issue fills this in."""
    typer.echo(f"llmobs operator run: not built yet ({host}:{port})", err=True)
    raise typer.Exit(2)
