"""The ``llmobs gateway`` command group (mounted by the ``llmobs`` CLI).

Heavy imports stay inside the command so that ``llmobs --help`` stays fast.
"""

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
    *,
    config: Annotated[
        str | None,
        typer.Option("--config", help="YAML/JSON routing file: upstreams, routes, limits."),
    ] = None,
    upstream: Annotated[
        list[str] | None,
        typer.Option(
            "--upstream",
            help="Quick start: MODEL=URL (repeatable), e.g. my-model=http://127.0.0.1:8000/v1.",
        ),
    ] = None,
    otlp_endpoint: Annotated[
        str | None,
        typer.Option(help="OTLP/HTTP receiver (the store), e.g. http://127.0.0.1:4318."),
    ] = None,
    capture_content: Annotated[
        bool | None,
        typer.Option("--capture-content/--no-capture-content", help="Record prompts/outputs."),
    ] = None,
) -> None:
    """Run the gateway: route, fail over, stream through and record every request."""
    import asyncio
    import sys

    from pydantic import ValidationError

    from llmobs_gateway._logging import configure_logging
    from llmobs_gateway.app import create_app, serve
    from llmobs_gateway.config import ConfigError, config_from_flags, load_config
    from llmobs_gateway.settings import GatewaySettings

    overrides: dict[str, object] = {"host": host, "port": port}
    if config is not None:
        overrides["config_file"] = config
    if otlp_endpoint is not None:
        overrides["otlp_endpoint"] = otlp_endpoint
    if capture_content is not None:
        overrides["capture_content"] = capture_content
    try:
        settings = GatewaySettings(**overrides)  # type: ignore[arg-type]
        routing = load_config(settings.config_file) if settings.config_file else None
        if upstream:
            routing = config_from_flags(upstream, routing)
        gateway = create_app(settings, routing)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        typer.echo(f"llmobs gateway serve: error: setting {field}: {err['msg']}", err=True)
        raise typer.Exit(2) from None
    except ConfigError as exc:
        typer.echo(f"llmobs gateway serve: error: {exc}", err=True)
        raise typer.Exit(2) from None
    configure_logging(settings.log_level)
    # The OTel export threads encode batches of spans while holding the GIL; with the default
    # 5 ms switch interval the event loop (every in-flight stream) could wait that long per
    # hand-over. 0.5 ms bounds the stall a request sees from background export.
    sys.setswitchinterval(0.0005)
    try:
        import uvloop
    except ImportError:  # not on Windows: the standard loop serves, slower
        asyncio.run(serve(gateway))
    else:
        uvloop.run(serve(gateway))
