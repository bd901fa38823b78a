"""The pod mutation on real pod specs (Dify's api and worker, a mixed pod, old/musl images)."""

import copy
from typing import Any

import pytest

from llmobs_operator import injection as inj
from llmobs_operator.spec import InjectionSpec, parse_spec

CONFIG = inj.InjectionConfig.from_spec(
    InjectionSpec(), owner="llmobs/llmobs", otlp_endpoint="http://llmobs-store.llmobs.svc:4318"
)


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def names(container: dict[str, Any]) -> list[str]:
    return [e["name"] for e in container.get("env", [])]


def test_dify_api_pod_gets_probe_env_and_gevent_patch(pod_loader: Any) -> None:
    pod = pod_loader("dify-api-pod.yaml")
    original = copy.deepcopy(pod)
    result = inj.mutate_pod(pod, CONFIG)
    assert pod == original, "the input must not be modified"
    assert result.status == "injected"
    assert result.containers == ("api",)
    out = result.pod
    init = out["spec"]["initContainers"][0]
    assert init["name"] == inj.INIT_CONTAINER_NAME
    assert init["command"] == ["cp", "-a", "/llmobs/probe/.", "/llmobs-probe/"]
    assert init["image"] == "ghcr.io/llmobs/probe:0.1.0"
    assert init["resources"]["limits"]["memory"] == "256Mi"
    assert {"name": "llmobs-probe", "emptyDir": {"sizeLimit": "200Mi"}} in out["spec"]["volumes"]
    api = out["spec"]["containers"][0]
    env = env_of(api)
    assert env["PYTHONPATH"] == "/llmobs-probe/bootstrap:/llmobs-probe/site-packages"
    assert env["OTEL_SERVICE_NAME"] == "dify-api"  # Deployment name, not the ReplicaSet's
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://llmobs-store.llmobs.svc:4318"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert env["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
    assert env["OTEL_TRACES_SAMPLER_ARG"] == "1.0"
    assert env["LLMOBS_CAPTURE_CONTENT"] == "false"
    assert env["OTEL_PYTHON_AUTO_INSTRUMENTATION_EXPERIMENTAL_GEVENT_PATCH"] == "patch_all"
    resource = env["OTEL_RESOURCE_ATTRIBUTES"]
    assert "k8s.namespace.name=$(LLMOBS_K8S_NAMESPACE)" in resource
    assert "k8s.deployment.name=dify-api" in resource
    assert "k8s.container.name=api" in resource
    # Downward-API variables are declared before the variable that references them.
    order = names(api)
    assert order.index("LLMOBS_K8S_POD_NAME") < order.index("OTEL_RESOURCE_ATTRIBUTES")
    assert env["LLMOBS_K8S_NODE_NAME"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    # The app's own variables and mounts are untouched and keep their order.
    # The app's own entries stay a prefix, in order (`kubectl apply` sees nothing to reorder).
    assert order[:3] == ["MODE", "LOG_LEVEL", "SECRET_KEY"]
    assert api["volumeMounts"][0]["name"] == "app-data"
    assert {"name": "llmobs-probe", "mountPath": "/llmobs-probe", "readOnly": True} in api[
        "volumeMounts"
    ]
    meta = out["metadata"]
    assert meta["annotations"][inj.ANN_STATUS] == "injected"
    assert meta["annotations"][inj.ANN_INJECTED] == "api"
    assert meta["labels"][inj.LABEL_STATUS] == "injected"


def test_dify_worker_keeps_its_own_init_container_after_ours(pod_loader: Any) -> None:
    out = inj.mutate_pod(pod_loader("dify-worker-pod.yaml"), CONFIG).pod
    inits = [c["name"] for c in out["spec"]["initContainers"]]
    assert inits == [inj.INIT_CONTAINER_NAME, "check-api"]
    check_api = out["spec"]["initContainers"][1]
    assert "env" not in check_api, "the app's init containers are never instrumented"
    worker = env_of(out["spec"]["containers"][0])
    assert worker["OTEL_SERVICE_NAME"] == "dify-worker"
    assert worker["OTEL_PYTHON_AUTO_INSTRUMENTATION_EXPERIMENTAL_GEVENT_PATCH"] == "patch_all"


def test_dify_with_threaded_workers_gets_no_gevent_patch(pod_loader: Any) -> None:
    pod = pod_loader("dify-api-pod.yaml")
    pod["spec"]["containers"][0]["env"].append({"name": "SERVER_WORKER_CLASS", "value": "sync"})
    env = env_of(inj.mutate_pod(pod, CONFIG).pod["spec"]["containers"][0])
    assert "OTEL_PYTHON_AUTO_INSTRUMENTATION_EXPERIMENTAL_GEVENT_PATCH" not in env


def test_app_env_wins_and_pythonpath_keeps_app_between(pod_loader: Any) -> None:
    result = inj.mutate_pod(pod_loader("mixed-pod.yaml"), CONFIG)
    assert result.containers == ("app",)
    app, proxy, helper = result.pod["spec"]["containers"]
    env = env_of(app)
    assert env["PYTHONPATH"] == "/llmobs-probe/bootstrap:/srv/lib:/llmobs-probe/site-packages"
    assert env["OTEL_SERVICE_NAME"] == "chat-frontdoor"
    assert names(app).count("OTEL_SERVICE_NAME") == 1
    # Ours first, the app's own attributes last (later keys win when the SDK parses them).
    assert env["OTEL_RESOURCE_ATTRIBUTES"].endswith(",deployment.environment=prod")
    order = names(app)
    assert order.index("LLMOBS_K8S_NAMESPACE") < order.index("OTEL_RESOURCE_ATTRIBUTES")
    assert "k8s.statefulset.name=chat" in env["OTEL_RESOURCE_ATTRIBUTES"]
    assert "env" not in proxy
    assert "volumeMounts" not in proxy
    assert "env" not in helper
    reason = result.pod["metadata"]["annotations"][inj.ANN_REASON]
    assert "container proxy: not recognised as Python" in reason
    assert "container helper: musl libc image (python:3.12-alpine)" in reason


def test_readmission_is_a_no_op(pod_loader: Any) -> None:
    for name in ("dify-api-pod.yaml", "mixed-pod.yaml", "old-python-pod.yaml"):
        once = inj.mutate_pod(pod_loader(name), CONFIG).pod
        twice = inj.mutate_pod(once, CONFIG)
        assert twice.pod == once, name


def test_old_python_is_skipped_with_reason(pod_loader: Any) -> None:
    result = inj.mutate_pod(pod_loader("old-python-pod.yaml"), CONFIG)
    assert result.status == "skipped"
    assert "CPython 3.8 is outside the supported 3.9-3.13" in result.reason
    assert "initContainers" not in result.pod["spec"]
    assert result.pod["metadata"]["labels"][inj.LABEL_STATUS] == "skipped"


@pytest.mark.parametrize("tag", ["3.9-slim", "3.11", "3.13-bookworm"])
def test_supported_python_images_are_injected(tag: str) -> None:
    container = {"name": "c", "image": f"python:{tag}", "command": ["python", "main.py"]}
    assert inj.classify_container(container, forced=False) is None


def test_opt_out_annotation_and_skip_containers(pod_loader: Any) -> None:
    pod = pod_loader("dify-api-pod.yaml")
    pod["metadata"]["annotations"][inj.ANN_INJECT] = "false"
    assert inj.mutate_pod(pod, CONFIG).status == "skipped"
    pod = pod_loader("dify-api-pod.yaml")
    pod["metadata"]["annotations"][inj.ANN_SKIP_CONTAINERS] = "api"
    result = inj.mutate_pod(pod, CONFIG)
    assert result.status == "skipped"
    assert "opted out" in result.reason


def test_forced_container_overrides_detection(pod_loader: Any) -> None:
    pod = pod_loader("mixed-pod.yaml")
    pod["metadata"].setdefault("annotations", {})[inj.ANN_CONTAINERS] = "proxy"
    result = inj.mutate_pod(pod, CONFIG)
    assert result.containers == ("proxy",)


def test_pythonpath_from_valuefrom_is_not_clobbered() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "a"},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "python:3.11",
                    "env": [
                        {
                            "name": "PYTHONPATH",
                            "valueFrom": {"configMapKeyRef": {"name": "x", "key": "y"}},
                        }
                    ],
                }
            ]
        },
    }
    result = inj.mutate_pod(pod, CONFIG)
    assert result.status == "skipped"
    assert "valueFrom" in result.reason


def test_spec_settings_reach_the_env(pod_loader: Any) -> None:
    spec = parse_spec(
        {
            "injection": {
                "captureContent": True,
                "samplingRatio": 0.25,
                "image": "registry.local/probe:dev",
                "extraEnv": [
                    {"name": "LLMOBS_REDACT", "value": "emails"},
                    {"name": "MODE", "value": "x"},
                ],
            }
        }
    )
    config = inj.InjectionConfig.from_spec(
        spec.injection, owner="o/n", otlp_endpoint="http://s:4318"
    )
    out = inj.mutate_pod(pod_loader("dify-api-pod.yaml"), config).pod
    env = env_of(out["spec"]["containers"][0])
    assert env["LLMOBS_CAPTURE_CONTENT"] == "true"
    assert env["OTEL_TRACES_SAMPLER_ARG"] == "0.25"
    assert env["LLMOBS_REDACT"] == "emails"
    assert env["MODE"] == "api", "extra env never overrides the app's value"
    assert out["spec"]["initContainers"][0]["image"] == "registry.local/probe:dev"


def test_mark_failed_admits_unchanged_with_reason(pod_loader: Any) -> None:
    pod = pod_loader("dify-api-pod.yaml")
    out = inj.mark_failed(pod, "o/n", RuntimeError("boom"))
    assert out["spec"] == pod["spec"]
    assert out["metadata"]["annotations"][inj.ANN_REASON] == "injection failed: RuntimeError: boom"
    assert out["metadata"]["labels"][inj.LABEL_STATUS] == "failed"


@pytest.mark.parametrize(
    ("owner", "labels", "expected"),
    [
        (
            {"kind": "ReplicaSet", "name": "web-5d8f"},
            {"pod-template-hash": "5d8f"},
            ("k8s.deployment.name", "web"),
        ),
        ({"kind": "ReplicaSet", "name": "bare-rs"}, {}, ("k8s.replicaset.name", "bare-rs")),
        ({"kind": "DaemonSet", "name": "agent"}, {}, ("k8s.daemonset.name", "agent")),
        ({"kind": "Job", "name": "nightly-29000000"}, {}, ("k8s.cronjob.name", "nightly")),
        ({"kind": "Job", "name": "migrate"}, {}, ("k8s.job.name", "migrate")),
    ],
)
def test_workload_of(
    owner: dict[str, str], labels: dict[str, str], expected: tuple[str, str]
) -> None:
    pod = {"metadata": {"ownerReferences": [owner], "labels": labels}}
    assert inj.workload_of(pod) == expected


def test_workload_fallbacks() -> None:
    assert inj.workload_of({"metadata": {"labels": {"app": "x"}}}) == ("", "x")
    assert inj.workload_of({"metadata": {"generateName": "job-"}}) == ("", "job")


def test_env_provided_by_envfrom_can_be_declared(pod_loader: Any) -> None:
    pod = pod_loader("dify-api-pod.yaml")
    pod["metadata"]["annotations"][inj.ANN_APP_ENV] = "OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER"
    env = env_of(inj.mutate_pod(pod, CONFIG).pod["spec"]["containers"][0])
    assert "OTEL_SERVICE_NAME" not in env
    assert "OTEL_TRACES_SAMPLER" not in env
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://llmobs-store.llmobs.svc:4318"
