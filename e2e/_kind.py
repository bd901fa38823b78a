"""``E2E_CLUSTER=kind``: the same suite on a kind cluster, where a Docker engine exists.

There pods really run, so the images are built (``make images``) and loaded into the kind node,
and the chart's operator runs in the cluster. This path cannot run on the project's build
machines (no Docker engine); it is kept deliberately small: create, load images, delete.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from e2e.cluster import Cluster, ClusterError, State

# What `make images` builds (docker/*.Dockerfile).
IMAGES = tuple(f"ghcr.io/llmobs/{name}:0.1.0" for name in ("operator", "store", "gateway", "probe"))


def selected() -> bool:
    """True when the developer asked for kind (``E2E_CLUSTER=kind``)."""
    return os.environ.get("E2E_CLUSTER", "local").lower() == "kind"


def available() -> bool:
    """kind and docker on PATH, and a Docker engine answering."""
    if not (shutil.which("kind") and shutil.which("docker")):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


class KindCluster(Cluster):
    """A kind cluster driven through the same kubectl/helm/guard interface as :class:`Cluster`."""

    def __init__(self, directory: Path, binaries: dict[str, Path], images: Sequence[str] = IMAGES):
        super().__init__(directory, binaries)
        self.name = f"llmobs-e2e-{uuid.uuid4().hex[:6]}"
        self.images = tuple(images)

    def start(self, *, tie_to_parent: bool = True, timeout_s: float = 600.0) -> float:
        started = time.monotonic()
        self.directory.mkdir(parents=True, exist_ok=True)
        raw = self.directory / "kind.kubeconfig"
        subprocess.run(
            [
                "kind",
                "create",
                "cluster",
                "--name",
                self.name,
                "--kubeconfig",
                str(raw),
                "--wait",
                f"{int(timeout_s)}s",
            ],
            check=True,
            timeout=timeout_s,
        )
        try:
            subprocess.run(["make", "images"], check=True, timeout=timeout_s)
            for image in self.images:
                subprocess.run(
                    ["kind", "load", "docker-image", image, "--name", self.name],
                    check=True,
                    timeout=timeout_s,
                )
            view = subprocess.run(
                [
                    str(self.binaries["kubectl"]),
                    "config",
                    "view",
                    "--raw",
                    "-o",
                    "json",
                    "--kubeconfig",
                    str(raw),
                ],
                check=True,
                capture_output=True,
                text=True,
                timeout=60,
            )
            self.kubeconfig.write_text(view.stdout)
            server = json.loads(view.stdout)["clusters"][0]["cluster"]["server"]
            self.state = State(
                directory=str(self.directory), apiserver_port=int(server.rsplit(":", 1)[1])
            )
            self._link_binaries()
        except BaseException:
            self.stop()
            raise
        return round(time.monotonic() - started, 2)

    def stop(self) -> None:
        subprocess.run(["kind", "delete", "cluster", "--name", self.name], check=False, timeout=300)
        self.state = None

    def guard(self, kubeconfig: Path | None = None) -> None:
        if self.state is None:
            raise ClusterError("the kind cluster is not running")
        config = json.loads((kubeconfig or self.kubeconfig).read_text())
        servers = {c["cluster"]["server"] for c in config.get("clusters", [])}
        if servers != {self.state.server}:
            raise ClusterError(f"kubeconfig names {sorted(servers)}, not {self.state.server}")
