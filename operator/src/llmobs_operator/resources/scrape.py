"""Scrape targets of the store: model-server pods (vLLM, SGLang) and GPU-exporter pods.

The operator already lists pods, so it resolves the selector itself and writes the targets into a
ConfigMap that the store mounts as a file (like Prometheus file-based discovery). The store needs
no Kubernetes permissions, and the file is not part of the store's configuration hash: kubelet
refreshes a mounted ConfigMap in place, so a pod moving never restarts the store.
"""

import json
from collections.abc import Iterable, Mapping
from typing import Any

from llmobs_operator import spec as s
from llmobs_operator.resources.common import (
    GPU_EXPORTER_PORT,
    LABEL_COMPONENT,
    LABEL_INSTANCE,
    Owner,
    metadata,
)

COMPONENT = "scrape-targets"
FILE = "targets.json"
MOUNT_DIR = "/etc/llmobs/scrape"


def name(owner: Owner) -> str:
    """Name of the targets ConfigMap."""
    return owner.child_name(COMPONENT)


def selector_string(selector: Mapping[str, Any]) -> str:
    """A label selector in the API's query syntax (``a=b,c in (d,e)``), for list calls."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], ",".join(expr.get("values") or [])
        parts.append(
            {
                "In": f"{key} in ({values})",
                "NotIn": f"{key} notin ({values})",
                "Exists": key,
                "DoesNotExist": f"!{key}",
            }[op]
        )
    return ",".join(parts)


def gpu_exporter_selector(owner: Owner) -> str:
    """Label selector of this resource's GPU-exporter pods."""
    return f"{LABEL_INSTANCE}={owner.name},{LABEL_COMPONENT}=gpu-exporter"


def _target(pod: Mapping[str, Any], port: int, path: str, kind: str) -> dict[str, Any] | None:
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    ip = status.get("podIP")
    if not ip or status.get("phase") != "Running" or meta.get("deletionTimestamp"):
        return None
    host = f"[{ip}]" if ":" in ip else ip
    return {
        "url": f"http://{host}:{port}{path}",
        "kind": kind,
        "labels": {
            "k8s.namespace.name": meta.get("namespace", ""),
            "k8s.pod.name": meta.get("name", ""),
            "k8s.node.name": (pod.get("spec") or {}).get("nodeName", ""),
            "model_server": (meta.get("labels") or {}).get("llmobs.dev/model-server", ""),
        },
    }


def targets(
    spec: s.LLMObservabilitySpec,
    model_server_pods: Iterable[Mapping[str, Any]],
    gpu_exporter_pods: Iterable[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Running pods as scrape targets, sorted so an unchanged set writes identical bytes."""
    ms = spec.model_servers
    found = [
        _target(p, ms.metrics_port, ms.metrics_path, "model-server") for p in model_server_pods
    ]
    if spec.gpu_exporter.enabled:
        found += [_target(p, GPU_EXPORTER_PORT, "/metrics", "gpu") for p in gpu_exporter_pods]
    return sorted((t for t in found if t is not None), key=lambda t: t["url"])


def configmap(
    owner: Owner, spec: s.LLMObservabilitySpec, found: list[dict[str, Any]]
) -> dict[str, Any]:
    """The ConfigMap holding the targets file."""
    document = {"interval_s": spec.model_servers.scrape_interval_seconds, "targets": found}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(owner, COMPONENT),
        "data": {FILE: json.dumps(document, indent=1, sort_keys=True)},
    }
