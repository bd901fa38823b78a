"""Status computation as pure functions: what was observed in, the ``status`` block out."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmobs_operator import spec as s
from llmobs_operator.injection import LABEL_STATUS
from llmobs_operator.resources.common import Owner, gateway_url, store_url


@dataclass(frozen=True)
class Observed:
    """What the operator saw of one resource's world."""

    generation: int
    store_workload: Mapping[str, Any] | None  # StatefulSet or Deployment, None when absent
    gateway_workload: Mapping[str, Any] | None
    webhook_registered: bool
    webhook_serving: bool
    pods: Sequence[Mapping[str, Any]] = ()  # pods with the llmobs.dev/injection label, ours only
    apply_errors: Sequence[str] = ()


def workload_ready(workload: Mapping[str, Any] | None) -> tuple[bool, str]:
    """(ready, why) for a Deployment or StatefulSet from its status."""
    if workload is None:
        return False, "not created yet"
    spec = workload.get("spec") or {}
    st = workload.get("status") or {}
    wanted = int(spec.get("replicas", 1))
    ready = int(st.get("readyReplicas") or 0)
    generation = (workload.get("metadata") or {}).get("generation")
    if generation is not None and st.get("observedGeneration", generation) < generation:
        return False, "rolling out a new revision"
    if ready >= wanted:
        return True, f"{ready}/{wanted} replicas ready"
    return False, f"{ready}/{wanted} replicas ready"


def pod_counts(pods: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Instrumented, skipped and failed pods, from the label the webhook writes."""
    counts = {"injected": 0, "skipped": 0, "failed": 0}
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        value = (meta.get("labels") or {}).get(LABEL_STATUS)
        if value in counts:
            counts[value] += 1
    return counts


@dataclass(frozen=True)
class _Context:
    generation: int
    previous: Mapping[str, Any]
    now: str


def _condition(
    ctype: str, ok: bool | None, reason: str, message: str, ctx: _Context
) -> dict[str, Any]:
    generation, previous, now = ctx.generation, ctx.previous, ctx.now
    status = "Unknown" if ok is None else ("True" if ok else "False")
    old = previous.get(ctype) or {}
    changed = old.get("status") != status
    return {
        "type": ctype,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": now
        if changed or not old.get("lastTransitionTime")
        else old["lastTransitionTime"],
        "observedGeneration": generation,
    }


def compute(
    owner: Owner,
    spec: s.LLMObservabilitySpec,
    observed: Observed,
    previous_status: Mapping[str, Any] | None,
    now: str,
) -> dict[str, Any]:
    """The new ``status``: conditions (transition times kept when unchanged), counts, endpoints."""
    prev = {c.get("type"): c for c in (previous_status or {}).get("conditions") or []}
    gen = observed.generation
    ctx = _Context(gen, prev, now)
    conditions = []

    store_ok, store_why = workload_ready(observed.store_workload)
    conditions.append(
        _condition(
            "StoreReady",
            store_ok,
            "Available" if store_ok else "NotReady",
            f"store: {store_why}",
            ctx,
        )
    )
    if spec.gateway.enabled:
        gw_ok, gw_why = workload_ready(observed.gateway_workload)
        gw = _condition(
            "GatewayReady", gw_ok, "Available" if gw_ok else "NotReady", f"gateway: {gw_why}", ctx
        )
    else:
        gw_ok = True
        gw = _condition("GatewayReady", True, "Disabled", "gateway is disabled", ctx)
    conditions.append(gw)
    if not spec.injection.enabled:
        hook_ok = True
        hook = _condition("WebhookReady", True, "Disabled", "injection is disabled", ctx)
    else:
        hook_ok = observed.webhook_registered and observed.webhook_serving
        why = (
            "webhook registered and serving"
            if hook_ok
            else "webhook configuration missing"
            if not observed.webhook_registered
            else "webhook server not serving"
        )
        hook = _condition("WebhookReady", hook_ok, "Serving" if hook_ok else "NotServing", why, ctx)
    conditions.append(hook)

    if observed.apply_errors:
        ready = _condition(
            "Ready", False, "ApplyFailed", "; ".join(observed.apply_errors)[:1000], ctx
        )
    else:
        waiting = [c["type"] for c in conditions if c["status"] != "True"]
        all_ok = store_ok and gw_ok and hook_ok
        ready = _condition(
            "Ready",
            all_ok,
            "AllReady" if all_ok else "Waiting",
            "all components ready" if all_ok else "waiting for " + ", ".join(waiting),
            ctx,
        )
    counts = pod_counts(observed.pods)
    return {
        "observedGeneration": gen,
        "conditions": [ready, *conditions],
        "instrumentedPods": counts["injected"],
        "skippedPods": counts["skipped"],
        "failedPods": counts["failed"],
        "endpoints": {
            "otlp": store_url(owner),
            "ui": store_url(owner) + "/",
            "gateway": gateway_url(owner) if spec.gateway.enabled else "",
        },
    }


def differs(current: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Whether writing ``new`` would change the stored status (fields others own, such as kopf's
    progress, are ignored): an unchanged status is not written again."""
    current = current or {}
    return any(current.get(key) != value for key, value in new.items())
