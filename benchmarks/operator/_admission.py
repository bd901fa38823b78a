"""Webhook admission latency and time from ``kubectl apply`` to Ready, on the real control plane.

Admission: pods are created one at a time over one keep-alive HTTPS connection to the API server,
alternating a pod the webhook mutates (labelled) with one it never sees (unlabelled: excluded by
the webhook's objectSelector, so the API server does not call it). The added latency is the
difference of the two distributions; the API server's own histogram of webhook call durations
(``apiserver_admission_webhook_admission_duration_seconds``) is reported beside it.
"""

from __future__ import annotations

import base64
import functools
import http.client
import json
import ssl
import statistics
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

from e2e._manifests import EXTERNAL_STORE, condition, llmobs, python_pod, wait_for_injection
from e2e._operator import OperatorProcess
from e2e._waiting import wait_until
from e2e.cluster import Cluster


def percentile(samples: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``samples``, nearest-rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _connection(cluster: Cluster) -> http.client.HTTPSConnection:
    cluster.guard()
    assert cluster.state is not None
    return http.client.HTTPSConnection(
        "127.0.0.1", cluster.state.apiserver_port, context=cluster.ssl_context(), timeout=30
    )


def _create(conn: http.client.HTTPSConnection, namespace: str, pod: dict[str, Any]) -> float:
    body = json.dumps(pod)
    started = time.perf_counter()
    conn.request("POST", f"/api/v1/namespaces/{namespace}/pods", body,
                 {"Content-Type": "application/json"})  # fmt: skip
    response = conn.getresponse()
    payload = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 201:
        raise RuntimeError(f"pod creation answered {response.status}: {payload[:300]!r}")
    return elapsed


def _webhook_histogram(cluster: Cluster, name_prefix: str) -> dict[str, float]:
    """p50/p99 (ms) of the API server's webhook-call histogram for our webhook, by bucket bounds."""
    assert cluster.state is not None
    conn = _connection(cluster)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    buckets: dict[float, float] = {}
    for line in text.splitlines():
        if not line.startswith("apiserver_admission_webhook_admission_duration_seconds_bucket{"):
            continue
        if f'name="{name_prefix}' not in line or 'type="admit"' not in line:
            continue
        le = line.split('le="', 1)[1].split('"', 1)[0]
        bound = float("inf") if le == "+Inf" else float(le)
        buckets[bound] = buckets.get(bound, 0.0) + float(line.rsplit(" ", 1)[1])
    if not buckets:
        return {}
    total = buckets[float("inf")]

    def quantile(q: float) -> float:
        for bound in sorted(buckets):
            if buckets[bound] >= q * total:
                return bound * 1000
        return float("inf")

    return {"calls": total, "p50_le_ms": quantile(0.5), "p99_le_ms": quantile(0.99)}


def _direct_webhook(
    cluster: Cluster, namespace: str, requests: int, *, fresh: bool
) -> dict[str, float]:
    """The operator's webhook server alone: AdmissionReviews POSTed straight to its URL, over one
    keep-alive connection or (``fresh``) a new TLS connection per request."""
    hook = cluster.get_json("mutatingwebhookconfiguration", "llmobs-inject")
    entry = next(w for w in hook["webhooks"] if w["name"].startswith(f"obs.{namespace}."))
    url = urllib.parse.urlsplit(entry["clientConfig"]["url"])
    context = ssl.create_default_context(
        cadata=base64.b64decode(entry["clientConfig"]["caBundle"]).decode()
    )
    conn = http.client.HTTPSConnection(url.hostname or "", url.port, context=context, timeout=30)
    # As the API server sends it: defaulted by the API server (an admitted unlabelled pod), with
    # the label that selects it, without the status it gained afterwards.
    pod = cluster.get_json("pod", "out-0", "-n", namespace)
    pod.pop("status", None)
    pod["metadata"].pop("managedFields", None)
    pod["metadata"]["labels"]["llmobs.dev/inject"] = "true"
    samples = []
    try:
        for i in range(requests):
            review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
                "uid": f"bench-{i}", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": namespace, "operation": "CREATE", "dryRun": False,
                "userInfo": {"username": "bench"}, "object": pod}}  # fmt: skip
            started = time.perf_counter()
            if fresh:
                conn.close()
                conn = http.client.HTTPSConnection(
                    url.hostname or "", url.port, context=context, timeout=30
                )
            conn.request("POST", f"{url.path}?{url.query}", json.dumps(review),
                         {"Content-Type": "application/json"})  # fmt: skip
            answer = json.loads(conn.getresponse().read())
            samples.append((time.perf_counter() - started) * 1000)
            assert answer["response"].get("patch"), "the webhook did not mutate the pod"
    finally:
        conn.close()
    return {"requests": requests, "p50_ms": round(percentile(samples, 0.5), 2),
            "p99_ms": round(percentile(samples, 0.99), 2)}  # fmt: skip


def admission(cluster: Cluster, pods: int) -> dict[str, Any]:
    """Create ``pods`` labelled and ``pods`` unlabelled pods, interleaved; latencies in ms."""
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", namespace)
    cluster.wait_for_default_service_account(namespace)
    cluster.apply(llmobs("obs", EXTERNAL_STORE, only=namespace), namespace=namespace)
    wait_for_injection(cluster, namespace)
    conn = _connection(cluster)
    injected: list[float] = []
    plain: list[float] = []
    try:
        for i in range(pods):
            injected.append(_create(conn, namespace, python_pod(f"in-{i}")) * 1000)
            plain.append(_create(conn, namespace, python_pod(f"out-{i}", inject=False)) * 1000)
    finally:
        conn.close()
    check = cluster.get_json("pod", f"in-{pods - 1}", "-n", namespace)
    assert check["metadata"]["labels"].get("llmobs.dev/injection") == "injected"
    hook = _webhook_histogram(cluster, f"obs.{namespace}.")
    direct = {
        "keep_alive": _direct_webhook(cluster, namespace, min(pods, 300), fresh=False),
        "new_tls_connection_each": _direct_webhook(cluster, namespace, min(pods, 300), fresh=True),
    }
    cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
    result: dict[str, Any] = {
        "pods_each": pods, "apiserver_webhook_histogram": hook, "webhook_server_direct": direct,
    }  # fmt: skip
    for label, samples in (("with_webhook", injected), ("without_webhook", plain)):
        result[label] = {
            "p50_ms": round(percentile(samples, 0.5), 2),
            "p99_ms": round(percentile(samples, 0.99), 2),
            "mean_ms": round(statistics.fmean(samples), 2),
        }
    result["added_p50_ms"] = round(
        result["with_webhook"]["p50_ms"] - result["without_webhook"]["p50_ms"], 2
    )
    result["added_p99_ms"] = round(
        result["with_webhook"]["p99_ms"] - result["without_webhook"]["p99_ms"], 2
    )
    return result


def _ready(cluster: Cluster, namespace: str) -> bool:
    resource = cluster.get_json("llmobs", "obs", "-n", namespace)
    return condition(resource, "Ready").get("status") == "True"


def apply_to_ready(cluster: Cluster, rounds: int, scratch: Path) -> dict[str, Any]:
    """Seconds from ``kubectl apply`` of a resource (external store + gateway) to Ready=True."""
    spec = {
        **EXTERNAL_STORE,
        "gateway": {"enabled": True, "upstreams": [{"name": "s", "baseUrl": "http://s/v1"}]},
    }
    samples = []
    for _ in range(rounds):
        namespace = f"ready-{uuid.uuid4().hex[:6]}"
        cluster.kubectl("create", "namespace", namespace)
        cluster.wait_for_default_service_account(namespace)
        manifest = json.dumps(llmobs("obs", spec, only=namespace))
        started = time.monotonic()
        cluster.kubectl("apply", "-n", namespace, "-f", "-", input=manifest)
        wait_until(functools.partial(_ready, cluster, namespace), "Ready", 180, interval_s=0.1)
        samples.append(round(time.monotonic() - started, 2))
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
    del scratch
    return {"samples_s": samples, "median_s": statistics.median(samples)}


def operator_for(
    cluster: Cluster, namespace: str, directory: Path, resync_s: float
) -> OperatorProcess:
    """The chart's operator as a local process (see e2e/_operator.py)."""
    process = OperatorProcess(cluster, namespace, "llmobs-operator", directory, resync_s=resync_s)
    process.start()
    return process
