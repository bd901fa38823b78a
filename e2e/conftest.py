"""The e2e session: one real control plane for every test in e2e/, stopped when the session ends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e import _binaries
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
    """The session's control plane; its processes die with the session (atexit + PDEATHSIG too)."""
    control_plane = Cluster(tmp_path_factory.mktemp("cluster"), binaries)
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
