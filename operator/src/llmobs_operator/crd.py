"""Generate the ``LLMObservability`` CustomResourceDefinition from the pydantic models.

pydantic emits JSON Schema (draft 2020-12, with ``$ref``); the API server wants a *structural*
OpenAPI v3 schema: every node typed, no references, no ``title``/``anyOf`` with null. This module
translates one into the other and adds what only a CRD has (printer columns, subresources).
``llmobs operator crd`` writes the result to ``operator/crds/``; a test checks the checked-in YAML
equals what this module generates.
"""

from typing import Any

import yaml

from llmobs_operator import spec as s
from llmobs_operator._spec_types import _Model

_DROP = {"title"}


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    """Inline ``$ref``s, flatten optional ``anyOf [X, null]`` and drop pydantic-only keys."""
    if isinstance(node, list):
        return [_resolve(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        # Keys beside the ref (description, default) override the referenced model's own.
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _resolve(merged, defs)
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o != {"type": "null"}]
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        if len(options) == 1:
            if rest.get("default", 0) is None:
                rest.pop("default")
            return _resolve({**options[0], **rest}, defs)
        if rest.get("x-kubernetes-int-or-string"):
            # Structural schemas spell int-or-string as the extension alone.
            return _resolve(rest, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP or key == "$defs":
            continue
        if key == "properties":
            out[key] = {name: _resolve(sub, defs) for name, sub in value.items()}
        else:
            out[key] = _resolve(value, defs)
    if isinstance(out.get("default"), dict) and "properties" in out:
        out["default"] = _prune_default(out["default"], out["properties"])
    # A missing sub-object still gets its children's defaults when it defaults to {}.
    if out.get("type") == "object" and "properties" in out and not out.get("required"):
        out.setdefault("default", {})
    if "additionalProperties" in out and out["additionalProperties"] is False:
        del out["additionalProperties"]  # structural schemas prune unknown fields anyway
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    if "const" in out:
        out["enum"] = [out.pop("const")]
        out.setdefault("type", "string")
    return out


def _prune_default(default: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """Keep only what the children's own defaults would not produce (and never a null)."""
    pruned: dict[str, Any] = {}
    for key, value in default.items():
        child = properties.get(key, {})
        kept = value
        if isinstance(value, dict) and "properties" in child:
            kept = _prune_default(value, child["properties"])
        if kept is None or kept == child.get("default") or kept in ([], {}):
            continue
        pruned[key] = kept
    return pruned


def openapi_schema(model: type[_Model]) -> dict[str, Any]:
    """The structural OpenAPI v3 schema of one of the spec models."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    resolved: dict[str, Any] = _resolve(raw, raw.get("$defs", {}))
    return resolved


def _printer_columns() -> list[dict[str, Any]]:
    return [
        {
            "name": "Ready",
            "type": "string",
            "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
            "description": "Whether every enabled component is ready.",
        },
        {
            "name": "Instrumented",
            "type": "integer",
            "jsonPath": ".status.instrumentedPods",
            "description": "Pods the probe was injected into.",
        },
        {
            "name": "Store",
            "type": "string",
            "jsonPath": ".spec.store.mode",
            "description": "embedded or external.",
        },
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]


def build_crd() -> dict[str, Any]:
    """The complete CustomResourceDefinition manifest."""
    spec_schema = openapi_schema(s.LLMObservabilitySpec)
    status_schema = openapi_schema(s.LLMObservabilityStatus)
    status_schema.pop("default", None)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{s.PLURAL}.{s.GROUP}",
            "labels": {"app.kubernetes.io/name": "llmobs", "app.kubernetes.io/part-of": "llmobs"},
        },
        "spec": {
            "group": s.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": s.KIND,
                "listKind": f"{s.KIND}List",
                "plural": s.PLURAL,
                "singular": s.SINGULAR,
                "shortNames": list(s.SHORT_NAMES),
                "categories": ["llmobs"],
            },
            "versions": [
                {
                    "name": s.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": _printer_columns(),
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "LLMObservability observes LLM applications with zero "
                            "code changes: it injects the llmobs probe into labelled Python pods "
                            "and runs the store, the AI gateway and the exporters.",
                            "properties": {
                                "apiVersion": {
                                    "type": "string",
                                    "description": "Versioned schema of this representation.",
                                },
                                "kind": {
                                    "type": "string",
                                    "description": "REST resource this object represents.",
                                },
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema,
                            },
                        }
                    },
                }
            ],
        },
    }


def render_crd_yaml() -> str:
    """The CRD as YAML text, exactly as checked in under ``operator/crds/``."""
    header = (
        "# Generated by `llmobs operator crd` from llmobs_operator/spec.py: do not edit by hand.\n"
    )
    return header + yaml.safe_dump(build_crd(), sort_keys=False, width=100)
