"""The ``llmobs operator`` command group (mounted by the ``llmobs`` CLI)."""

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="llmobs operator: the LLMObservability CRD, reconciled components and probe injection.",
    no_args_is_help=True,
)


@app.command("run")
def run(
    *,
    host: Annotated[
        str | None, typer.Option(help="Address the webhook server listens on (default 0.0.0.0).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help="Port of the webhook server (default 8443).", min=1, max=65535),
    ] = None,
    namespace: Annotated[
        str | None, typer.Option(help="The operator's own namespace (never injected).")
    ] = None,
    webhook_url: Annotated[
        str | None,
        typer.Option(
            help="Register the webhook by URL (local process), e.g. https://127.0.0.1:8443."
        ),
    ] = None,
    kubeconfig: Annotated[
        Path | None, typer.Option(help="Kubeconfig file (default: in-cluster or $KUBECONFIG).")
    ] = None,
    tls_dir: Annotated[
        Path | None,
        typer.Option(help="Directory with tls.crt, tls.key, ca.crt; default: self-signed."),
    ] = None,
    peering: Annotated[
        str | None, typer.Option(help="kopf peering name, or 'standalone' for a single replica.")
    ] = None,
    liveness_port: Annotated[
        int | None, typer.Option(help="Serve /healthz on this port (0: off).", min=0, max=65535)
    ] = None,
) -> None:
    """Run the operator and its probe-injection webhook until interrupted."""
    import asyncio
    import logging
    import os
    import secrets
    import tempfile

    import kopf

    from llmobs_operator import tls
    from llmobs_operator.handlers import build_registry
    from llmobs_operator.reconciler import Runtime
    from llmobs_operator.settings import OperatorSettings

    overrides = {
        "host": host,
        "port": port,
        "namespace": namespace,
        "webhook_url": webhook_url,
        "kubeconfig": kubeconfig,
        "tls_dir": tls_dir,
        "peering": peering,
        "liveness_port": liveness_port,
    }
    settings = OperatorSettings.model_validate(
        {k: v for k, v in overrides.items() if v is not None}
    )
    if settings.kubeconfig is not None:
        if not settings.kubeconfig.is_file():
            raise typer.BadParameter(
                f"no such file: {settings.kubeconfig}", param_hint="--kubeconfig"
            )
        os.environ["KUBECONFIG"] = str(settings.kubeconfig)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # One line per API request drowns what matters; kopf logs handler outcomes itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="llmobs-webhook-tls-") as scratch:
        if settings.tls_dir is not None:
            try:
                files = tls.from_directory(settings.tls_dir)
            except FileNotFoundError as exc:
                raise typer.BadParameter(str(exc), param_hint="--tls-dir") from exc
        else:
            sans = [
                "127.0.0.1",
                "localhost",
                *tls.service_sans(settings.webhook_service, settings.namespace),
            ]
            if settings.host not in ("0.0.0.0", "::", ""):
                sans.insert(0, settings.host)
            files = tls.self_signed(Path(scratch), sans)
        runtime = Runtime(settings=settings)
        registry = build_registry(runtime, files)
        liveness = (
            f"http://0.0.0.0:{settings.liveness_port}/healthz" if settings.liveness_port else None
        )
        # Equal priorities make every replica pause (kopf peering): draw one per process.
        priority = settings.peering_priority or secrets.randbelow(2**31 - 1) + 1
        asyncio.run(
            kopf.operator(
                priority=priority,
                registry=registry,
                clusterwide=True,
                standalone=settings.peering == "standalone",
                peering_name=settings.peering,
                liveness_endpoint=liveness,
            )
        )


@app.command("crd")
def crd(
    output: Annotated[
        Path | None, typer.Option(help="Write here instead of standard output.")
    ] = None,
) -> None:
    """Print (or write) the LLMObservability CRD generated from the spec models."""
    from llmobs_operator.crd import render_crd_yaml

    text = render_crd_yaml()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        typer.echo(f"wrote {output}", err=True)
