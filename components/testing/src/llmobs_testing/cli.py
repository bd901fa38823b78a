"""The ``llmobs simulator`` command group (mounted by the ``llmobs`` CLI)."""

from typing import Annotated

import typer

app = typer.Typer(
    help="llmobs testing: an OpenAI-compatible model-server simulator with vLLM metrics.",
    no_args_is_help=True,
)


def _parse_model(spec: str) -> dict[str, object]:
    """``NAME[:TTFT_S:ITL_S]`` → the fields of a ModelProfile."""
    name, *rest = spec.split(":")
    if not name or len(rest) not in (0, 2):
        raise typer.BadParameter(
            f"{spec!r}: expected NAME or NAME:TTFT_S:ITL_S", param_hint="--model"
        )
    fields: dict[str, object] = {"name": name}
    for key, raw in zip(("ttft_s", "itl_s"), rest, strict=False):
        try:
            value = float(raw)
        except ValueError:
            raise typer.BadParameter(
                f"{spec!r}: {key} {raw!r} is not a number", param_hint="--model"
            ) from None
        if value < 0:
            raise typer.BadParameter(f"{spec!r}: {key} must be >= 0", param_hint="--model")
        fields[key] = value
    return fields


@app.command("serve")
def serve(  # noqa: PLR0917 - Typer maps each parameter to a flag
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 8000,
    model: Annotated[
        list[str] | None,
        typer.Option(
            help="Served model as NAME or NAME:TTFT_S:ITL_S (repeatable; first is the default)."
        ),
    ] = None,
    max_concurrent: Annotated[
        int | None, typer.Option(help="Sequences run at once per model; more wait.", min=1)
    ] = None,
    error_rate: Annotated[
        float | None,
        typer.Option(help="Fraction of requests failed before the first byte.", min=0, max=1),
    ] = None,
    mid_stream_failure_rate: Annotated[
        float | None, typer.Option(help="Fraction of streams cut part-way.", min=0, max=1)
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of content and failures.")] = None,
) -> None:
    """Serve the OpenAI-compatible simulator (/v1/chat/completions, /v1/embeddings, /metrics).

    Flags override the LLMOBS_SIM_* environment variables.
    """
    profiles = [_parse_model(spec) for spec in model or []]
    # Heavy imports here so `llmobs --help` stays fast.
    import uvicorn
    from pydantic import ValidationError

    from llmobs_testing.simulator import ModelProfile, SimulatorSettings, create_app

    overrides: dict[str, object] = {
        key: value
        for key, value in {
            "max_concurrent": max_concurrent,
            "error_rate": error_rate,
            "mid_stream_failure_rate": mid_stream_failure_rate,
            "seed": seed,
        }.items()
        if value is not None
    }
    try:
        if profiles:
            overrides["models"] = [ModelProfile.model_validate(p) for p in profiles]
        settings = SimulatorSettings.model_validate(overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        prefix = (
            f"setting {where} (flag or LLMOBS_SIM_{where.split('.')[0].upper()}): " if where else ""
        )
        typer.echo(f"llmobs simulator serve: error: {prefix}{first['msg']}", err=True)
        raise typer.Exit(2) from None
    names = ", ".join(m.name for m in settings.models)
    typer.echo(f"llmobs simulator: serving {names} on http://{host}:{port}", err=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
