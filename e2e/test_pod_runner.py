"""The local pod runner resolves a pod's env and paths the way the kubelet would (no cluster)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from e2e._pod_runner import LocalPod

POD: dict[str, Any] = {
    "metadata": {"name": "chat-7d9f-abcde", "namespace": "team", "uid": "u-1",
                 "labels": {"app": "chat"}},
    "spec": {
        "nodeName": "node-a",
        "volumes": [{"name": "probe", "emptyDir": {}}],
        "containers": [{
            "name": "app", "image": "app:1", "command": ["python", "/app/main.py"],
            "volumeMounts": [{"name": "probe", "mountPath": "/llmobs-probe"}],
            "env": [
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                {"name": "ATTRS", "value": "k8s.pod.name=$(POD),node=$(NODE),app=$(APP)"},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "PYTHONPATH", "value": "/llmobs-probe/bootstrap:/opt/lib:/app"},
                {"name": "OTLP", "value": "http://obs-store.team.svc:4318/v1/traces"},
            ],
        }],
    },
}  # fmt: skip


def _local(tmp_path: Path, services: dict[str, str]) -> LocalPod:
    return LocalPod(POD, tmp_path, image_files={"app:1": {"/app": tmp_path / "image"}},
                    services=services)  # fmt: skip


def test_env_resolves_downward_api_and_earlier_references_only(tmp_path: Path) -> None:
    env = _local(tmp_path, {"obs-store.team:4318": "127.0.0.1:9999"}).env(
        POD["spec"]["containers"][0]
    )
    assert env["POD"] == "chat-7d9f-abcde"
    assert env["APP"] == "chat"
    # $(NODE) is declared after ATTRS, so, as in Kubernetes, it stays unexpanded.
    assert env["ATTRS"] == "k8s.pod.name=chat-7d9f-abcde,node=$(NODE),app=chat"
    assert env["OTLP"] == "http://127.0.0.1:9999/v1/traces"


def test_paths_map_to_volumes_and_image_files(tmp_path: Path) -> None:
    env = _local(tmp_path, {"obs-store.team:4318": "127.0.0.1:1"}).env(POD["spec"]["containers"][0])
    parts = env["PYTHONPATH"].split(":")
    assert parts == [str(tmp_path / "volumes" / "probe" / "bootstrap"), "/opt/lib",
                     str(tmp_path / "image")]  # fmt: skip


def test_an_unmapped_service_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match=r"obs-store\.team:4318"):
        _local(tmp_path, {}).env(POD["spec"]["containers"][0])


def test_secret_key_refs_resolve_and_a_missing_optional_one_is_left_unset(tmp_path: Path) -> None:
    container = {"name": "app", "image": "app:1", "env": [
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "t", "key": "ingest"}}},
        {"name": "HEADERS", "value": "Authorization=Bearer%20$(TOKEN)"},
        {"name": "GONE", "valueFrom": {"secretKeyRef": {"name": "x", "key": "k",
                                                        "optional": True}}},
    ]}  # fmt: skip
    pod = LocalPod(POD, tmp_path, secrets={"t": {"ingest": "s3cret"}})
    env = pod.env(container)
    assert env == {"TOKEN": "s3cret", "HEADERS": "Authorization=Bearer%20s3cret"}
    required = {**container, "env": [{"name": "T", "valueFrom": {"secretKeyRef": {
        "name": "t", "key": "query"}}}]}  # fmt: skip
    with pytest.raises(KeyError, match="Secret t has no key query"):
        pod.env(required)
