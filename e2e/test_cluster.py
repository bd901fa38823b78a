"""The cluster provider itself: a real API server, scheduling onto the kwok node, the
controller-manager's controllers, the guard, and a teardown that leaves no process behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from e2e import _processes
from e2e._waiting import wait_until
from e2e.cluster import COMPONENTS, NODE_NAME, Cluster, ForeignClusterError

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent


def _pod(name: str, labels: dict[str, str] | None = None) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"app": name}},
        "spec": {"containers": [{"name": "app", "image": "python:3.11-slim"}]},
    }


def test_api_server_answers_with_the_built_version(cluster: Cluster) -> None:
    version = cluster.api_get("/version")
    assert version["gitVersion"] == "v1.36.3"
    assert cluster.server.startswith("https://127.0.0.1:")
    resources = cluster.kubectl("api-resources", "-o", "name").stdout.split()
    assert "mutatingwebhookconfigurations.admissionregistration.k8s.io" in resources
    assert "customresourcedefinitions.apiextensions.k8s.io" in resources


def test_pod_on_the_kwok_node_becomes_running(cluster: Cluster, namespace: str) -> None:
    cluster.apply(_pod("lonely"), namespace=namespace)

    def running() -> dict[str, Any] | None:
        pod = cluster.get_json("pod", "lonely", "-n", namespace)
        return pod if pod["status"].get("phase") == "Running" else None

    pod = wait_until(running, "pod lonely Running", timeout_s=30)
    assert pod["spec"]["nodeName"] == NODE_NAME  # placed by the real scheduler
    assert pod["status"]["podIP"].startswith("10.244.")


def test_deployment_creates_a_replicaset_and_running_pods(cluster: Cluster, namespace: str) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]},
            },
        },
    }
    cluster.apply(deployment, namespace=namespace)
    wait_until(
        lambda: (
            cluster.get_json("deployment", "web", "-n", namespace)["status"].get(
                "availableReplicas"
            )
            == 2
        ),
        "deployment web available with 2 replicas",
        timeout_s=60,
    )
    replicasets = cluster.get_json("replicasets", "-n", namespace)["items"]
    assert [rs["metadata"]["ownerReferences"][0]["name"] for rs in replicasets] == ["web"]
    pods = cluster.get_json("pods", "-n", namespace, "-l", "app=web")["items"]
    assert len(pods) == 2
    assert {p["status"]["phase"] for p in pods} == {"Running"}


def test_garbage_collector_removes_an_owned_configmap(cluster: Cluster, namespace: str) -> None:
    cluster.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}},
        namespace=namespace,
    )
    owner = cluster.get_json("configmap", "owner", "-n", namespace)
    owned = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "owned",
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "name": "owner",
                    "uid": owner["metadata"]["uid"],
                }
            ],
        },
    }
    cluster.apply(owned, namespace=namespace)
    cluster.kubectl("delete", "configmap", "owner", "-n", namespace)
    wait_until(
        lambda: (
            cluster.kubectl("get", "configmap", "owned", "-n", namespace, check=False).returncode
            != 0
        ),
        "the garbage collector to delete the owned ConfigMap",
        timeout_s=60,
    )


def test_guard_refuses_a_kubeconfig_for_another_server(cluster: Cluster, tmp_path: Path) -> None:
    config = json.loads(cluster.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:6443"
    foreign = tmp_path / "foreign.kubeconfig"
    foreign.write_text(json.dumps(config))
    with pytest.raises(ForeignClusterError, match="not this session's API server"):
        cluster.kubectl("get", "nodes", kubeconfig=foreign)


def test_cli_up_env_down_leaves_no_process(cluster: Cluster, tmp_path: Path) -> None:
    """The by-hand path: a second, detached control plane, used with kubectl, then stopped."""
    directory = tmp_path / "by-hand"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env["PYTHONPATH"] = str(REPO)

    def cli(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "e2e.cluster", *args, "--dir", str(directory)],
            capture_output=True,
            text=True,
            timeout=180,
            env=env,
            cwd=REPO,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "control plane up" in cli("up")
    state = json.loads(cli("status"))
    pids = state["pids"]
    assert set(pids) == set(COMPONENTS)
    try:
        exports = dict(
            line.removeprefix("export ").split("=", 1) for line in cli("env").splitlines()
        )
        shell_env = {
            **env,
            "KUBECONFIG": exports["KUBECONFIG"],
            "PATH": exports["PATH"].replace("$PATH", env["PATH"]),
        }
        nodes = subprocess.run(
            ["kubectl", "get", "nodes", "-o", "name"],
            capture_output=True,
            text=True,
            timeout=30,
            env=shell_env,
        )
        assert nodes.stdout.strip() == f"node/{NODE_NAME}", nodes.stderr
        assert f"127.0.0.1:{state['apiserver_port']}" in Path(exports["KUBECONFIG"]).read_text()
    finally:
        assert "stopped" in cli("down")
    for component, pid in pids.items():
        assert _processes.group_members(pid) == [], f"{component} left processes behind"
    assert not (directory / "state.json").exists()


def test_control_plane_dies_with_a_killed_session(
    binaries: dict[str, Path], tmp_path: Path
) -> None:
    """Even a session killed with SIGKILL (no atexit) leaves nothing behind: PR_SET_PDEATHSIG."""
    script = (
        "import json, sys, time\n"
        "from pathlib import Path\n"
        "from e2e.cluster import Cluster\n"
        f"c = Cluster(Path({str(tmp_path / 'doomed')!r}), {{k: Path(v) for k, v in "
        f"{ {k: str(v) for k, v in binaries.items()}!r}.items()}})\n"
        "c.start(tie_to_parent=True)\n"
        "print(json.dumps(c.pids()), flush=True)\n"
        "time.sleep(300)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env["PYTHONPATH"] = str(REPO)
    session = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    try:
        assert session.stdout is not None
        pids: dict[str, int] = json.loads(session.stdout.readline() or "{}")
        assert set(pids) == set(COMPONENTS)
        assert all(_processes.alive(pid) for pid in pids.values())
    finally:
        session.kill()
        session.wait(timeout=10)
        if session.stdout is not None:
            session.stdout.close()
    wait_until(
        lambda: not [pid for pid in pids.values() if _processes.alive(pid)],
        "every component to die with its session", timeout_s=30,
    )  # fmt: skip
