"""``helm install`` of charts/llmobs into the real API server: CRD established and documented,
the operator's RBAC as narrow as it claims."""

from __future__ import annotations

import json

import pytest

from e2e.cluster import Cluster
from e2e.conftest import RELEASE

pytestmark = pytest.mark.e2e

CRD = "llmobservabilities.llmobs.dev"


def test_helm_release_is_deployed(cluster: Cluster, chart: str) -> None:
    status = json.loads(cluster.helm("status", RELEASE, "-n", chart, "-o", "json").stdout)
    assert status["info"]["status"] == "deployed"
    account = cluster.get_json("serviceaccount", f"{RELEASE}-operator", "-n", chart)
    assert account["metadata"]["name"] == f"{RELEASE}-operator"


def test_crd_is_established(cluster: Cluster, chart: str) -> None:
    crd = cluster.get_json("crd", CRD)
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions.get("Established") == "True"
    assert conditions.get("NamesAccepted") == "True"
    assert "llmobs" in crd["spec"]["names"]["shortNames"]


def test_kubectl_explain_documents_the_spec(cluster: Cluster, chart: str) -> None:
    spec = cluster.kubectl("explain", "llmobservability.spec").stdout
    for field in ("injection", "store", "gateway", "modelServers", "gpuExporter", "rum"):
        assert f"{field}\t" in spec or f"  {field}" in spec, f"{field} not documented:\n{spec}"
    sampling = cluster.kubectl("explain", "llmobservability.spec.injection.samplingRatio").stdout
    assert "Fraction of new traces" in sampling


@pytest.mark.parametrize(
    ("verb", "resource", "allowed"),
    [
        ("patch", "llmobservabilities.llmobs.dev/status", True),
        ("create", "statefulsets.apps", True),
        ("create", "mutatingwebhookconfigurations.admissionregistration.k8s.io", True),
        ("create", "pods", False),  # least privilege: the operator never makes pods itself
        ("get", "secrets", False),
        ("delete", "customresourcedefinitions.apiextensions.k8s.io", False),
    ],
)
def test_operator_rbac_is_least_privilege(
    cluster: Cluster, chart: str, verb: str, resource: str, allowed: bool
) -> None:
    subject = f"system:serviceaccount:{chart}:{RELEASE}-operator"
    answer = cluster.kubectl("auth", "can-i", verb, resource, "--as", subject, check=False)
    assert answer.stdout.strip() == ("yes" if allowed else "no"), answer.stderr
