"""One honest end-to-end: the pod the webhook admitted, run for real.

The Deployment's pod is taken from the API server as admitted. Its init container's copy step runs
against the probe image's /llmobs/probe, assembled as docker/probe.Dockerfile does (the dispatcher
bootstrap plus the project's own bundle command); then its app command runs with the pod's env
(downward-API values resolved from the pod) and volumes mapped to temporary directories, in a
fresh virtualenv holding only the app's own dependency (openai), as an app image would. The app
calls the model-server simulator through the openai SDK; its spans must reach the store with the
pod's namespace, pod name and workload.

Needs the probe (bundle command), the store and the simulator, each from its own branch: until
they are merged this test is skipped locally (and fails under CI=true) saying so.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e import _processes
from e2e._manifests import EXTERNAL_STORE, llmobs, wait_for_injection
from e2e._operator import OperatorProcess
from e2e._pod_runner import LocalPod
from e2e._waiting import wait_until
from e2e.cluster import Cluster
from llmobs_testing.prereq import require

pytestmark = pytest.mark.e2e

APPS = Path(__file__).with_name("apps")
DISPATCHER = (
    Path(__file__).resolve().parent.parent / "docker" / "probe-dispatch" / "sitecustomize.py"
)
APP_IMAGE = "registry.example/chat-app:1.0"
BIN = Path(sys.executable).parent
# The store requires this ingest token; the resource points the operator at a Secret holding it,
# so spans reach the store only if the injected probe really sends what the Secret says.
INGEST_TOKEN = secrets.token_urlsafe(24)


def _have(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@pytest.fixture(scope="module")
def parts() -> None:
    missing = [m for m in ("llmobs_probe._bundle", "llmobs_store.app", "llmobs_testing.simulator")
               if not _have(m)]  # fmt: skip
    require(not missing, f"components {', '.join(missing)} for the honest end-to-end test",
            "merge main once the probe, store and simulator branches have landed")  # fmt: skip


@pytest.fixture(scope="module")
def bundle(parts: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/llmobs/probe of the probe init image, assembled as docker/probe.Dockerfile does: the
    dispatcher bootstrap plus one ``llmobs-instrument bundle`` for the app's CPython version."""
    image = tmp_path_factory.mktemp("probe-image") / "probe"
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    done = subprocess.run(
        [str(BIN / "llmobs-instrument"), "bundle", str(image / f"python{version}"),
         "--python-version", version, "--platform", f"{platform.machine()}-manylinux_2_28"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (image / "bootstrap").mkdir()
    shutil.copy(DISPATCHER, image / "bootstrap" / "sitecustomize.py")
    return image


@pytest.fixture(scope="module")
def app_python(parts: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app image's interpreter: a fresh virtualenv with openai only (no llmobs anywhere)."""
    uv = shutil.which("uv") or str(BIN / "uv")
    env_dir = tmp_path_factory.mktemp("app-image") / "venv"
    for command in ([uv, "venv", "-q", "--python", sys.executable, str(env_dir)],
                    [uv, "pip", "install", "-q", "--python", str(env_dir / "bin" / "python"),
                     "openai>=1.60"]):  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    return env_dir / "bin"


@pytest.fixture(scope="module")
def store(parts: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``llmobs store serve`` (embedded chDB) as a local process; yields its base URL."""
    directory = tmp_path_factory.mktemp("store")
    (port,) = _processes.free_ports(1)
    command = [
        str(BIN / "llmobs"),
        "store",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        f"chdb://{directory / 'data'}",
        "--spool-dir",
        str(directory / "spool"),
    ]
    env = {**os.environ, "LLMOBS_STORE_INGEST_TOKEN": INGEST_TOKEN}
    proc = _processes.spawn(command, directory / "store.log", tie_to_parent=True, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _status(url + "/readyz") == 200, "the store ready", timeout_s=90)
        yield url
    finally:
        _processes.stop_group(proc.pid)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def simulator(parts: None) -> Iterator[str]:
    """The OpenAI-compatible model-server simulator; yields its base URL."""
    from llmobs_testing.servers import serve_app
    from llmobs_testing.simulator import SimulatorSettings, create_app

    with serve_app(create_app(SimulatorSettings())) as url:
        yield url


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except OSError:
        return 0


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_admitted_pod_runs_and_its_spans_reach_the_store(  # noqa: PLR0917 - fixtures
    cluster: Cluster, operator: OperatorProcess, bundle: Path, app_python: Path,
    store: str, simulator: str, tmp_path: Path,
) -> None:  # fmt: skip
    """The scenario; the body is below so that the namespace is always cleaned up."""
    namespace = f"e2e-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", namespace)
    try:
        _run_the_pod(cluster, namespace, bundle=bundle, app_python=app_python, store=store,
                     simulator=simulator, tmp_path=tmp_path)  # fmt: skip
    finally:
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def _run_the_pod(
    cluster: Cluster, namespace: str, *, bundle: Path, app_python: Path, store: str,
    simulator: str, tmp_path: Path,
) -> None:  # fmt: skip
    cluster.wait_for_default_service_account(namespace)
    cluster.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tokens"},
                   "stringData": {"ingest": INGEST_TOKEN}}, namespace=namespace)  # fmt: skip
    ref = {"ingestTokenSecretRef": {"name": "tokens", "key": "ingest"}}
    spec = {"store": {**EXTERNAL_STORE["store"], "auth": ref}}
    cluster.apply(llmobs("obs", spec, only=namespace), namespace=namespace)
    wait_for_injection(cluster, namespace)
    labels = {"app": "chat", "llmobs.dev/inject": "true"}
    cluster.apply({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "chat"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "chat"}}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{
                "name": "app", "image": APP_IMAGE, "command": ["python", "/app/chat.py"],
                "env": [{"name": "OPENAI_BASE_URL", "value": f"{simulator}/v1"}],
            }]},
        }},
    }, namespace=namespace)  # fmt: skip

    def admitted() -> dict[str, Any] | None:
        pods = cluster.get_json("pods", "-n", namespace, "-l", "app=chat")["items"]
        running = [p for p in pods if p["status"].get("phase") == "Running"]
        return running[0] if running else None

    pod = wait_until(admitted, "the chat pod Running", timeout_s=60)
    assert pod["metadata"]["labels"]["llmobs.dev/injection"] == "injected"
    probe_image = pod["spec"]["initContainers"][0]["image"]
    # The Secrets the pod refers to, read back from the API server as the kubelet would.
    names = {e["valueFrom"]["secretKeyRef"]["name"] for c in pod["spec"]["containers"]
             for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}  # fmt: skip
    assert names == {"tokens"}
    data = cluster.get_json("secret", "tokens", "-n", namespace)["data"]
    pod_secrets = {"tokens": {k: base64.b64decode(v).decode() for k, v in data.items()}}

    local = LocalPod(
        pod, tmp_path / "pod",
        image_files={probe_image: {"/llmobs/probe": bundle}, APP_IMAGE: {"/app": APPS}},
        image_path={probe_image: "/usr/bin:/bin", APP_IMAGE: f"{app_python}:/usr/bin:/bin"},
        services={f"obs-store.{namespace}:4318": store.removeprefix("http://")},
        secrets=pod_secrets,
    )  # fmt: skip
    app_env = local.env(pod["spec"]["containers"][0])
    assert app_env["OTEL_EXPORTER_OTLP_HEADERS"] == f"Authorization=Bearer%20{INGEST_TOKEN}"
    results = local.run_all(timeout_s=120)
    init = results["llmobs-probe-init"]
    assert init.returncode == 0, init.stderr
    assert (local.volume_dir("llmobs-probe") / "bootstrap" / "sitecustomize.py").is_file()
    app = results["app"]
    assert app.returncode == 0, f"app failed:\n{app.stdout}\n{app.stderr}"
    assert "streamed" in app.stdout

    def traces() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = _get(f"{store}/api/v1/traces?service=chat&limit=10")["items"]
        return found if len(found) >= 2 else []

    found = wait_until(traces, "two traces of service chat in the store", timeout_s=60)
    spans = [s for t in found for s in _get(f"{store}/api/v1/traces/{t['trace_id']}")["spans"]]
    llm = [s for s in spans if s.get("kind") == "LLM"]
    assert len(llm) >= 2, [s.get("name") for s in spans]
    for span in llm:
        assert span["k8s"]["namespace"] == namespace
        assert span["k8s"]["pod"] == pod["metadata"]["name"]
        assert span["k8s"]["workload"] == "chat"
        assert span["k8s"]["container"] == "app"
    assert any(s.get("ttft_ms") for s in llm), "the streamed call has a time to first token"
