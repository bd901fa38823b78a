"""The GPU exporter: NVIDIA's DCGM exporter as a DaemonSet on GPU nodes, scraped by the store."""

from typing import Any

from llmobs_operator import spec as s
from llmobs_operator.resources.common import GPU_EXPORTER_PORT, Owner, metadata, selector_labels

COMPONENT = "gpu-exporter"


def build(owner: Owner, spec: s.LLMObservabilitySpec) -> list[dict[str, Any]]:
    """A DaemonSet when enabled, else nothing (the reconciler prunes an old one)."""
    gpu = spec.gpu_exporter
    if not gpu.enabled:
        return []
    labels = metadata(owner, COMPONENT)["labels"]
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": metadata(owner, COMPONENT),
            "spec": {
                "selector": {"matchLabels": selector_labels(owner, COMPONENT)},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "nodeSelector": dict(gpu.node_selector),
                        "tolerations": [
                            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
                        ],
                        "containers": [
                            {
                                "name": "dcgm-exporter",
                                "image": gpu.image,
                                "ports": [{"name": "metrics", "containerPort": GPU_EXPORTER_PORT}],
                                # DCGM needs SYS_ADMIN to read profiling counters; nothing more.
                                "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}},
                            }
                        ],
                    },
                },
            },
        }
    ]
