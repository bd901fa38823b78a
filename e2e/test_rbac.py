"""The RBAC check itself: the operator runs with the chart's ServiceAccount token, and a denial in
its log fails the test that caused it. Proved here with a deliberately narrowed copy of the
chart's ClusterRole (pods: list removed), so the check cannot silently pass."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from e2e._manifests import EXTERNAL_STORE, llmobs
from e2e._operator import OperatorProcess
from e2e._waiting import wait_until
from e2e.cluster import Cluster
from e2e.conftest import RELEASE

pytestmark = pytest.mark.e2e


def test_a_missing_permission_is_caught(
    cluster: Cluster,
    chart: str,
    operator: OperatorProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    suffix = uuid.uuid4().hex[:6]
    account, role, namespace = f"narrow-{suffix}", f"e2e-narrow-{suffix}", f"rbac-{suffix}"
    rules: list[dict[str, Any]] = cluster.get_json("clusterrole", f"{RELEASE}-operator")["rules"]
    narrowed = [r for r in rules if r.get("resources") != ["pods"]]
    assert len(narrowed) == len(rules) - 1, "the chart's role lists pods in a rule of its own"
    cluster.kubectl("create", "serviceaccount", account, "-n", chart)
    cluster.apply(
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": role}, "rules": narrowed},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": role},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
         "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": chart}]},
    )  # fmt: skip
    narrow = OperatorProcess(
        cluster, chart, account, tmp_path_factory.mktemp("narrow-operator"), peering="standalone",
        extra_env={"LLMOBS_OPERATOR_WEBHOOK_CONFIG_NAME": role},
    )  # fmt: skip
    cluster.kubectl("create", "namespace", namespace)
    try:
        narrow.start()
        cluster.apply(llmobs("obs", EXTERNAL_STORE, only=namespace), namespace=namespace)
        denied = wait_until(narrow.new_forbidden_lines, "the narrowed operator to be refused")
        assert any('cannot list resource "pods"' in line for line in denied), denied
    finally:
        narrow.stop()
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
        cluster.kubectl("delete", "mutatingwebhookconfiguration", role, check=False)
        cluster.kubectl("delete", "clusterrolebinding,clusterrole", role, check=False)
        cluster.kubectl("delete", "serviceaccount", account, "-n", chart, check=False)
