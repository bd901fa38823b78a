"""Life after apply: drifted or deleted children are repaired, a spec change rolls the store out,
the opt-in annotation restarts a Deployment so its pods get the probe, and deleting the resource
lets the controller-manager's garbage collector remove the children. Tests run in file order."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from e2e._manifests import llmobs, python_deployment
from e2e._operator import OperatorProcess
from e2e._waiting import wait_until
from e2e.cluster import Cluster

pytestmark = pytest.mark.e2e

NAME = "obs"
SPEC: dict[str, Any] = {
    "store": {"mode": "external", "retentionDays": 7,
              "clickhouse": {"url": "http://clickhouse:8123/llmobs"}},
    "gateway": {"enabled": True, "upstreams": [{"name": "sim", "baseUrl": "http://sim:8000/v1"}]},
}  # fmt: skip
CHILDREN = [
    ("configmap", f"{NAME}-store"), ("service", f"{NAME}-store"), ("deployment", f"{NAME}-store"),
    ("configmap", f"{NAME}-gateway"), ("service", f"{NAME}-gateway"),
    ("deployment", f"{NAME}-gateway"),
]  # fmt: skip


def _get(cluster: Cluster, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
    found = cluster.kubectl("get", kind, name, "-n", namespace, "-o", "json", check=False)
    return json.loads(found.stdout) if found.returncode == 0 else None


def _gone(cluster: Cluster, kind: str, name: str, namespace: str) -> bool:
    return _get(cluster, kind, name, namespace) is None


@pytest.fixture(scope="module")
def live(cluster: Cluster, operator: OperatorProcess) -> Iterator[str]:
    """A namespace whose resource has all its children; yields the namespace."""
    namespace = f"life-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", namespace)
    cluster.wait_for_default_service_account(namespace)
    cluster.apply(llmobs(NAME, SPEC, only=namespace), namespace=namespace)
    for kind, name in CHILDREN:
        wait_until(functools.partial(_get, cluster, kind, name, namespace), f"{kind} {name}")
    yield namespace
    cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def test_edited_child_is_repaired(cluster: Cluster, live: str) -> None:
    cm = f"{NAME}-store"
    cluster.kubectl("patch", "configmap", cm, "-n", live, "--type=merge",
                    "-p", json.dumps({"data": {"LLMOBS_STORE_RETENTION_DAYS": "999"}}))  # fmt: skip
    wait_until(
        lambda: (_get(cluster, "configmap", cm, live) or {}).get("data", {}).get(
            "LLMOBS_STORE_RETENTION_DAYS") == "7",
        "the operator to restore the edited ConfigMap", timeout_s=30,
    )  # fmt: skip


def test_deleted_child_is_recreated(cluster: Cluster, live: str) -> None:
    before = _get(cluster, "service", f"{NAME}-store", live)
    assert before is not None
    cluster.kubectl("delete", "service", f"{NAME}-store", "-n", live)

    def recreated() -> bool:
        after = _get(cluster, "service", f"{NAME}-store", live)
        return after is not None and after["metadata"]["uid"] != before["metadata"]["uid"]

    wait_until(recreated, "the operator to recreate the deleted Service", timeout_s=30)


def test_spec_change_rolls_the_store_out(cluster: Cluster, live: str) -> None:
    store = f"{NAME}-store"
    old = _get(cluster, "deployment", store, live)
    assert old is not None
    old_hash = old["spec"]["template"]["metadata"]["annotations"]["llmobs.dev/config-hash"]
    cluster.kubectl("patch", "llmobs", NAME, "-n", live, "--type=merge",
                    "-p", json.dumps({"spec": {"store": {"retentionDays": 14}}}))  # fmt: skip
    wait_until(
        lambda: (_get(cluster, "configmap", store, live) or {}).get("data", {}).get(
            "LLMOBS_STORE_RETENTION_DAYS") == "14",
        "the new retention in the store's ConfigMap", timeout_s=30,
    )  # fmt: skip
    new = wait_until(
        lambda: (d := _get(cluster, "deployment", store, live)) and d["spec"]["template"][
            "metadata"]["annotations"]["llmobs.dev/config-hash"] != old_hash and d,
        "a new config hash on the store's pod template", timeout_s=30,
    )  # fmt: skip
    assert new["metadata"]["generation"] > old["metadata"]["generation"]
    wait_until(
        lambda: len(cluster.get_json("replicasets", "-n", live, "-l",
                                     "app.kubernetes.io/component=store")["items"]) == 2,
        "the Deployment controller to roll out a second ReplicaSet", timeout_s=30,
    )  # fmt: skip


def test_rollout_annotation_restarts_a_deployment(cluster: Cluster, live: str) -> None:
    app = python_deployment("chat", rollout=False)
    del app["spec"]["template"]["metadata"]["labels"]["llmobs.dev/inject"]  # not yet opted in
    cluster.apply(app, namespace=live)

    def pods() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = cluster.get_json("pods", "-n", live, "-l", "app=chat")[
            "items"
        ]
        return [p for p in items if not p["metadata"].get("deletionTimestamp")]

    first = wait_until(pods, "the app's first pod")
    assert "initContainers" not in first[0]["spec"]
    cluster.kubectl("annotate", "deployment", "chat", "-n", live, "llmobs.dev/rollout=true")

    def instrumented() -> bool:
        current = pods()
        return bool(current) and all(
            p["metadata"]["labels"].get("llmobs.dev/injection") == "injected" for p in current
        )

    wait_until(instrumented, "the restarted pods to carry the probe", timeout_s=60)
    template = cluster.get_json("deployment", "chat", "-n", live)["spec"]["template"]["metadata"]
    assert template["labels"]["llmobs.dev/inject"] == "true"
    assert template["annotations"]["llmobs.dev/injection-revision"]
    assert first[0]["metadata"]["name"] not in {p["metadata"]["name"] for p in pods()}


def test_deleting_the_resource_removes_its_children(cluster: Cluster, live: str) -> None:
    cluster.kubectl("delete", "llmobs", NAME, "-n", live, "--wait=true", timeout_s=60)
    for kind, name in CHILDREN:
        wait_until(
            functools.partial(_gone, cluster, kind, name, live),
            f"the garbage collector to delete {kind} {name}", timeout_s=60,
        )  # fmt: skip
    hook = _get(cluster, "mutatingwebhookconfiguration", "llmobs-inject", "")
    entries = [w["name"] for w in (hook or {}).get("webhooks", [])]
    assert not [e for e in entries if e.startswith(f"{NAME}.{live}.")]
