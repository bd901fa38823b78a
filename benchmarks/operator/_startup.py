"""Warm start of the control plane: ours (``e2e.cluster``) against kwokctl's binary runtime.

kwokctl (``--runtime binary``) is what a user would pick to get the same Docker-free control
plane; both are given the very same cached binaries, and both are timed to the same point: the
API server answers, a Ready node exists and the ``default`` ServiceAccount is there (a pod could
be created and run). kwokctl v0.8.0 is built into ``.bench/bin`` (git-ignored) when missing.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from e2e import _binaries
from e2e.cluster import Cluster

BENCH_BIN = Path(__file__).resolve().parents[2] / ".bench" / "bin"


def kwokctl() -> Path:
    """kwokctl v0.8.0, built into .bench/bin on first use."""
    path = BENCH_BIN / "kwokctl"
    if not path.exists():
        BENCH_BIN.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "0", "GOBIN": str(BENCH_BIN)}
        subprocess.run(
            [
                "nice",
                "go",
                "install",
                "-ldflags",
                "-s -w",
                f"sigs.k8s.io/kwok/cmd/kwokctl@v{_binaries.KWOK_VERSION}",
            ],
            check=True,
            env=env,
            cwd=tempfile.gettempdir(),
            timeout=1200,
        )
    return path


def ours_once(binaries: dict[str, Path]) -> float:
    """Seconds from nothing to a schedulable cluster, with our provider."""
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as directory:
        cluster = Cluster(Path(directory), binaries)
        try:
            return cluster.start(tie_to_parent=True)
        finally:
            cluster.stop()


def kwokctl_once(binaries: dict[str, Path]) -> float:
    """Seconds from nothing to a schedulable cluster, with kwokctl --runtime binary."""
    tool = str(kwokctl())
    workdir = Path(tempfile.mkdtemp(prefix="bench-kwokctl-"))
    kubeconfig = workdir / "kubeconfig"
    env = {**os.environ, "KWOK_WORKDIR": str(workdir)}
    kubectl = [str(binaries["kubectl"]), "--kubeconfig", str(kubeconfig)]
    started = time.monotonic()
    try:
        subprocess.run(
            [
                tool,
                "create",
                "cluster",
                "--name",
                "bench",
                "--runtime",
                "binary",
                "--kubeconfig",
                str(kubeconfig),
                "--etcd-binary",
                str(binaries["etcd"]),
                "--kube-apiserver-binary",
                str(binaries["kube-apiserver"]),
                "--kube-controller-manager-binary",
                str(binaries["kube-controller-manager"]),
                "--kube-scheduler-binary",
                str(binaries["kube-scheduler"]),
                "--kwok-controller-binary",
                str(binaries["kwok"]),
                "--wait",
                "120s",
            ],
            check=True,
            env=env,
            capture_output=True,
            timeout=180,
        )
        subprocess.run(
            [tool, "scale", "node", "--replicas", "1", "--name", "bench"],
            check=True,
            env=env,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            nodes = subprocess.run(
                [*kubectl, "get", "nodes", "-o", "json"], capture_output=True, text=True, timeout=30
            )
            account = subprocess.run(
                [*kubectl, "get", "sa", "default", "-n", "default"], capture_output=True, timeout=30
            )
            if (
                nodes.returncode == 0
                and account.returncode == 0
                and any(
                    c["type"] == "Ready" and c["status"] == "True"
                    for n in json.loads(nodes.stdout)["items"]
                    for c in n.get("status", {}).get("conditions", [])
                )
            ):
                return round(time.monotonic() - started, 2)
            time.sleep(0.1)
        raise TimeoutError("kwokctl cluster not schedulable within 120 s")
    finally:
        subprocess.run(
            [tool, "delete", "cluster", "--name", "bench"],
            env=env,
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(workdir, ignore_errors=True)


def run(rounds: int) -> dict[str, object]:
    """Alternate ours and kwokctl ``rounds`` times; medians and all samples."""
    binaries = _binaries.ensure()
    ours, peer = [], []
    for _ in range(rounds):
        ours.append(ours_once(binaries))
        peer.append(kwokctl_once(binaries))
    return {
        "ours_s": ours,
        "kwokctl_s": peer,
        "ours_median_s": statistics.median(ours),
        "kwokctl_median_s": statistics.median(peer),
    }
