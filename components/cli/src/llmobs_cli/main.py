"""``llmobs``: the single command line of the distribution.

Each component owns its command group (``llmobs_<component>.cli.app``); this module only mounts
them. A usage mistake prints one line naming the flag or value, and exits 2.
"""

import sys

import typer
import typer.main

# Typer >= 0.20 vendors click; its exception types live here and are not re-exported.
from typer._click import exceptions as cli_errors

from llmobs_cli.demo import app as demo_app
from llmobs_gateway.cli import app as gateway_app
from llmobs_operator.cli import app as operator_app
from llmobs_store.cli import app as store_app
from llmobs_testing.cli import app as simulator_app

app = typer.Typer(
    name="llmobs",
    help="llmobs: full-stack observability for LLM applications, from the browser to the GPU.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(store_app, name="store", help="The telemetry store: OTLP ingest, query API, web UI.")
app.add_typer(gateway_app, name="gateway", help="The AI-gateway tap in front of model servers.")
app.add_typer(operator_app, name="operator", help="The Kubernetes operator and its webhook.")
app.add_typer(simulator_app, name="simulator", help="The model-server simulator (tests, demo).")
app.add_typer(demo_app, name="demo", help="Run the whole stack locally with a sample app.")


def main() -> None:
    """Console-script entry point."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=sys.argv[1:], prog_name="llmobs", standalone_mode=False)
    except cli_errors.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else "", err=True)
        sys.exit(2)
    except cli_errors.UsageError as exc:
        # One line that names the offending flag or value (click's message does), not a box.
        where = exc.ctx.command_path if exc.ctx else "llmobs"
        typer.echo(f"{where}: error: {exc.format_message()}", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
