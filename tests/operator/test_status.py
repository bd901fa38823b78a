"""Status computation: conditions, transition times, counts and endpoints."""

from typing import Any

from llmobs_operator import status
from llmobs_operator.resources.common import Owner
from llmobs_operator.spec import parse_spec

OWNER = Owner("llmobs", "obs", "u")


def sts(ready: int, replicas: int = 1, generation: int = 1, observed: int = 1) -> dict[str, Any]:
    return {
        "metadata": {"generation": generation},
        "spec": {"replicas": replicas},
        "status": {"readyReplicas": ready, "observedGeneration": observed},
    }


def pod(state: str, owner: str = "obs/llmobs", deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "labels": {"llmobs.dev/injection": state},
        "annotations": {"llmobs.dev/observed-by": owner},
    }
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta}


def conditions(st: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in st["conditions"]}


def test_all_ready() -> None:
    observed = status.Observed(
        generation=3,
        store_workload=sts(1),
        gateway_workload=None,
        webhook_registered=True,
        webhook_serving=True,
        pods=[
            pod("injected"),
            pod("injected"),
            pod("skipped"),
            pod("failed"),
            pod("injected", deleting=True),
        ],
    )
    st = status.compute(OWNER, parse_spec({}), observed, None, "T1")
    c = conditions(st)
    assert c["Ready"]["status"] == "True"
    assert c["GatewayReady"]["reason"] == "Disabled"
    assert (st["instrumentedPods"], st["skippedPods"], st["failedPods"]) == (2, 1, 1)
    assert st["observedGeneration"] == 3
    assert st["endpoints"]["otlp"] == "http://llmobs-store.obs.svc:4318"
    assert st["endpoints"]["gateway"] == ""


def test_waiting_names_what_is_missing_and_keeps_transition_time() -> None:
    spec = parse_spec(
        {"gateway": {"enabled": True, "upstreams": [{"name": "a", "baseUrl": "http://a"}]}}
    )
    first = status.compute(
        OWNER,
        spec,
        status.Observed(1, sts(0), sts(0, 2), webhook_registered=False, webhook_serving=True),
        None,
        "T1",
    )
    c = conditions(first)
    assert c["Ready"]["status"] == "False"
    assert "StoreReady" in c["Ready"]["message"]
    assert "WebhookReady" in c["Ready"]["message"]
    assert c["WebhookReady"]["message"] == "webhook configuration missing"
    assert c["GatewayReady"]["message"] == "gateway: 0/2 replicas ready"
    second = status.compute(
        OWNER, spec, status.Observed(1, sts(0), sts(2, 2), True, True), first, "T2"
    )
    c2 = conditions(second)
    assert c2["StoreReady"]["lastTransitionTime"] == "T1"  # unchanged status keeps its time
    assert c2["GatewayReady"]["lastTransitionTime"] == "T2"
    assert second["endpoints"]["gateway"] == "http://llmobs-gateway.obs.svc:4000/v1"


def test_rollout_in_progress_is_not_ready_and_apply_errors_surface() -> None:
    ok, why = status.workload_ready(sts(1, generation=2, observed=1))
    assert not ok
    assert "rolling out" in why
    st = status.compute(
        OWNER,
        parse_spec({}),
        status.Observed(
            1, sts(1), None, True, True, apply_errors=["StatefulSet/llmobs-store: 422: forbidden"]
        ),
        None,
        "T",
    )
    assert conditions(st)["Ready"]["reason"] == "ApplyFailed"
    assert "422" in conditions(st)["Ready"]["message"]


def test_differs_ignores_fields_owned_by_others() -> None:
    observed = status.Observed(
        generation=1,
        store_workload=sts(1),
        gateway_workload=None,
        webhook_registered=True,
        webhook_serving=True,
    )
    first = status.compute(OWNER, parse_spec({}), observed, None, "T1")
    stored = {**first, "kopf": {"progress": {}}}
    again = status.compute(OWNER, parse_spec({}), observed, stored, "T2")
    assert not status.differs(stored, again)  # same conditions, transition times kept
    assert status.differs(None, first)
    not_ready = status.compute(
        OWNER, parse_spec({}), status.Observed(1, sts(0), None, True, True), stored, "T3"
    )
    assert status.differs(stored, not_ready)
