"""kopf registrations, kept thin: each handler parses, calls a builder or the reconciler, and
reports. Built into a fresh ``kopf.OperatorRegistry`` by :func:`build_registry` (nothing is
registered at import)."""

import datetime as dt
import logging
from typing import Any

import kopf
import pydantic

from llmobs_operator import drift, injection, tls
from llmobs_operator import spec as s
from llmobs_operator.coalescer import Coalescer
from llmobs_operator.injection import LABEL_STATUS
from llmobs_operator.k8s import ApiError, KubeApi
from llmobs_operator.reconciler import (
    Entry,
    Runtime,
    apply_children,
    entry_from_body,
    live_view,
    repair_drift,
    sync_scrape_targets,
    sync_webhook,
    workload_kind,
)
from llmobs_operator.resources import common
from llmobs_operator.selectors import choose
from llmobs_operator.status import Observed, compute, differs
from llmobs_operator.webhook_server import LlmobsWebhookServer

logger = logging.getLogger(__name__)
CR = (s.GROUP, s.VERSION, s.PLURAL)
CHILD_LABELS = {"app.kubernetes.io/managed-by": common.MANAGED_BY}
# A child workload's status change refreshes its owner's status after STATUS_DELAY_S (a rollout's
# burst of events becomes one write), at most once per STATUS_MIN_INTERVAL_S per resource.
STATUS_DELAY_S = 0.5
STATUS_MIN_INTERVAL_S = 2.0
WORKLOAD_KINDS = ("Deployment", "StatefulSet")


def _owner(body: Any) -> common.Owner:
    meta = body["metadata"]
    return common.Owner(meta["name"], meta["namespace"], meta.get("uid", ""))


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_registry(runtime: Runtime, tls_files: tls.TlsFiles) -> kopf.OperatorRegistry:
    """Every handler of the operator, bound to ``runtime``."""
    registry = kopf.OperatorRegistry()
    settings_ = runtime.settings

    @kopf.on.startup(id="configure", registry=registry)
    async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.persistence.finalizer = "llmobs.dev/finalizer"
        settings.posting.level = logging.INFO
        # Only our own events (Reconciled, DriftRepaired, ApplyFailed, InvalidSpec): kopf would
        # otherwise post a "handler succeeded" event on every child status change.
        settings.posting.loggers = False
        settings.peering.name = settings_.peering
        settings.peering.mandatory = False
        settings.peering.standalone = settings_.peering == "standalone"
        settings.admission.managed = None  # we write the configuration (Service-aware)
        runtime.ca_pem = tls_files.ca_pem()
        runtime.ca_file = tls_files.ca

        def serving(_config: Any) -> None:
            runtime.serving = True

        settings.admission.server = LlmobsWebhookServer(
            addr=settings_.host,
            port=settings_.port,
            certfile=tls_files.cert,
            pkeyfile=tls_files.key,
            on_serving=serving,
        )

    @kopf.on.login(id="login", registry=registry)
    def login(**kwargs: Any) -> Any:
        info = kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)
        if info is not None and runtime.api is None:
            runtime.api = KubeApi.from_connection_info(info)
        return info

    @kopf.on.cleanup(id="close", registry=registry)
    async def close(**_: Any) -> None:
        await refresher.aclose()
        if runtime.api is not None:
            await runtime.api.aclose()

    @kopf.index("namespaces", id="namespace_labels", registry=registry)
    def namespace_labels(name: str, labels: Any, **_: Any) -> dict[str, dict[str, str]]:
        return {name: dict(labels)}

    @kopf.index(*CR, id="resources", registry=registry)
    def resources(body: kopf.Body, namespace: str | None, name: str, **_: Any) -> dict[str, Entry]:
        try:
            entry = entry_from_body(body)
        except (pydantic.ValidationError, KeyError):
            return {}
        runtime.entries[f"{namespace}/{name}"] = entry
        return {f"{namespace}/{name}": entry}

    @kopf.on.mutate(
        "pods", id="inject", operations=["CREATE"], ignore_failures=True, registry=registry
    )
    async def inject(body: kopf.Body, patch: kopf.Patch, **kwargs: Any) -> None:
        resources: kopf.Index[str, Entry] = kwargs["resources"]
        namespace_labels: kopf.Index[str, dict[str, str]] = kwargs["namespace_labels"]
        pod: dict[str, Any] = dict(body)
        namespace = str((pod.get("metadata") or {}).get("namespace", ""))
        entries = [e for key in resources for e in resources[key]]
        labels_by_ns = {k: v for k in namespace_labels for v in namespace_labels[k]}

        def pick(entries: list[Entry], ns_labels: dict[str, str] | None) -> Any:
            return choose(
                [e.candidate for e in entries],
                pod_labels=(pod.get("metadata") or {}).get("labels"),
                namespace=namespace,
                namespace_labels=ns_labels,
                excluded_namespaces=(settings_.namespace, "kube-system"),
            )

        chosen = pick(entries, labels_by_ns.get(namespace))
        if chosen is None and runtime.api is not None and runtime.refresh_due():
            # The API server sent this pod because some resource's selectors matched. A standby
            # replica (kopf peering pauses its watches) has stale indexes: ask the API directly.
            entries, ns_labels = await live_view(runtime.api, namespace)
            chosen = pick(entries, ns_labels)
        if chosen is None:
            return
        entry = next(e for e in entries if e.candidate.key == chosen.key)
        try:
            result = injection.mutate_pod(pod, entry.config)
            mutated = result.pod
        except Exception as exc:  # never deny for our own bug: admit, annotated as failed
            logger.exception("injection failed")
            mutated = injection.mark_failed(pod, chosen.key, exc)

        def replace(target: kopf.RawBody) -> None:
            target["metadata"] = mutated.get("metadata", {})
            target["spec"] = mutated.get("spec", {})

        patch.fns.append(replace)

    async def reconcile(body: Any, patch: kopf.Patch, reason: str) -> None:
        owner = _owner(body)
        try:
            entry = entry_from_body(body)
        except pydantic.ValidationError as exc:
            message = "; ".join(
                f"spec.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            kopf.warn(body, reason="InvalidSpec", message=message[:1000])
            raise kopf.PermanentError(f"invalid spec: {message}") from exc
        runtime.entries[entry.candidate.key] = entry
        assert runtime.api is not None
        errors = await apply_children(runtime.api, owner, entry.spec)
        try:
            await sync_scrape_targets(runtime.api, owner, entry.spec)
        except ApiError as exc:
            errors.append(f"scrape targets: {exc}")
        try:
            await sync_webhook(runtime, runtime.entries.values())
        except ApiError as exc:
            errors.append(f"MutatingWebhookConfiguration: {exc}")
        if errors:
            kopf.warn(body, reason="ApplyFailed", message="; ".join(errors)[:1000])
        else:
            kopf.info(body, reason="Reconciled", message=f"components applied ({reason})")
        if runtime.on_reconciled is not None:
            await runtime.on_reconciled()
        patch.status.update(await _status(body, entry, errors))

    async def _status(body: Any, entry: Entry, errors: list[str]) -> dict[str, Any]:
        assert runtime.api is not None
        owner = _owner(body)
        store = await runtime.api.get(
            workload_kind(entry.spec), owner.namespace, owner.child_name("store")
        )
        gateway = await runtime.api.get("Deployment", owner.namespace, owner.child_name("gateway"))
        hook = await runtime.api.get(
            "MutatingWebhookConfiguration", None, settings_.webhook_config_name
        )
        pods = [
            p
            for p in await runtime.api.list("Pod", None, LABEL_STATUS)
            if (p["metadata"].get("annotations") or {}).get(injection.ANN_OBSERVED_BY)
            == entry.candidate.key
        ]
        observed = Observed(
            generation=int(body["metadata"].get("generation", 0)),
            store_workload=store,
            gateway_workload=gateway,
            webhook_registered=hook is not None
            and any(
                w.get("name", "").startswith(f"{owner.name}.{owner.namespace}.")
                for w in hook.get("webhooks") or []
            ),
            webhook_serving=runtime.serving,
            pods=pods,
            apply_errors=errors,
        )
        return compute(owner, entry.spec, observed, body.get("status"), _now())

    async def refresh_status(key: str) -> bool:
        """Recompute one resource's status after a child changed; True: try again later."""
        entry = runtime.entries.get(key)
        if entry is None or runtime.api is None:
            return False
        namespace, _, name = key.partition("/")
        body = await runtime.api.get("LLMObservability", namespace, name)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return False
        current = body.get("status") or {}
        if current.get("observedGeneration") != body["metadata"].get("generation"):
            # Reconcile of this generation has not written its status yet: it will, with what it
            # saw; look again after it, in case the children changed in between.
            return True
        new = await _status(body, entry_from_body(body), [])
        if differs(current, new):
            await runtime.api.patch_status("LLMObservability", namespace, name, new)
            logger.info("status of %s refreshed after a child changed", key)
        return False

    refresher = Coalescer(
        refresh_status, delay_s=STATUS_DELAY_S, min_interval_s=STATUS_MIN_INTERVAL_S
    )

    @kopf.on.resume(*CR, id="reconcile", registry=registry)
    @kopf.on.create(*CR, id="reconcile", registry=registry)
    @kopf.on.update(*CR, id="reconcile", field="spec", registry=registry)
    async def on_change(body: Any, patch: kopf.Patch, reason: Any, **_: Any) -> None:
        await reconcile(body, patch, str(reason))

    @kopf.timer(
        *CR, id="resync", interval=settings_.resync_seconds, initial_delay=5, registry=registry
    )
    async def resync(body: Any, patch: kopf.Patch, **_: Any) -> None:
        """Repair drift (children edited or deleted) and refresh the status counts."""
        try:
            entry = entry_from_body(body)
        except pydantic.ValidationError:
            return
        assert runtime.api is not None
        repaired = await repair_drift(runtime.api, _owner(body), entry.spec)
        await sync_scrape_targets(runtime.api, _owner(body), entry.spec)
        await sync_webhook(runtime, runtime.entries.values())
        if repaired:
            kopf.info(body, reason="DriftRepaired", message="re-applied " + ", ".join(repaired))
        patch.status.update(await _status(body, entry, []))

    @kopf.on.delete(*CR, id="cleanup", registry=registry)
    async def on_delete(namespace: str | None, name: str, **_: Any) -> None:
        """Children go with their owner references; the webhook entry goes here."""
        runtime.entries.pop(f"{namespace}/{name}", None)
        refresher.forget(f"{namespace}/{name}")
        await sync_webhook(runtime, runtime.entries.values())

    for group_version, plural in (
        ("v1", "configmaps"),
        ("v1", "services"),
        ("apps/v1", "deployments"),
        ("apps/v1", "statefulsets"),
        ("apps/v1", "daemonsets"),
    ):
        group, _, version = group_version.rpartition("/")

        @kopf.on.event(
            group, version, plural, id="repair_child", labels=CHILD_LABELS, registry=registry
        )
        async def child_changed(body: Any, type: str, **_: Any) -> None:
            """A child deleted or edited by someone: re-apply it now, not at the next resync. A
            workload's status changed: refresh its owner's status soon, not at the next resync."""
            meta = body.get("metadata") or {}
            instance = (meta.get("labels") or {}).get(common.LABEL_INSTANCE)
            key = f"{meta.get('namespace')}/{instance}"
            entry = runtime.entries.get(key)
            if entry is None or runtime.api is None:
                return
            if body.get("kind") in WORKLOAD_KINDS:
                refresher.trigger(key)
            if type not in ("DELETED", "MODIFIED"):
                return
            owner = common.Owner(entry.candidate.name, entry.candidate.namespace, entry.uid)
            for manifest in common.desired_children(owner, entry.spec):
                same = manifest["kind"] == body.get("kind") and manifest["metadata"][
                    "name"
                ] == meta.get("name")
                if same and drift.drifted(manifest, None if type == "DELETED" else body):
                    await runtime.api.apply(manifest)
                    logger.info("repaired %s/%s (%s)", manifest["kind"], meta.get("name"), type)

    rolled: dict[tuple[str, str, str], str] = {}  # revision last patched into each workload
    opted_in: set[tuple[str, str, str]] = set()  # (kind, namespace, name) seen with the annotation

    async def roll(kind: str, namespace: str, name: str, body: Any) -> None:
        """Restart an opted-in workload whose pods predate the current injection settings."""
        if runtime.api is None:
            return
        template = (body.get("spec") or {}).get("template") or {}
        labels = {**((template.get("metadata") or {}).get("labels") or {}), s.INJECT_LABEL: "true"}
        chosen = choose(
            [e.candidate for e in runtime.entries.values()],
            pod_labels=labels,
            namespace=namespace,
            namespace_labels=None,
            excluded_namespaces=(settings_.namespace, "kube-system"),
        )
        if chosen is None:
            return
        spec = runtime.entries[chosen.key].spec.injection.model_dump(by_alias=True, mode="json")
        revision = drift.injection_revision(chosen.key, spec)
        patch_ = drift.rollout_patch(body, revision)
        # Events already queued still show the old template: patch once per revision.
        if patch_ is not None and rolled.get((kind, namespace, name)) != revision:
            await runtime.api.merge_patch(kind, namespace, name, patch_)
            rolled[(kind, namespace, name)] = revision
            logger.info("rolling out %s %s/%s for probe injection", kind, namespace, name)

    async def roll_known() -> None:
        """After a resource changed: restart the opted-in workloads it now instruments."""
        assert runtime.api is not None
        for kind, namespace, name in sorted(opted_in):
            live = await runtime.api.get(kind, namespace, name)
            if live is None:
                opted_in.discard((kind, namespace, name))
                continue
            await roll(kind, namespace, name, live)  # checks the annotation is still there

    runtime.on_reconciled = roll_known

    for plural in ("deployments", "statefulsets"):

        @kopf.on.event(
            "apps",
            "v1",
            plural,
            id="rollout",
            annotations={drift.ANN_ROLLOUT: "true"},
            registry=registry,
        )
        async def rollout(
            body: kopf.Body, namespace: str | None, name: str, type: str, **_: Any
        ) -> None:
            """Opted-in workloads restart when injection settings change, so pods get the probe."""
            kind = str(body.get("kind") or "Deployment")
            if namespace is None:
                return
            if type == "DELETED":
                opted_in.discard((kind, namespace, name))
                return
            opted_in.add((kind, namespace, name))
            await roll(kind, namespace, name, body)

    return registry
