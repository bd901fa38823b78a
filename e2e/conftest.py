"""The e2e session: one real control plane for every test in e2e/, stopped when the session ends."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e import _binaries, _kind
from e2e._operator import OperatorProcess
from e2e.cluster import Cluster
from llmobs_testing.prereq import require

GO_HOW = (
    "install Go >= 1.26 (https://go.dev/dl/, or your package manager) and put `go` on PATH; "
    "`make test` then builds etcd, Kubernetes 1.36, kwok and helm from source once, "
    f"into {_binaries.bin_dir()}"
)


def ensure_binaries() -> dict[str, Path]:
    """The cached binaries, built when missing; skip (fail under CI) when Go is not installed."""
    if _binaries.missing():
        require(
            _binaries.go_available(), "the Go toolchain, to build the e2e control plane", GO_HOW
        )
        return _binaries.ensure()
    return {name: _binaries.binary_path(name) for name in _binaries.ALL_BINARIES}


@pytest.fixture(scope="session")
def binaries() -> dict[str, Path]:
    """Paths of etcd, kube-apiserver, ..., kubectl, helm (built once per machine)."""
    return ensure_binaries()


@pytest.fixture(scope="session")
def cluster(
    binaries: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """The session's control plane; its processes die with the session (atexit + PDEATHSIG too).

    ``E2E_CLUSTER=kind`` uses a kind cluster instead (Docker machines only; see e2e/_kind.py).
    """
    directory = tmp_path_factory.mktemp("cluster")
    control_plane: Cluster
    if _kind.selected():
        require(
            _kind.available(),
            "kind and a running Docker engine (E2E_CLUSTER=kind)",
            "install Docker and kind, or unset E2E_CLUSTER to use the local control plane",
        )
        control_plane = _kind.KindCluster(directory, binaries)
    else:
        control_plane = Cluster(directory, binaries)
    control_plane.start(tie_to_parent=True)
    try:
        yield control_plane
    finally:
        control_plane.stop()


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards (without waiting for it to go)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    cluster.wait_for_default_service_account(name)
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


REPO = Path(__file__).resolve().parent.parent
RELEASE = "llmobs"
RELEASE_NAMESPACE = "llmobs-system"


def chart_dir() -> Path:
    """charts/llmobs of this checkout (``E2E_CHART_DIR`` may point at another copy)."""
    return Path(os.environ.get("E2E_CHART_DIR") or REPO / "charts" / "llmobs")


@pytest.fixture(scope="session")
def chart(cluster: Cluster) -> Iterator[str]:
    """``helm install`` of charts/llmobs into the control plane; yields the release namespace."""
    require(chart_dir().is_dir(), f"the Helm chart at {chart_dir()}", "merge the operator branch")
    cluster.helm(
        "install", RELEASE, str(chart_dir()), "--namespace", RELEASE_NAMESPACE,
        "--create-namespace", "--wait", "--timeout", "120s",
    )  # fmt: skip
    yield RELEASE_NAMESPACE
    cluster.helm("uninstall", RELEASE, "--namespace", RELEASE_NAMESPACE, check=False)


@pytest.fixture(scope="session")
def operator(
    cluster: Cluster, chart: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """``llmobs operator run`` as a local process with the chart's ServiceAccount token."""
    require(not _kind.selected(), "the local control plane for the operator scenarios",
            "on kind the API server cannot call a webhook on this machine's 127.0.0.1: "
            "those scenarios run on the local control plane only (unset E2E_CLUSTER)")  # fmt: skip
    process = OperatorProcess(
        cluster, chart, f"{RELEASE}-operator", tmp_path_factory.mktemp("operator")
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(autouse=True)
def _operator_never_forbidden(request: pytest.FixtureRequest) -> Iterator[None]:
    """A 403 in the operator's log during a test fails that test: the chart's RBAC is too small."""
    yield
    if "operator" not in request.fixturenames:
        return
    process: OperatorProcess = request.getfixturevalue("operator")
    refused = process.new_forbidden_lines()
    if refused:
        pytest.fail("the API server refused the operator (chart RBAC):\n" + "\n".join(refused[:10]))
