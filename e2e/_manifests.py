"""Manifests the scenarios apply: LLMObservability resources, Python pods, volumes for kwok."""

from __future__ import annotations

import json
import uuid
from typing import Any

from e2e._waiting import wait_until
from e2e.cluster import Cluster

INJECT_LABEL = "llmobs.dev/inject"
# A store writing to an (absent) external ClickHouse: a plain Deployment, no volume to provide.
EXTERNAL_STORE: dict[str, Any] = {
    "store": {"mode": "external", "clickhouse": {"url": "http://clickhouse:8123/llmobs"}}
}


def llmobs(
    name: str = "llmobs", spec: dict[str, Any] | None = None, *, only: str | None = None
) -> dict[str, Any]:
    """An ``LLMObservability`` resource; ``only``: inject pods of that namespace alone.

    The default namespaceSelector matches every namespace, so resources of different tests would
    compete for the same pods; each test confines its resource to its own namespace.
    """
    spec = json.loads(json.dumps(spec or {}))
    if only is not None:
        spec.setdefault("injection", {}).setdefault(
            "namespaceSelector", {"matchLabels": {"kubernetes.io/metadata.name": only}}
        )
    return {
        "apiVersion": "llmobs.dev/v1alpha1",
        "kind": "LLMObservability",
        "metadata": {"name": name},
        "spec": spec,
    }


def python_pod(
    name: str, *, inject: bool = True, command: list[str] | None = None
) -> dict[str, Any]:
    """A pod running a Python app, labelled for injection unless ``inject`` is False."""
    labels = {"app": name, **({INJECT_LABEL: "true"} if inject else {})}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "containers": [{
                "name": "app",
                "image": "python:3.12-slim",
                "command": command or ["python", "app.py"],
                "env": [{"name": "APP_MODE", "value": "chat"}],
            }],
        },
    }  # fmt: skip


def python_deployment(name: str, *, rollout: bool) -> dict[str, Any]:
    """A Deployment of labelled Python pods; ``rollout`` opts it into restarts by the operator."""
    pod = python_pod(name)
    annotations = {"llmobs.dev/rollout": "true"} if rollout else {}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": pod["metadata"]["labels"]}, "spec": pod["spec"]},
        },
    }


def provide_volumes(cluster: Cluster, count: int, size: str = "50Gi") -> list[str]:
    """PersistentVolumes for the store's claims: kwok has no storage provisioner (test set-up)."""
    names = []
    for _ in range(count):
        name = f"e2e-pv-{uuid.uuid4().hex[:8]}"
        cluster.apply({
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": name},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "hostPath": {"path": f"/nonexistent/{name}"},
            },
        })  # fmt: skip
        names.append(name)
    return names


def owner_of(obj: dict[str, Any]) -> dict[str, Any]:
    """The controller owner reference of ``obj`` (AssertionError when there is none)."""
    refs = [r for r in obj["metadata"].get("ownerReferences", []) if r.get("controller")]
    assert refs, f"{obj['kind']} {obj['metadata']['name']} has no controller owner reference"
    return dict(refs[0])


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    """One status condition by type ({} when absent)."""
    for c in obj.get("status", {}).get("conditions", []) or []:
        if c.get("type") == kind:
            return dict(c)
    return {}


def wait_for_injection(cluster: Cluster, namespace: str, timeout_s: float = 60.0) -> None:
    """Wait until a labelled pod created in ``namespace`` would come back mutated.

    The API server picks webhook configurations up asynchronously, so this probes with a
    server-side dry run (the webhook declares sideEffects None: nothing is stored).
    """

    def effective() -> bool:
        probe = cluster.kubectl(
            "create", "--dry-run=server", "-n", namespace, "-o", "json", "-f", "-",
            input=json.dumps(python_pod("probe")), check=False,
        )  # fmt: skip
        return probe.returncode == 0 and "initContainers" in json.loads(probe.stdout)["spec"]

    wait_until(effective, f"the webhook to mutate pods in {namespace}", timeout_s, interval_s=0.5)
