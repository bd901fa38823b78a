"""The store's tokens in the operator's builders (issue 12, item 6): the store reads both from a
Secret, the gateway and injected probes send the ingest token, and the generated Secret holds
fresh random tokens."""

from typing import Any

from llmobs_operator.injection import mutate_pod
from llmobs_operator.reconciler import entry_from_body
from llmobs_operator.resources import common, gateway, store, tokens
from llmobs_operator.spec import parse_spec

OWNER = common.Owner("llmobs", "obs", "uid-1")
GATEWAY = {
    "enabled": True,
    "upstreams": [{"name": "openai", "baseUrl": "https://api.openai.com/v1"}],
}


def _container(manifests: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    workload = next(m for m in manifests if m["kind"] == kind)
    container: dict[str, Any] = workload["spec"]["template"]["spec"]["containers"][0]
    return container


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_by_default_the_store_reads_generated_tokens() -> None:
    spec = parse_spec({})
    env = _env(_container(store.build(OWNER, spec), "StatefulSet"))
    assert env["LLMOBS_STORE_INGEST_TOKEN"] == {
        "secretKeyRef": {"name": "llmobs-store-tokens", "key": "ingest-token"}
    }
    assert env["LLMOBS_STORE_QUERY_TOKEN"] == {
        "secretKeyRef": {"name": "llmobs-store-tokens", "key": "query-token"}
    }
    assert tokens.needs_generated_secret(spec)
    first, second = tokens.secret(OWNER), tokens.secret(OWNER)
    assert first["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    data = first["stringData"]
    assert set(data) == {"ingest-token", "query-token"}
    assert data["ingest-token"] != data["query-token"]
    assert all(len(v) >= 40 and v.isascii() for v in data.values())
    assert data != second["stringData"]


def test_secret_refs_of_the_users_own_and_auth_off() -> None:
    spec = parse_spec(
        {
            "store": {
                "auth": {
                    "ingestTokenSecretRef": {"name": "mine", "key": "in"},
                    "queryTokenSecretRef": {"name": "mine", "key": "q"},
                }
            }
        }
    )
    env = _env(_container(store.build(OWNER, spec), "StatefulSet"))
    assert env["LLMOBS_STORE_INGEST_TOKEN"]["secretKeyRef"] == {"name": "mine", "key": "in"}
    assert env["LLMOBS_STORE_QUERY_TOKEN"]["secretKeyRef"] == {"name": "mine", "key": "q"}
    assert not tokens.needs_generated_secret(spec)
    off = parse_spec({"store": {"auth": {"enabled": False}}, "gateway": GATEWAY})
    assert "LLMOBS_STORE_INGEST_TOKEN" not in _env(
        _container(store.build(OWNER, off), "StatefulSet")
    )
    assert "OTEL_EXPORTER_OTLP_HEADERS" not in _env(
        _container(gateway.build(OWNER, off), "Deployment")
    )
    assert not tokens.needs_generated_secret(off)


def test_the_gateway_exports_with_the_ingest_token() -> None:
    spec = parse_spec({"gateway": GATEWAY})
    env = _container(gateway.build(OWNER, spec), "Deployment")["env"]
    names = [e["name"] for e in env]
    # $(VAR) expansion only sees variables defined earlier in the list.
    assert names.index("LLMOBS_INGEST_TOKEN") < names.index("OTEL_EXPORTER_OTLP_HEADERS")
    by_name = _env({"env": env})
    assert by_name["LLMOBS_INGEST_TOKEN"]["secretKeyRef"]["key"] == "ingest-token"
    assert by_name["OTEL_EXPORTER_OTLP_HEADERS"] == "Authorization=Bearer%20$(LLMOBS_INGEST_TOKEN)"


def test_injected_probes_export_with_the_ingest_token(pod_loader: Any) -> None:
    body = {"metadata": {"name": "llmobs", "namespace": "obs", "uid": "u"}, "spec": {}}
    config = entry_from_body(body).config
    pod = {
        "metadata": {"name": "app", "namespace": "obs"},
        "spec": {"containers": [{"name": "app", "image": "python:3.12", "command": ["python"]}]},
    }
    result = mutate_pod(pod, config)
    env = result.pod["spec"]["containers"][0]["env"]
    names = [e["name"] for e in env]
    assert names.index("LLMOBS_INGEST_TOKEN") < names.index("OTEL_EXPORTER_OTLP_HEADERS")
    ref = _env({"env": env})["LLMOBS_INGEST_TOKEN"]["secretKeyRef"]
    # optional: a pod in a namespace without the Secret must still start.
    assert ref == {"name": "llmobs-store-tokens", "key": "ingest-token", "optional": True}
    # The app's own header wins.
    own = {"name": "OTEL_EXPORTER_OTLP_HEADERS", "value": "x-tenant=a"}
    pod["spec"]["containers"][0]["env"] = [own]
    env = mutate_pod(pod, config).pod["spec"]["containers"][0]["env"]
    assert [e for e in env if e["name"] == "OTEL_EXPORTER_OTLP_HEADERS"] == [own]
