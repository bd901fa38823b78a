"""The store: ConfigMap + Service + StatefulSet with a PVC (embedded chDB), or a Deployment that
writes to an external ClickHouse (no volume)."""

from typing import Any

from llmobs_operator import spec as s
from llmobs_operator.resources import scrape, tokens
from llmobs_operator.resources.common import (
    ANN_CONFIG_HASH,
    STORE_PORT,
    Owner,
    config_hash,
    container_security,
    metadata,
    pod_security,
    selector_labels,
)

COMPONENT = "store"
DATA_DIR = "/data"


def store_config(owner: Owner, spec: s.LLMObservabilitySpec) -> dict[str, str]:
    """Environment of the store (LLMOBS_ settings of the store component)."""
    store = spec.store
    # Names are the store's own settings (llmobs_store.settings.StoreSettings).
    env = {
        "LLMOBS_STORE_RETENTION_DAYS": str(store.retention_days),
        "LLMOBS_STORE_RUM_ENABLED": "true" if spec.rum.enabled else "false",
        "LLMOBS_STORE_RUM_ALLOWED_ORIGINS": ",".join(spec.rum.allowed_origins),
        # Model servers and GPU exporters, resolved by the operator (resources/scrape.py).
        "LLMOBS_STORE_SCRAPE_TARGETS_FILE": f"{scrape.MOUNT_DIR}/{scrape.FILE}",
        "OTEL_SERVICE_NAME": "llmobs-store",
    }
    if store.mode == "embedded":
        env["LLMOBS_STORE_DB"] = f"chdb://{DATA_DIR}/chdb"
        env["LLMOBS_STORE_SPOOL_DIR"] = f"{DATA_DIR}/spool"
    elif store.clickhouse is not None:
        env["LLMOBS_STORE_DB"] = store.clickhouse.url
        env["LLMOBS_STORE_DB_USER"] = store.clickhouse.user
        # Without a volume the write-ahead spool lives on the pod's scratch space.
        env["LLMOBS_STORE_SPOOL_DIR"] = "/tmp/llmobs-spool"
    return env


def _container(owner: Owner, spec: s.LLMObservabilitySpec) -> dict[str, Any]:
    store = spec.store
    env: list[dict[str, Any]] = tokens.store_env(owner, spec)
    if store.mode == "external" and store.clickhouse and store.clickhouse.credentials_secret_ref:
        ref = store.clickhouse.credentials_secret_ref
        env.append(
            {
                "name": "LLMOBS_STORE_DB_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}},
            }
        )
    mounts = [
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "scrape-targets", "mountPath": scrape.MOUNT_DIR, "readOnly": True},
    ]
    if store.mode == "embedded":
        mounts.append({"name": "data", "mountPath": DATA_DIR})
    return {
        "name": "store",
        "image": store.image,
        "args": ["store", "serve", "--host", "0.0.0.0", "--port", str(STORE_PORT)],
        "ports": [{"name": "otlp-http", "containerPort": STORE_PORT, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": owner.child_name(COMPONENT)}}],
        "env": env,
        "resources": store.resources.model_dump(by_alias=True),
        "readinessProbe": {"tcpSocket": {"port": STORE_PORT}, "periodSeconds": 5},
        "livenessProbe": {
            "tcpSocket": {"port": STORE_PORT},
            "initialDelaySeconds": 20,
            "periodSeconds": 20,
        },
        "securityContext": container_security(),
        "volumeMounts": mounts,
    }


def build(owner: Owner, spec: s.LLMObservabilitySpec) -> list[dict[str, Any]]:
    """ConfigMap, Service and the workload of the store."""
    name = owner.child_name(COMPONENT)
    config = store_config(owner, spec)
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(owner, COMPONENT),
        "data": config,
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(owner, COMPONENT),
        "spec": {
            "selector": selector_labels(owner, COMPONENT),
            "ports": [
                {
                    "name": "otlp-http",
                    "port": STORE_PORT,
                    "targetPort": STORE_PORT,
                    "protocol": "TCP",
                }
            ],
        },
    }
    template = {
        "metadata": {
            "labels": metadata(owner, COMPONENT)["labels"],
            "annotations": {ANN_CONFIG_HASH: config_hash(config, spec.store.model_dump())},
        },
        "spec": {
            "securityContext": pod_security(),
            "containers": [_container(owner, spec)],
            "volumes": [
                {"name": "tmp", "emptyDir": {}},
                # Optional: the store starts before the operator has listed any model server.
                {
                    "name": "scrape-targets",
                    "configMap": {"name": scrape.name(owner), "optional": True},
                },
            ],
        },
    }
    if spec.store.mode == "external":
        workload = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": metadata(owner, COMPONENT),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": selector_labels(owner, COMPONENT)},
                "template": template,
            },
        }
        return [configmap, service, workload]
    claim: dict[str, Any] = {
        "metadata": {"name": "data", "labels": metadata(owner, COMPONENT)["labels"]},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": spec.store.storage_size}},
        },
    }
    if spec.store.storage_class_name:
        claim["spec"]["storageClassName"] = spec.store.storage_class_name
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata(owner, COMPONENT),
        "spec": {
            "replicas": 1,
            "serviceName": name,
            "selector": {"matchLabels": selector_labels(owner, COMPONENT)},
            "template": template,
            "volumeClaimTemplates": [claim],
            # Without this the PVC outlives the resource; keepDataOnDelete opts into that.
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Retain" if spec.store.keep_data_on_delete else "Delete",
                "whenScaled": "Retain",
            },
        },
    }
    return [configmap, service, statefulset]
