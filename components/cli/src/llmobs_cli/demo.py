"""``llmobs demo``: the whole stack on this machine, with a sample LLM app and its users.

Starts the store (embedded chDB), two model-server simulators (two models of different speed, and
a flaky upstream so the gateway's failover shows), the gateway, and a retrieval-augmented chatbot
under ``llmobs-instrument`` driven by simulated users. Prints the UI address, runs until Ctrl-C or
``--duration``, then stops everything in reverse order so the last spans are flushed.
"""

import signal
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from llmobs_cli._demo._stack import Stack

app = typer.Typer(
    help="Run the whole stack locally with a sample app.", invoke_without_command=True
)


@app.callback()
def demo(
    duration: Annotated[
        float | None,
        typer.Option(
            help="Stop after this many seconds of traffic (default: until Ctrl-C).", min=1
        ),
    ] = None,
    port: Annotated[
        int, typer.Option(help="Port of the store and its web UI.", min=1, max=65535)
    ] = 4318,
    users: Annotated[int, typer.Option(help="Simulated users (1-6).", min=1, max=6)] = 4,
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its data and logs.")] = Path(
        ".llmobs/demo"
    ),
) -> None:
    """Start store, gateway, simulators and a sample instrumented app; print the UI address."""
    from rich.console import Console
    from rich.panel import Panel

    from llmobs_cli._demo._stack import Stack, StackError, port_is_free

    console = Console(highlight=False)
    # `kill`, `timeout` and service managers send SIGTERM: stop the services as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    if not port_is_free(port):
        typer.echo(
            f"llmobs demo: error: --port {port} is in use (another llmobs store or demo?); "
            f"stop it, or pick another port: llmobs demo --port {port + 1}",
            err=True,
        )
        raise typer.Exit(2)
    data_dir = data_dir.resolve()
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    stack = Stack(data_dir=data_dir, store_port=port, users=users)
    stack.plan()
    began = time.monotonic()
    try:
        for stage in stack.stages():
            names = ", ".join(s.name for s in stage)
            with console.status(f"starting {names}…", spinner="dots"):
                for service in stage:
                    service.start(data_dir / "logs")
                for service in stage:
                    took = service.wait_ready()
                    console.print(f"[green]✓[/green] {service.name} ready [dim]({took:.1f}s)[/dim]")
        ui = f"{stack.store_url}/"
        console.print(
            Panel.fit(
                f"[bold]llmobs web UI:[/bold] [link={ui}]{ui}[/link]\n"
                f"[dim]OTLP/HTTP and query API on the same port · logs: {data_dir / 'logs'}[/dim]\n"
                "Open it, then ask: which model is slowest to first token? which session cost the "
                "most? what did the looping agent do?",
                title="llmobs demo",
                border_style="blue",
            )
        )
        # The line tests and scripts wait for (plain, no markup).
        print(f"UI ready at {ui}", flush=True)
        console.print(
            f"started in {time.monotonic() - began:.1f}s; "
            + ("Ctrl-C to stop" if duration is None else f"running for {duration:.0f}s")
        )
        _run(stack, duration, console)
    except StackError as exc:
        console.print(f"[red]llmobs demo: error: {exc}[/red]")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("\nstopping…")
    finally:
        with console.status("stopping the services (flushing the last spans)…"):
            stack.stop()
    c = stack.counts
    console.print(
        f"stopped: {c['turns']} turns ({c['tool']} with a tool call, {c['agent']} agent "
        f"runs, {c['failed']} failed). The data stays in {data_dir}."
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _run(stack: "Stack", duration: float | None, console: "Console") -> None:
    """Show a live traffic line until the duration ends (or Ctrl-C); fail if a service dies."""
    from rich.live import Live

    from llmobs_cli._demo._stack import StackError

    start = time.monotonic()
    with Live(console=console, refresh_per_second=2, transient=True) as live:
        while duration is None or time.monotonic() - start < duration:
            dead = [s.name for s in stack.services if not s.running]
            if dead:
                raise StackError(
                    f"{', '.join(dead)} stopped unexpectedly (see {stack.data_dir / 'logs'})"
                )
            c = stack.counts
            live.update(
                f"[dim]{time.monotonic() - start:5.0f}s[/dim]  turns {c['turns']} · tool calls "
                f"{c['tool']} · agent runs {c['agent']} · failed {c['failed']}  "
                f"[dim]→ {stack.store_url}/[/dim]"
            )
            time.sleep(0.5)
