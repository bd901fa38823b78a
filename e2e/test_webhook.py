"""Admission through the real API server: a labelled pod gets the probe (init container, volume,
env), an unlabelled pod is untouched, re-applying changes nothing, and with the operator stopped
pods are still admitted (failurePolicy Ignore)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from e2e._manifests import EXTERNAL_STORE, llmobs, python_pod, wait_for_injection
from e2e._operator import OperatorProcess
from e2e._waiting import wait_until
from e2e.cluster import Cluster

pytestmark = pytest.mark.e2e

INIT = "llmobs-probe-init"
VOLUME = "llmobs-probe"


@pytest.fixture(scope="module")
def watched(cluster: Cluster, operator: OperatorProcess) -> Iterator[str]:
    """A namespace with an LLMObservability resource whose webhook entry is registered."""
    namespace = f"hook-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", namespace)
    cluster.wait_for_default_service_account(namespace)
    cluster.apply(llmobs("obs", EXTERNAL_STORE, only=namespace), namespace=namespace)

    wait_for_injection(cluster, namespace)
    yield namespace
    cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def _create(cluster: Cluster, namespace: str, pod: dict[str, Any]) -> dict[str, Any]:
    out = cluster.kubectl("create", "-n", namespace, "-o", "json", "-f", "-",
                          input=json.dumps(pod))  # fmt: skip
    created: dict[str, Any] = json.loads(out.stdout)
    return created


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_labelled_pod_gets_the_probe(cluster: Cluster, watched: str) -> None:
    pod = _create(cluster, watched, python_pod("chat"))
    spec = pod["spec"]
    init = [c for c in spec.get("initContainers", []) if c["name"] == INIT]
    assert len(init) == 1
    assert init[0]["command"][:2] == ["cp", "-a"]
    assert {"name": VOLUME, "mountPath": "/llmobs-probe"} in init[0]["volumeMounts"]
    assert next(v for v in spec["volumes"] if v["name"] == VOLUME)["emptyDir"]["sizeLimit"]
    env = _env(spec["containers"][0])
    assert env["APP_MODE"] == "chat"  # the app's own variables are kept
    assert env["PYTHONPATH"].startswith("/llmobs-probe/bootstrap")
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://obs-store.{watched}.svc:4318"
    assert env["LLMOBS_K8S_POD_NAME"] == {"fieldRef": {"apiVersion": "v1",
                                                       "fieldPath": "metadata.name"}}  # fmt: skip
    assert env["LLMOBS_CAPTURE_CONTENT"] == "false"  # safe by default
    assert pod["metadata"]["labels"]["llmobs.dev/injection"] == "injected"
    assert pod["metadata"]["annotations"]["llmobs.dev/observed-by"] == f"{watched}/obs"
    # The stored object is what was admitted: read it back from the API server.
    stored = cluster.get_json("pod", "chat", "-n", watched)
    assert [c["name"] for c in stored["spec"]["initContainers"]] == [INIT]


def test_unlabelled_pod_is_untouched(cluster: Cluster, watched: str) -> None:
    pod = _create(cluster, watched, python_pod("batch", inject=False))
    assert "initContainers" not in pod["spec"]
    assert not [v for v in pod["spec"].get("volumes", []) if v["name"] == VOLUME]
    assert "PYTHONPATH" not in _env(pod["spec"]["containers"][0])
    assert not any(k.startswith("llmobs.dev/") for k in pod["metadata"].get("annotations", {}))


def test_reapplying_is_a_no_op(cluster: Cluster, watched: str) -> None:
    manifest = json.dumps(python_pod("steady"))
    cluster.kubectl("apply", "-n", watched, "-f", "-", input=manifest)
    first = cluster.get_json("pod", "steady", "-n", watched)
    assert cluster.kubectl("diff", "-n", watched, "-f", "-", input=manifest).stdout == ""
    # kubectl may print "configured" (its patch carries an env ordering directive, because the
    # probe's downward-API variables come first): what counts is that nothing was written.
    cluster.kubectl("apply", "-n", watched, "-f", "-", input=manifest)
    second = cluster.get_json("pod", "steady", "-n", watched)
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert second["spec"] == first["spec"]
    assert len(second["spec"]["initContainers"]) == 1


def test_pods_are_admitted_while_the_operator_is_stopped(
    cluster: Cluster, operator: OperatorProcess, watched: str
) -> None:
    operator.stop()
    try:
        started = time.monotonic()
        pod = _create(cluster, watched, python_pod("orphan"))
        elapsed = time.monotonic() - started
        assert "initContainers" not in pod["spec"]  # admitted unchanged: nobody answered
        assert elapsed < 10, f"pod creation took {elapsed:.1f}s with the webhook down"
        wait_until(
            lambda: cluster.get_json("pod", "orphan", "-n", watched)["status"].get("phase")
            == "Running",
            "the uninstrumented pod to run", timeout_s=30,
        )  # fmt: skip
    finally:
        operator.start()
    # Back up: injection resumes.
    wait_until(
        lambda: "initContainers" in _create(cluster, watched, python_pod(f"back-{time.time_ns()}"))[
            "spec"],
        "injection after the operator restarted", timeout_s=30, interval_s=1,
    )  # fmt: skip
