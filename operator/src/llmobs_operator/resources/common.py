"""Names, labels, owner references and hashes shared by the builders."""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from llmobs_operator import spec as s

MANAGED_BY = "llmobs-operator"
LABEL_INSTANCE = "llmobs.dev/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
ANN_CONFIG_HASH = "llmobs.dev/config-hash"
STORE_PORT = 4318
GATEWAY_PORT = 4000
GPU_EXPORTER_PORT = 9400
NONROOT_UID = 65532


@dataclass(frozen=True)
class Owner:
    """The ``LLMObservability`` resource the children belong to."""

    name: str
    namespace: str
    uid: str

    def reference(self) -> dict[str, Any]:
        """Owner reference: deleting the resource garbage-collects its children."""
        return {
            "apiVersion": f"{s.GROUP}/{s.VERSION}",
            "kind": s.KIND,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def child_name(self, component: str) -> str:
        """``<resource>-<component>``, e.g. ``llmobs-store``."""
        return f"{self.name}-{component}"


def labels(owner: Owner, component: str) -> dict[str, str]:
    """Labels on every child: enough to find them all, and to select one component's pods."""
    return {
        "app.kubernetes.io/name": "llmobs",
        "app.kubernetes.io/managed-by": MANAGED_BY,
        LABEL_INSTANCE: owner.name,
        LABEL_COMPONENT: component,
    }


def selector_labels(owner: Owner, component: str) -> dict[str, str]:
    """The immutable subset used in workload selectors."""
    return {LABEL_INSTANCE: owner.name, LABEL_COMPONENT: component}


def metadata(owner: Owner, component: str, name: str | None = None) -> dict[str, Any]:
    """Standard metadata of a namespaced child."""
    return {
        "name": name or owner.child_name(component),
        "namespace": owner.namespace,
        "labels": labels(owner, component),
        "ownerReferences": [owner.reference()],
    }


def config_hash(*parts: Any) -> str:
    """Stable hash of configuration, put on pod templates so a change rolls the pods."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def pod_security() -> dict[str, Any]:
    """Pod-level security context of our own pods (restricted Pod Security Standard)."""
    return {
        "runAsNonRoot": True,
        "runAsUser": NONROOT_UID,
        "runAsGroup": NONROOT_UID,
        "fsGroup": NONROOT_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security() -> dict[str, Any]:
    """Container-level security context of our own containers."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def store_url(owner: Owner) -> str:
    """In-cluster OTLP/HTTP (protobuf) endpoint of the store: port 4318, never gRPC 4317."""
    return f"http://{owner.child_name('store')}.{owner.namespace}.svc:{STORE_PORT}"


def gateway_url(owner: Owner) -> str:
    """In-cluster base URL of the gateway's OpenAI-compatible API."""
    return f"http://{owner.child_name('gateway')}.{owner.namespace}.svc:{GATEWAY_PORT}/v1"


def children_of(manifests: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(kind, name) of each manifest: what the reconciler keeps; others it prunes."""
    return {(m["kind"], m["metadata"]["name"]) for m in manifests}


def desired_children(owner: Owner, spec: s.LLMObservabilitySpec) -> list[dict[str, Any]]:
    """Every namespaced child the resource should have, in apply order."""
    from llmobs_operator.resources import exporters, gateway, store

    return [
        *store.build(owner, spec),
        *gateway.build(owner, spec),
        *exporters.build(owner, spec),
    ]
