"""The MutatingWebhookConfiguration: one webhook entry per ``LLMObservability`` resource.

The API server filters with each entry's objectSelector (the resource's pod selector) and
namespaceSelector (the resource's, minus kube-system and the operator's own namespace), so pods
nobody asked to instrument never reach us. Every entry calls the same endpoint; the webhook
re-evaluates the selectors to find the resource. ``failurePolicy: Ignore`` and a short timeout:
the webhook never blocks pod creation.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from llmobs_operator.resources.common import MANAGED_BY
from llmobs_operator.selectors import Candidate

WEBHOOK_PATH = "/inject"
TIMEOUT_SECONDS = 5
ALWAYS_EXCLUDED = ("kube-system", "kube-node-lease")


def client_config(
    *, ca_bundle_b64: str, url: str | None = None, service: tuple[str, str, int] | None = None
) -> dict[str, Any]:
    """``url`` (a local process) or a Service reference (in cluster), plus the CA bundle."""
    if (url is None) == (service is None):
        raise ValueError("exactly one of url or service is required")
    config: dict[str, Any] = {"caBundle": ca_bundle_b64}
    if url is not None:
        config["url"] = url.rstrip("/") + WEBHOOK_PATH
    else:
        assert service is not None
        name, namespace, port = service
        config["service"] = {
            "name": name,
            "namespace": namespace,
            "port": port,
            "path": WEBHOOK_PATH,
        }
    return config


def _namespace_selector(selector: Mapping[str, Any], excluded: Iterable[str]) -> dict[str, Any]:
    expressions = [dict(e) for e in selector.get("matchExpressions") or []]
    expressions.append(
        {
            "key": "kubernetes.io/metadata.name",
            "operator": "NotIn",
            "values": sorted({*ALWAYS_EXCLUDED, *excluded}),
        }
    )
    out: dict[str, Any] = {"matchExpressions": expressions}
    if selector.get("matchLabels"):
        out["matchLabels"] = dict(selector["matchLabels"])
    return out


def entry_name(candidate: Candidate) -> str:
    """Unique, fully-qualified webhook name of one resource."""
    return f"{candidate.name}.{candidate.namespace}.inject.llmobs.dev"


def build(
    *,
    name: str,
    candidates: Iterable[Candidate],
    client: Mapping[str, Any],
    operator_namespace: str,
) -> dict[str, Any]:
    """The whole configuration (cluster-scoped, so no owner reference: the operator owns it)."""
    webhooks = []
    for candidate in sorted(candidates, key=lambda c: (c.namespace, c.name)):
        if not candidate.enabled:
            continue
        webhooks.append(
            {
                "name": entry_name(candidate),
                "admissionReviewVersions": ["v1"],
                "clientConfig": dict(client),
                "rules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["pods"],
                        "scope": "Namespaced",
                    }
                ],
                "failurePolicy": "Ignore",
                "sideEffects": "None",
                "timeoutSeconds": TIMEOUT_SECONDS,
                "reinvocationPolicy": "Never",
                "matchPolicy": "Equivalent",
                "objectSelector": dict(candidate.pod_selector),
                "namespaceSelector": _namespace_selector(
                    candidate.namespace_selector, [operator_namespace]
                ),
            }
        )
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {
            "name": name,
            "labels": {
                "app.kubernetes.io/name": "llmobs",
                "app.kubernetes.io/managed-by": MANAGED_BY,
            },
        },
        "webhooks": webhooks,
    }
