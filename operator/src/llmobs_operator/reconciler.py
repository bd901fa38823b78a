"""Reconciliation: apply what the builders produce, prune what they no longer produce, and keep
the webhook configuration in step with every resource. Async, through ``KubeApi`` only."""

import base64
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic

from llmobs_operator import drift
from llmobs_operator import spec as s
from llmobs_operator.injection import InjectionConfig
from llmobs_operator.k8s import ApiError, KubeApi
from llmobs_operator.resources import common, scrape, tokens, webhook
from llmobs_operator.selectors import Candidate
from llmobs_operator.settings import OperatorSettings

logger = logging.getLogger(__name__)
PRUNABLE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Service", "ConfigMap")


@dataclass(frozen=True)
class Entry:
    """One resource as the webhook and the reconciler see it (the value of the kopf index)."""

    candidate: Candidate
    config: InjectionConfig
    uid: str
    spec: s.LLMObservabilitySpec


def entry_from_body(body: Mapping[str, Any]) -> Entry:
    """Parse a resource body (raises pydantic.ValidationError for a bad spec)."""
    meta = body.get("metadata") or {}
    owner = common.Owner(str(meta["name"]), str(meta["namespace"]), str(meta.get("uid", "")))
    parsed = s.parse_spec(dict(body.get("spec") or {}))
    inj = parsed.injection
    candidate = Candidate(
        namespace=owner.namespace,
        name=owner.name,
        created=str(meta.get("creationTimestamp", "")),
        pod_selector=inj.pod_selector.model_dump(by_alias=True),
        namespace_selector=inj.namespace_selector.model_dump(by_alias=True),
        enabled=inj.enabled,
    )
    config = InjectionConfig.from_spec(
        inj,
        owner=candidate.key,
        otlp_endpoint=common.store_url(owner),
        secret_env=tokens.probe_env(owner, parsed),
    )
    return Entry(candidate, config, owner.uid, parsed)


@dataclass
class Runtime:
    """What the handlers share: settings, the API client, the webhook's client config."""

    settings: OperatorSettings
    api: KubeApi | None = None
    ca_pem: bytes = b""
    ca_file: Path | None = None  # re-read on every sync: cert-manager may renew the CA
    serving: bool = False
    entries: dict[str, Entry] = field(default_factory=dict)
    on_reconciled: Callable[[], Awaitable[None]] | None = None  # restarts opted-in workloads
    refresh_interval_s: float = 5.0
    _last_refresh: float = field(default=float("-inf"), repr=False)

    def refresh_due(self) -> bool:
        """At most one live lookup per interval, whatever the admission rate."""
        now = time.monotonic()
        if now - self._last_refresh < self.refresh_interval_s:
            return False
        self._last_refresh = now
        return True

    def client_config(self) -> dict[str, Any]:
        """URL (local process) or Service reference (in cluster), with our CA."""
        if self.ca_file is not None and self.ca_file.is_file():
            self.ca_pem = self.ca_file.read_bytes()
        ca = base64.b64encode(self.ca_pem).decode()
        st = self.settings
        if st.webhook_url:
            return webhook.client_config(ca_bundle_b64=ca, url=st.webhook_url)
        return webhook.client_config(
            ca_bundle_b64=ca, service=(st.webhook_service, st.namespace, st.webhook_service_port)
        )


async def apply_children(
    api: KubeApi, owner: common.Owner, spec: s.LLMObservabilitySpec
) -> list[str]:
    """Apply every desired child and prune the ones no longer desired; returns error messages."""
    errors: list[str] = []
    if tokens.needs_generated_secret(spec):
        # Created once (a 409 means it is there): re-applying would draw new tokens.
        try:
            if await api.create(tokens.secret(owner)):
                logger.info("generated the store's tokens in Secret %s", tokens.secret_name(owner))
        except ApiError as exc:
            errors.append(f"Secret/{tokens.secret_name(owner)}: {exc}")
    desired = common.desired_children(owner, spec)
    for manifest in desired:
        try:
            await api.apply(manifest)
        except ApiError as exc:
            errors.append(f"{manifest['kind']}/{manifest['metadata']['name']}: {exc}")
    # The targets ConfigMap is written by sync_scrape_targets, from pods rather than the spec.
    keep = common.children_of(desired) | {("ConfigMap", scrape.name(owner))}
    selector = (
        f"{common.LABEL_INSTANCE}={owner.name},app.kubernetes.io/managed-by={common.MANAGED_BY}"
    )
    for kind in PRUNABLE_KINDS:
        try:
            live = await api.list(kind, owner.namespace, selector)
        except ApiError as exc:
            errors.append(f"list {kind}: {exc}")
            continue
        for obj in live:
            name = obj["metadata"]["name"]
            refs = obj["metadata"].get("ownerReferences") or []
            if (kind, name) not in keep and any(r.get("uid") == owner.uid for r in refs):
                await api.delete(kind, owner.namespace, name)
    return errors


async def sync_scrape_targets(
    api: KubeApi, owner: common.Owner, spec: s.LLMObservabilitySpec
) -> int:
    """Resolve model-server and GPU-exporter pods into the store's targets file; returns count."""
    selector = scrape.selector_string(spec.model_servers.selector.model_dump(by_alias=True))
    servers = await api.list("Pod", None, selector or None)
    gpus = (
        await api.list("Pod", owner.namespace, scrape.gpu_exporter_selector(owner))
        if spec.gpu_exporter.enabled
        else []
    )
    found = scrape.targets(spec, servers, gpus)
    manifest = scrape.configmap(owner, spec, found)
    live = await api.get("ConfigMap", owner.namespace, manifest["metadata"]["name"])
    if drift.drifted(manifest, live):
        await api.apply(manifest)
    return len(found)


async def repair_drift(
    api: KubeApi, owner: common.Owner, spec: s.LLMObservabilitySpec
) -> list[str]:
    """Re-apply only children that were deleted or edited; returns what was repaired."""
    repaired = []
    for manifest in common.desired_children(owner, spec):
        meta = manifest["metadata"]
        live = await api.get(manifest["kind"], meta["namespace"], meta["name"])
        if drift.drifted(manifest, live):
            await api.apply(manifest)
            repaired.append(f"{manifest['kind']}/{meta['name']}")
    return repaired


async def sync_webhook(runtime: Runtime, entries: Iterable[Entry]) -> None:
    """Write the MutatingWebhookConfiguration for these resources (deleted when none remain)."""
    assert runtime.api is not None
    st = runtime.settings
    candidates = [e.candidate for e in entries]
    if not any(c.enabled for c in candidates):
        await runtime.api.delete("MutatingWebhookConfiguration", None, st.webhook_config_name)
        return
    manifest = webhook.build(
        name=st.webhook_config_name,
        candidates=candidates,
        client=runtime.client_config(),
        operator_namespace=st.namespace,
    )
    live = await runtime.api.get("MutatingWebhookConfiguration", None, st.webhook_config_name)
    if drift.drifted(manifest, live):
        await runtime.api.apply(manifest)


async def live_view(api: KubeApi, namespace: str) -> tuple[list[Entry], dict[str, str] | None]:
    """Every parseable resource and the namespace's labels, straight from the API server."""
    entries = []
    for body in await api.list("LLMObservability"):
        try:
            entries.append(entry_from_body(body))
        except (pydantic.ValidationError, KeyError):
            logger.warning("skipping unparseable resource %s", body.get("metadata", {}).get("name"))
    ns = await api.get("Namespace", None, namespace) if namespace else None
    labels = ((ns or {}).get("metadata") or {}).get("labels")
    return entries, labels


def workload_kind(spec: s.LLMObservabilitySpec) -> str:
    """Which kind the store runs as."""
    return "StatefulSet" if spec.store.mode == "embedded" else "Deployment"
