"""``llmobs demo``: the whole stack on this machine (filled by the demo issue)."""

from typing import Annotated

import typer

app = typer.Typer(
    help="Run the whole stack locally with a sample app.", invoke_without_command=True
)


@app.callback()
def demo(
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: until Ctrl-C).")
    ] = None,
    port: Annotated[int, typer.Option(help="Port of the store and its web UI.")] = 4318,
) -> None:
    """Start store, gateway, simulator and a sample instrumented app."""
    typer.echo("llmobs demo: not built yet", err=True)
    raise typer.Exit(2)
