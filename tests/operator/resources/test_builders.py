"""Builders as data in, data out: store, gateway, GPU exporter and the webhook configuration."""

from typing import Any

from llmobs_operator.resources import common, exporters, gateway, store, webhook
from llmobs_operator.selectors import Candidate
from llmobs_operator.spec import parse_spec

OWNER = common.Owner("llmobs", "obs", "uid-1")


def by_kind(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["kind"]: m for m in manifests}


def test_embedded_store_is_statefulset_with_pvc_and_owner() -> None:
    spec = parse_spec(
        {"store": {"storageSize": "20Gi", "storageClassName": "fast", "retentionDays": 7}}
    )
    kinds = by_kind(store.build(OWNER, spec))
    assert set(kinds) == {"ConfigMap", "Service", "StatefulSet"}
    sts = kinds["StatefulSet"]
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert claim["spec"]["storageClassName"] == "fast"
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"
    for m in kinds.values():
        assert m["metadata"]["ownerReferences"] == [OWNER.reference()]
        assert m["metadata"]["namespace"] == "obs"
    assert kinds["Service"]["spec"]["ports"][0]["port"] == 4318
    assert kinds["ConfigMap"]["data"]["LLMOBS_STORE_RETENTION_DAYS"] == "7"
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:2] == ["store", "serve"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_external_store_is_a_deployment_without_volume_and_with_secret() -> None:
    spec = parse_spec(
        {
            "store": {
                "mode": "external",
                "clickhouse": {
                    "url": "https://ch:8443/db",
                    "credentialsSecretRef": {"name": "ch", "key": "pw"},
                },
            }
        }
    )
    kinds = by_kind(store.build(OWNER, spec))
    assert set(kinds) == {"ConfigMap", "Service", "Deployment"}
    container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    # After the two tokens (tests/operator/resources/test_tokens.py).
    assert container["env"][2:] == [
        {
            "name": "LLMOBS_STORE_DB_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "ch", "key": "pw"}},
        }
    ]
    assert kinds["ConfigMap"]["data"]["LLMOBS_STORE_DB"] == "https://ch:8443/db"
    assert "pw" not in str(kinds["ConfigMap"]), "secrets are referenced, never copied"


def test_config_change_changes_the_pod_template_hash() -> None:
    a = by_kind(store.build(OWNER, parse_spec({})))["StatefulSet"]
    b = by_kind(store.build(OWNER, parse_spec({"store": {"retentionDays": 9}})))["StatefulSet"]
    ann = common.ANN_CONFIG_HASH
    assert (
        a["spec"]["template"]["metadata"]["annotations"][ann]
        != b["spec"]["template"]["metadata"]["annotations"][ann]
    )


def test_store_reads_scrape_targets_from_a_mounted_file() -> None:
    sts = by_kind(store.build(OWNER, parse_spec({})))["StatefulSet"]
    data = by_kind(store.build(OWNER, parse_spec({})))["ConfigMap"]["data"]
    assert data["LLMOBS_STORE_SCRAPE_TARGETS_FILE"] == "/etc/llmobs/scrape/targets.json"
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    assert volumes["scrape-targets"]["configMap"] == {
        "name": "llmobs-scrape-targets",
        "optional": True,
    }


def test_gateway_disabled_builds_nothing_and_enabled_references_secrets() -> None:
    assert gateway.build(OWNER, parse_spec({})) == []
    spec = parse_spec(
        {
            "gateway": {
                "enabled": True,
                "replicas": 3,
                "upstreams": [
                    {
                        "name": "openai",
                        "baseUrl": "https://api.openai.com/v1",
                        "apiKeySecretRef": {"name": "k", "key": "openai"},
                    },
                    {"name": "local-vllm", "baseUrl": "http://vllm:8000/v1", "priority": 1},
                ],
            }
        }
    )
    kinds = by_kind(gateway.build(OWNER, spec))
    assert kinds["Deployment"]["spec"]["replicas"] == 3
    container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": 4000}
    env = {
        e["name"]: e
        for e in kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["LLMOBS_GATEWAY_KEY_OPENAI"]["valueFrom"]["secretKeyRef"] == {
        "name": "k",
        "key": "openai",
    }
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"] == "http://llmobs-store.obs.svc:4318"
    config = kinds["ConfigMap"]["data"]["gateway.yaml"]
    assert "api_key_env: LLMOBS_GATEWAY_KEY_OPENAI" in config
    assert "local-vllm" in config
    assert kinds["Service"]["spec"]["ports"][0]["port"] == 4000


def test_gpu_exporter() -> None:
    assert exporters.build(OWNER, parse_spec({})) == []
    ds = exporters.build(OWNER, parse_spec({"gpuExporter": {"enabled": True}}))[0]
    assert ds["kind"] == "DaemonSet"
    assert ds["spec"]["template"]["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}


def test_desired_children_names_are_unique() -> None:
    spec = parse_spec(
        {"gateway": {"enabled": True, "upstreams": [{"name": "a", "baseUrl": "http://a"}]}}
    )
    manifests = common.desired_children(OWNER, spec)
    assert len(common.children_of(manifests)) == len(manifests) == 6


def test_webhook_configuration_by_url_and_by_service() -> None:
    cands = [
        Candidate(
            "obs",
            "llmobs",
            "2026-01-01T00:00:00Z",
            {"matchLabels": {"llmobs.dev/inject": "true"}},
            {},
        ),
        Candidate("b", "off", "2026-01-01T00:00:00Z", {}, {}, enabled=False),
    ]
    by_url = webhook.build(
        name="llmobs-inject",
        candidates=cands,
        client=webhook.client_config(ca_bundle_b64="Q0E=", url="https://127.0.0.1:9443"),
        operator_namespace="obs",
    )
    assert [w["name"] for w in by_url["webhooks"]] == ["llmobs.obs.inject.llmobs.dev"]
    hook = by_url["webhooks"][0]
    assert hook["clientConfig"] == {"caBundle": "Q0E=", "url": "https://127.0.0.1:9443/inject"}
    assert hook["failurePolicy"] == "Ignore"
    assert hook["sideEffects"] == "None"
    assert hook["timeoutSeconds"] <= 5
    assert hook["objectSelector"] == {"matchLabels": {"llmobs.dev/inject": "true"}}
    excluded = hook["namespaceSelector"]["matchExpressions"][-1]
    assert excluded["operator"] == "NotIn"
    assert {"kube-system", "obs"} <= set(excluded["values"])
    svc = webhook.client_config(ca_bundle_b64="Q0E=", service=("llmobs-webhook", "obs", 443))
    assert svc["service"] == {
        "name": "llmobs-webhook",
        "namespace": "obs",
        "port": 443,
        "path": "/inject",
    }
