"""The control plane's components as data: command lines, the kwok node, the admin kubeconfig.

Pure functions (no processes, no I/O), kept apart from :mod:`e2e.cluster`, which runs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from e2e import _certs

SERVICE_CIDR = "10.0.0.0/24"
POD_CIDR = "10.244.0.0/16"
STAGES = Path(__file__).with_name("kwok-stages.yaml")


def command(
    component: str,
    binary: str,
    *,
    ports: Mapping[str, int],
    directory: Path,
    kubeconfig: Path,
    pki: _certs.Pki,
) -> list[str]:
    """The command line of one component; every address is 127.0.0.1, every port given."""
    p = ports
    kube = str(kubeconfig)
    if component == "etcd":
        client, peer = (
            f"http://127.0.0.1:{p['etcd-client']}",
            f"http://127.0.0.1:{p['etcd-peer']}",
        )
        return [
            binary,
            "--name=default",
            f"--data-dir={directory / 'etcd-data'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=default={peer}",
            "--unsafe-no-fsync=true",
            "--log-level=warn",
        ]
    if component == "kube-apiserver":
        return [
            binary,
            f"--etcd-servers=http://127.0.0.1:{p['etcd-client']}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={p['apiserver']}",
            f"--cert-dir={directory / 'pki'}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            "--allow-privileged=true",
            "--profiling=false",
            "--v=1",
        ]
    if component == "kube-controller-manager":
        return [
            binary,
            f"--kubeconfig={kube}",
            f"--authentication-kubeconfig={kube}",
            f"--authorization-kubeconfig={kube}",
            f"--service-account-private-key-file={pki.sa_key}",
            f"--root-ca-file={pki.ca_cert}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--secure-port={p['controller-manager']}",
            f"--cert-dir={directory / 'pki' / 'kcm'}",
            "--profiling=false",
            "--v=1",
        ]
    if component == "kube-scheduler":
        return [
            binary,
            f"--kubeconfig={kube}",
            f"--authentication-kubeconfig={kube}",
            f"--authorization-kubeconfig={kube}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--secure-port={p['scheduler']}",
            f"--cert-dir={directory / 'pki' / 'scheduler'}",
            "--profiling=false",
            "--v=1",
        ]
    if component == "kwok":
        return [
            binary,
            f"--kubeconfig={kube}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--server-address=127.0.0.1:{p['kwok']}",
            "--node-ip=127.0.0.1",
            f"--cidr={POD_CIDR}",
            "--node-lease-duration-seconds=40",
            f"--config={STAGES}",
        ]
    raise KeyError(component)


def node(name: str) -> dict[str, Any]:
    """The Node object kwok manages (annotation ``kwok.x-k8s.io/node: fake``)."""
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
        },
        "status": {
            "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
            "capacity": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
        },
    }
    return node


def admin_kubeconfig(server: str, pki: _certs.Pki) -> dict[str, Any]:
    """A kubeconfig naming ``server`` and the admin client certificate (system:masters)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "llmobs-e2e",
        "clusters": [
            {
                "name": "llmobs-e2e",
                "cluster": {
                    "server": server,
                    "certificate-authority": str(pki.ca_cert),
                },
            }
        ],
        "users": [
            {
                "name": "admin",
                "user": {
                    "client-certificate": str(pki.admin_cert),
                    "client-key": str(pki.admin_key),
                },
            }
        ],
        "contexts": [
            {
                "name": "llmobs-e2e",
                "context": {"cluster": "llmobs-e2e", "user": "admin", "namespace": "default"},
            }
        ],
    }
    return config
