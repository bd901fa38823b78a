"""Label selectors evaluated in Python, and the choice of the resource that instruments a pod.

The API server already filters admission requests with each webhook's objectSelector and
namespaceSelector; the webhook evaluates the same selectors again because one endpoint serves every
``LLMObservability`` resource and must know which one matched. ``matchExpressions`` are honoured
(OpenLIT ignored them).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """True when ``labels`` satisfy a Kubernetes label selector (an empty selector matches all)."""
    labels = labels or {}
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


@dataclass(frozen=True)
class Candidate:
    """One resource's injection scope, as the webhook sees it."""

    namespace: str
    name: str
    created: str  # creationTimestamp: the oldest resource wins a tie
    pod_selector: Mapping[str, Any]
    namespace_selector: Mapping[str, Any]
    enabled: bool = True

    @property
    def key(self) -> str:
        """``namespace/name`` of the resource."""
        return f"{self.namespace}/{self.name}"


def choose(
    candidates: Iterable[Candidate],
    *,
    pod_labels: Mapping[str, str] | None,
    namespace: str,
    namespace_labels: Mapping[str, str] | None,
    excluded_namespaces: Iterable[str] = (),
) -> Candidate | None:
    """The resource that instruments a pod, else None.

    Among the resources whose selectors match, one in the pod's own namespace wins (a team's own
    settings beat a cluster-wide default); then the oldest.
    """
    if namespace in set(excluded_namespaces):
        return None
    ns_labels = {"kubernetes.io/metadata.name": namespace, **(namespace_labels or {})}
    found = [
        c
        for c in candidates
        if c.enabled
        and matches(c.pod_selector, pod_labels)
        and matches(c.namespace_selector, ns_labels)
    ]
    found.sort(key=lambda c: (c.namespace != namespace, c.created, c.namespace, c.name))
    return found[0] if found else None
