"""Drift detection and opt-in rollouts as pure functions."""

import hashlib
from collections.abc import Mapping
from typing import Any

from llmobs_operator.spec import INJECT_LABEL

ANN_ROLLOUT = "llmobs.dev/rollout"  # on a Deployment/StatefulSet: "true" opts it in and restarts it
ANN_REVISION = "llmobs.dev/injection-revision"  # on its pod template: what the pods were made with


def contains(desired: Any, live: Any) -> bool:
    """True when every field we set in ``desired`` has the same value in ``live``.

    The API server adds defaults and status, so equality is the wrong test; lists compare item by
    item (our manifests set whole lists).
    """
    if isinstance(desired, Mapping):
        if not isinstance(live, Mapping):
            return False
        # The API server drops empty lists and maps: an empty desired value matches an absent one.
        return all(
            contains(v, live[k]) if k in live else v in ([], {}, None) for k, v in desired.items()
        )
    if isinstance(desired, list):
        if not isinstance(live, list) or len(desired) != len(live):
            return False
        return all(contains(d, lv) for d, lv in zip(desired, live, strict=True))
    if isinstance(desired, int | float) and isinstance(live, str):
        return str(desired) == live
    return bool(desired == live)


def drifted(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> bool:
    """True when the live object is missing or no longer carries what we applied."""
    if live is None:
        return True
    body = {k: v for k, v in desired.items() if k not in ("apiVersion", "kind", "status")}
    return not contains(body, live)


def injection_revision(owner_key: str, injection_spec: Mapping[str, Any]) -> str:
    """A token that changes whenever the injection settings of the matching resource change."""
    blob = repr((owner_key, sorted(injection_spec.items()))).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def rollout_patch(workload: Mapping[str, Any], revision: str) -> dict[str, Any] | None:
    """Merge patch that restarts an opted-in workload's pods, or None when nothing is due.

    The pod template gets the opt-in label and the revision annotation; changing the template is
    what makes the Deployment/StatefulSet controller replace its pods, and new pods pass through
    the webhook.
    """
    meta = workload.get("metadata") or {}
    if str((meta.get("annotations") or {}).get(ANN_ROLLOUT, "")).lower() != "true":
        return None
    template = ((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}
    has_label = (template.get("labels") or {}).get(INJECT_LABEL) == "true"
    current = (template.get("annotations") or {}).get(ANN_REVISION)
    if has_label and current == revision:
        return None
    return {
        "spec": {
            "template": {
                "metadata": {
                    "labels": {INJECT_LABEL: "true"},
                    "annotations": {ANN_REVISION: revision},
                }
            }
        }
    }
