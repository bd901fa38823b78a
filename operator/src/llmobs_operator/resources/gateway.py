"""The AI gateway: ConfigMap (routing table) + Service (port 4000) + Deployment."""

import re
from typing import Any

import yaml

from llmobs_operator import spec as s
from llmobs_operator.resources import tokens
from llmobs_operator.resources.common import (
    ANN_CONFIG_HASH,
    GATEWAY_PORT,
    Owner,
    config_hash,
    container_security,
    metadata,
    pod_security,
    selector_labels,
    store_url,
)

COMPONENT = "gateway"
CONFIG_FILE = "gateway.yaml"
CONFIG_DIR = "/etc/llmobs"


def key_env_name(upstream: str) -> str:
    """Environment variable carrying an upstream's API key (from its Secret)."""
    return "LLMOBS_GATEWAY_KEY_" + re.sub(r"[^A-Z0-9]", "_", upstream.upper())


def gateway_config(spec: s.LLMObservabilitySpec) -> dict[str, Any]:
    """The routing table the gateway reads; keys are referenced by variable name, never inlined."""
    return {
        "upstreams": [
            {
                "name": u.name,
                "base_url": u.base_url,
                "models": list(u.models),
                "priority": u.priority,
                **({"api_key_env": key_env_name(u.name)} if u.api_key_secret_ref else {}),
            }
            for u in spec.gateway.upstreams
        ]
    }


def build(owner: Owner, spec: s.LLMObservabilitySpec) -> list[dict[str, Any]]:
    """Nothing when the gateway is disabled (the reconciler then prunes what exists)."""
    gw = spec.gateway
    if not gw.enabled:
        return []
    config_text = yaml.safe_dump(gateway_config(spec), sort_keys=True)
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(owner, COMPONENT),
        "data": {CONFIG_FILE: config_text},
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(owner, COMPONENT),
        "spec": {
            "selector": selector_labels(owner, COMPONENT),
            "ports": [
                {
                    "name": "http",
                    "port": GATEWAY_PORT,
                    "targetPort": GATEWAY_PORT,
                    "protocol": "TCP",
                }
            ],
        },
    }
    env: list[dict[str, Any]] = [
        {"name": "LLMOBS_GATEWAY_CONFIG", "value": f"{CONFIG_DIR}/{CONFIG_FILE}"},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": store_url(owner)},
        {"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": "http/protobuf"},
        {"name": "OTEL_SERVICE_NAME", "value": "llmobs-gateway"},
        *tokens.exporter_env(owner, spec),
    ]
    for u in gw.upstreams:
        if u.api_key_secret_ref:
            ref = u.api_key_secret_ref
            env.append(
                {
                    "name": key_env_name(u.name),
                    "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}},
                }
            )
    container = {
        "name": "gateway",
        "image": gw.image,
        "args": ["gateway", "serve", "--host", "0.0.0.0", "--port", str(GATEWAY_PORT)],
        "ports": [{"name": "http", "containerPort": GATEWAY_PORT, "protocol": "TCP"}],
        "env": env,
        "resources": gw.resources.model_dump(by_alias=True),
        # /healthz, not /readyz: /readyz is 503 while every upstream's circuit is open, and taking
        # all replicas out of the Service then would turn the gateway's OpenAI-shaped 502s into
        # connection errors for every client.
        "readinessProbe": {
            "httpGet": {"path": "/healthz", "port": GATEWAY_PORT},
            "periodSeconds": 5,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": GATEWAY_PORT},
            "periodSeconds": 10,
            "failureThreshold": 6,
        },
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(owner, COMPONENT),
        "spec": {
            "replicas": gw.replicas,
            "selector": {"matchLabels": selector_labels(owner, COMPONENT)},
            "template": {
                "metadata": {
                    "labels": metadata(owner, COMPONENT)["labels"],
                    # Keys are referenced, not hashed: rotating one needs `kubectl rollout restart`.
                    "annotations": {ANN_CONFIG_HASH: config_hash(config_text, gw.image)},
                },
                "spec": {
                    "securityContext": pod_security(),
                    "containers": [container],
                    "volumes": [
                        {"name": "config", "configMap": {"name": owner.child_name(COMPONENT)}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
    }
    return [configmap, service, deployment]
