"""charts/llmobs: helm lint, rendering with each ci/ values file, least-privilege RBAC matching
what the code uses, the CRD identical to the generated one, and webhook certificates whose SANs
name the webhook Service."""

import base64
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509

from llmobs_operator.crd import render_crd_yaml
from llmobs_operator.rbac import PERMISSIONS
from llmobs_testing.prereq import require

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "llmobs"
HELM_VERSION = "v3.21.4"


def helm() -> str:
    cache = Path(os.environ.get("LLMOBS_CACHE", Path.home() / ".cache" / "llmobs"))
    # scripts/bootstrap-extras.sh builds it here (the e2e control plane keeps one in bin/ too).
    candidates = [cache / f"helm-{HELM_VERSION}" / "helm", cache / "bin" / f"helm-{HELM_VERSION}"]
    found = next((str(c) for c in candidates if c.is_file()), None) or shutil.which("helm")
    require(found is not None, "helm", "run scripts/bootstrap-extras.sh (make bootstrap) to build it")
    assert found is not None
    return found


def render(*args: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [helm(), "template", "llmobs", str(CHART), "-n", "llmobs", "--kube-version", "1.36.0", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(matches) == 1, (kind, name, len(matches))
    return matches[0]


@pytest.mark.parametrize("values", [None, *sorted((CHART / "ci").glob("*.yaml"))], ids=str)
def test_helm_lint(values: Path | None) -> None:
    args = ["-f", str(values)] if values else []
    out = subprocess.run([helm(), "lint", "--strict", str(CHART), *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_bad_values_are_rejected_by_the_schema() -> None:
    out = subprocess.run(
        [helm(), "template", "x", str(CHART), "--kube-version", "1.36.0", "--set", "image.pullPolicy=Sometimes"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0 and "pullPolicy" in out.stderr


def test_rbac_is_exactly_what_the_code_uses() -> None:
    role = find(render(), "ClusterRole")
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert granted == set(PERMISSIONS)
    assert all("*" not in (g, r, v) for g, r, v in granted)
    binding = find(render(), "ClusterRoleBinding")
    assert binding["roleRef"]["name"] != "cluster-admin"


def test_crds_are_generated_ones_and_kept_on_uninstall() -> None:
    docs = render()
    crd = find(docs, "CustomResourceDefinition", "llmobservabilities.llmobs.dev")
    assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    generated = yaml.safe_load(render_crd_yaml())
    crd["metadata"].pop("annotations")
    assert crd == generated
    packaged = (CHART / "files" / "crds" / "llmobs.dev_llmobservabilities.yaml").read_text()
    assert packaged == render_crd_yaml(), "copy operator/crds/*.yaml into charts/llmobs/files/crds/"


def test_operator_deployment_and_webhook_service() -> None:
    docs = render()
    dep = find(docs, "Deployment")
    pod = dep["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["args"][:2] == ["operator", "run"]
    assert "--namespace=llmobs" in container["args"] and "--tls-dir=/tls" in container["args"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["LLMOBS_OPERATOR_WEBHOOK_SERVICE"] == "llmobs-webhook"
    svc = find(docs, "Service", "llmobs-webhook")
    assert svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]


def test_self_signed_certificate_names_the_service() -> None:
    secret = find(render(), "Secret")
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    ca = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["ca.crt"]))
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "llmobs-webhook.llmobs.svc" in names.get_values_for_type(x509.DNSName)
    cert.verify_directly_issued_by(ca)


def test_cert_manager_variant() -> None:
    docs = render("-f", str(CHART / "ci" / "cert-manager-values.yaml"))
    assert not [d for d in docs if d["kind"] == "Secret"]
    certificate = find(docs, "Certificate")
    assert "llmobs-webhook.llmobs.svc" in certificate["spec"]["dnsNames"]
    assert certificate["spec"]["secretName"] == "llmobs-webhook-tls"


def test_every_value_is_documented() -> None:
    """Each key has a comment above it, or sits inside a documented block."""
    documented: list[int] = []  # indentation of documented ancestors
    previous = ""
    for line in (CHART / "values.yaml").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith("-") or ":" not in stripped:
            previous = stripped or previous
            continue
        indent = len(line) - len(line.lstrip())
        documented = [d for d in documented if d < indent]
        if previous.startswith("#"):
            documented.append(indent)
        else:
            assert documented, f"undocumented value: {stripped}"
        previous = stripped


def test_every_referenced_image_has_a_dockerfile() -> None:
    from llmobs_operator import spec

    images = {find(render(), "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]}
    defaults = spec.LLMObservabilitySpec()
    images |= {defaults.injection.image, defaults.store.image, defaults.gateway.image}
    for image in images:
        assert image.startswith("ghcr.io/llmobs/"), image
        name = image.rsplit("/", 1)[1].split(":", 1)[0]
        dockerfile = ROOT / "docker" / f"{name}.Dockerfile"
        assert dockerfile.is_file(), f"no Dockerfile for {image}"
        assert "USER 65532" in dockerfile.read_text()
