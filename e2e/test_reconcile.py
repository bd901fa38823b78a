"""Apply an LLMObservability resource: the operator (with the chart's RBAC) creates its children
with owner references, fills status conditions and printer columns, and records Events; the API
server rejects an invalid resource with a message naming the field."""

from __future__ import annotations

import json
import time
import urllib.error
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from e2e._manifests import condition, llmobs, owner_of, provide_volumes
from e2e._operator import OperatorProcess
from e2e._waiting import wait_until
from e2e.cluster import Cluster, ToolError

pytestmark = pytest.mark.e2e

NAME = "obs"
SPEC: dict[str, Any] = {
    "gateway": {"enabled": True, "upstreams": [{"name": "sim", "baseUrl": "http://sim:8000/v1"}]},
    "store": {"retentionDays": 7, "storageSize": "1Gi"},
}
CHILDREN = [
    ("configmap", f"{NAME}-store"),
    ("service", f"{NAME}-store"),
    ("statefulset", f"{NAME}-store"),
    ("service", f"{NAME}-gateway"),
    ("deployment", f"{NAME}-gateway"),
]
# The status follows the children's readiness within seconds (child workload events), not at the
# next resync (the e2e operator runs with the chart's 60 s).
READY_LAG_S = 15.0
FIRST_RESYNC_S = 5.0  # the operator's timer: first run 5 s after creation, then every 60 s


def _get(cluster: Cluster, path: str) -> dict[str, Any] | None:
    try:
        obj: dict[str, Any] = cluster.api_get(path)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise
    return obj


def _workload_ready(obj: dict[str, Any] | None) -> bool:
    if obj is None:
        return False
    st, generation = obj.get("status") or {}, obj["metadata"].get("generation", 0)
    return bool(
        st.get("observedGeneration", 0) >= generation
        and (st.get("readyReplicas") or 0) >= (obj.get("spec") or {}).get("replicas", 1)
    )


@pytest.fixture(scope="module")
def applied(cluster: Cluster, operator: OperatorProcess) -> Iterator[tuple[str, dict[str, Any]]]:
    """One resource applied in a fresh namespace and Ready within READY_LAG_S of its children;
    yields (namespace, the resource)."""
    namespace = f"rec-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", namespace)
    cluster.wait_for_default_service_account(namespace)
    cluster.apply(llmobs(NAME, SPEC, only=namespace), namespace=namespace)
    applied_at = time.monotonic()
    # The store's claim binds only once a volume exists: hold it back past the resync timer's
    # first run (5 s after creation), so only a child event can turn the status Ready in time.
    time.sleep(max(0.0, FIRST_RESYNC_S + 1 - (time.monotonic() - applied_at)))
    volumes = provide_volumes(cluster, 1)

    base = f"/namespaces/{namespace}"
    children_ready_at: list[float] = []

    def ready() -> dict[str, Any] | None:
        obj = _get(cluster, f"/apis/llmobs.dev/v1alpha1{base}/llmobservabilities/{NAME}")
        if obj is not None and condition(obj, "Ready").get("status") == "True":
            return obj
        workloads = [
            _get(cluster, f"/apis/apps/v1{base}/{kind}/{NAME}-{part}")
            for kind, part in (("statefulsets", "store"), ("deployments", "gateway"))
        ]
        if not children_ready_at and all(_workload_ready(w) for w in workloads):
            children_ready_at.append(time.monotonic())
        return None

    try:
        resource = wait_until(ready, f"{NAME} Ready", timeout_s=90)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\noperator log:\n{operator.tail()}") from exc
    lag = time.monotonic() - children_ready_at[0] if children_ready_at else 0.0
    assert lag <= READY_LAG_S, f"Ready {lag:.1f}s after the children\n{operator.tail()}"
    yield namespace, resource
    cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
    cluster.kubectl("delete", "pv", *volumes, "--wait=false", check=False)


def test_children_appear_with_owner_references(
    cluster: Cluster, applied: tuple[str, dict[str, Any]]
) -> None:
    namespace, resource = applied
    for kind, name in CHILDREN:
        child = cluster.get_json(kind, name, "-n", namespace)
        owner = owner_of(child)
        assert (owner["kind"], owner["name"]) == ("LLMObservability", NAME), (kind, name)
        assert owner["uid"] == resource["metadata"]["uid"]
        assert child["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "llmobs-operator"


def test_webhook_configuration_points_at_the_operator(
    cluster: Cluster, operator: OperatorProcess, applied: tuple[str, dict[str, Any]]
) -> None:
    namespace, _ = applied
    hook = cluster.get_json("mutatingwebhookconfiguration", "llmobs-inject")
    mine = [w for w in hook["webhooks"] if w["name"].startswith(f"{NAME}.{namespace}.")]
    assert len(mine) == 1, [w["name"] for w in hook["webhooks"]]
    assert mine[0]["clientConfig"]["url"].startswith(operator.webhook_url)
    assert mine[0]["clientConfig"]["caBundle"]
    assert mine[0]["failurePolicy"] == "Ignore"  # the webhook never blocks pod creation
    assert mine[0]["objectSelector"] == {"matchLabels": {"llmobs.dev/inject": "true"}}


def test_status_conditions_and_printer_columns(
    cluster: Cluster, applied: tuple[str, dict[str, Any]]
) -> None:
    namespace, resource = applied
    status = resource["status"]
    kinds = {c["type"]: c["status"] for c in status["conditions"]}
    assert kinds == {"Ready": "True", "StoreReady": "True", "GatewayReady": "True",
                     "WebhookReady": "True"}  # fmt: skip
    assert status["observedGeneration"] == resource["metadata"]["generation"]
    assert status["endpoints"]["otlp"].startswith(f"http://{NAME}-store.{namespace}.svc")
    table = cluster.kubectl("get", "llmobs", NAME, "-n", namespace).stdout.splitlines()
    assert table[0].split()[:4] == ["NAME", "READY", "INSTRUMENTED", "STORE"]
    assert table[1].split()[:4] == [NAME, "True", "0", "embedded"]


def test_events_are_recorded(cluster: Cluster, applied: tuple[str, dict[str, Any]]) -> None:
    namespace, _ = applied
    events = cluster.get_json(
        "events", "-n", namespace,
        "--field-selector", f"involvedObject.kind=LLMObservability,involvedObject.name={NAME}",
    )["items"]  # fmt: skip
    reasons = {e["reason"] for e in events}
    assert "Reconciled" in reasons, reasons


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"injection": {"samplingRatio": 2}}, "spec.injection.samplingRatio"),
        ({"store": {"mode": "external"}}, "store.clickhouse is required"),
        ({"gateway": {"enabled": True}}, "gateway.upstreams needs at least one upstream"),
        ({"store": {"retentionDays": "a month"}}, "spec.store.retentionDays"),
    ],
)
def test_invalid_resource_is_rejected_by_the_api_server(
    cluster: Cluster, chart: str, namespace: str, spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(ToolError) as refused:
        cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(llmobs("bad", spec)))
    assert "is invalid" in refused.value.stderr
    assert message in refused.value.stderr
    assert cluster.kubectl("get", "llmobs", "bad", "-n", namespace, check=False).returncode != 0


def test_store_tokens_are_generated_once_and_handed_to_the_store_and_gateway(
    cluster: Cluster, applied: tuple[str, dict[str, Any]]
) -> None:
    # Last in the module: it changes the resource's spec to make the operator reconcile again.
    namespace, resource = applied
    secret_name = f"{NAME}-store-tokens"
    secret = cluster.get_json("secret", secret_name, "-n", namespace)
    assert owner_of(secret)["uid"] == resource["metadata"]["uid"]
    assert set(secret["data"]) == {"ingest-token", "query-token"}
    sts = cluster.get_json("statefulset", f"{NAME}-store", "-n", namespace)
    env = {e["name"]: e for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["LLMOBS_STORE_QUERY_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": secret_name,
        "key": "query-token",
    }
    gw = cluster.get_json("deployment", f"{NAME}-gateway", "-n", namespace)
    names = [e["name"] for e in gw["spec"]["template"]["spec"]["containers"][0]["env"]]
    assert names.index("LLMOBS_INGEST_TOKEN") < names.index("OTEL_EXPORTER_OTLP_HEADERS")
    # A new reconcile (spec changed) leaves the tokens as they are.
    patch = json.dumps({"spec": {"store": {"retentionDays": 8}}})
    cluster.kubectl("patch", "llmobs", NAME, "-n", namespace, "--type=merge", "-p", patch)
    wait_until(
        lambda: (
            cluster.get_json("configmap", f"{NAME}-store", "-n", namespace)["data"][
                "LLMOBS_STORE_RETENTION_DAYS"
            ]
            == "8"
        ),
        "the store ConfigMap to follow the spec",
        timeout_s=60,
    )
    again = cluster.get_json("secret", secret_name, "-n", namespace)
    assert again["data"] == secret["data"]
