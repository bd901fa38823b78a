"""The one module that talks to the Kubernetes API (besides kopf's own machinery).

An ``httpx.AsyncClient`` built from kopf's ``ConnectionInfo`` (the same credentials kopf logged in
with), used for server-side apply, get, list, delete and patch. Built in the operator's start-up
handler, never at import.
"""

import json
import ssl
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

FIELD_MANAGER = "llmobs-operator"

# kind -> (API path prefix, plural, namespaced)
KINDS: dict[str, tuple[str, str, bool]] = {
    "ConfigMap": ("/api/v1", "configmaps", True),
    "Secret": ("/api/v1", "secrets", True),
    "Service": ("/api/v1", "services", True),
    "Pod": ("/api/v1", "pods", True),
    "Namespace": ("/api/v1", "namespaces", False),
    "LLMObservability": ("/apis/llmobs.dev/v1alpha1", "llmobservabilities", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "StatefulSet": ("/apis/apps/v1", "statefulsets", True),
    "DaemonSet": ("/apis/apps/v1", "daemonsets", True),
    "MutatingWebhookConfiguration": (
        "/apis/admissionregistration.k8s.io/v1",
        "mutatingwebhookconfigurations",
        False,
    ),
}


class ApiError(Exception):
    """An API call failed; ``status`` is the HTTP code and the message is the server's reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


def url_for(kind: str, namespace: str | None = None, name: str | None = None) -> str:
    """Path of a collection or an object."""
    prefix, plural, namespaced = KINDS[kind]
    path = prefix
    if namespaced and namespace:
        path += f"/namespaces/{namespace}"
    path += f"/{plural}"
    if name:
        path += f"/{name}"
    return path


def _ssl_context(info: Any, workdir: Path) -> ssl.SSLContext | bool:
    if getattr(info, "insecure", False):
        return False
    context = (
        ssl.create_default_context(cafile=info.ca_path)
        if info.ca_path
        else (ssl.create_default_context())
    )
    if info.ca_data:
        data = info.ca_data.decode() if isinstance(info.ca_data, bytes) else info.ca_data
        context.load_verify_locations(cadata=data)
    cert, key = info.certificate_path, info.private_key_path
    if info.certificate_data and info.private_key_data:
        cert, key = workdir / "client.crt", workdir / "client.key"
        key.touch(mode=0o600)
        cert.write_bytes(info.certificate_data)
        key.write_bytes(info.private_key_data)
    if cert and key:
        context.load_cert_chain(str(cert), str(key))
    return context


class KubeApi:
    """Thin async access to the objects the operator manages."""

    def __init__(
        self, client: httpx.AsyncClient, workdir: tempfile.TemporaryDirectory[str] | None = None
    ):
        self._client = client
        self._workdir = workdir

    @classmethod
    def from_connection_info(cls, info: Any) -> "KubeApi":
        """Build from a ``kopf.ConnectionInfo``."""
        workdir = tempfile.TemporaryDirectory(prefix="llmobs-kube-")
        headers = {}
        if info.token:
            headers["Authorization"] = f"{info.scheme or 'Bearer'} {info.token}"
        auth = httpx.BasicAuth(info.username, info.password) if info.username else None
        client = httpx.AsyncClient(
            base_url=info.server,
            verify=_ssl_context(info, Path(workdir.name)),
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(10.0),
        )
        return cls(client, workdir)

    async def aclose(self) -> None:
        """Close the connection pool and remove the credential files."""
        await self._client.aclose()
        if self._workdir is not None:
            self._workdir.cleanup()

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self._client.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise ApiError(response.status_code, str(message)[:500])
        data: dict[str, Any] = response.json() if response.content else {}
        return data

    async def apply(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply (force: the operator owns these fields; drift is overwritten)."""
        meta = manifest["metadata"]
        path = url_for(manifest["kind"], meta.get("namespace"), meta["name"])
        return await self._call(
            "PATCH",
            path,
            params={"fieldManager": FIELD_MANAGER, "force": "true"},
            content=json.dumps(manifest),
            headers={"Content-Type": "application/apply-patch+yaml"},
        )

    async def create(self, manifest: Mapping[str, Any]) -> bool:
        """Create an object; False when one of that name exists already (nothing is changed)."""
        meta = manifest["metadata"]
        try:
            await self._call(
                "POST", url_for(manifest["kind"], meta.get("namespace")), json=dict(manifest)
            )
        except ApiError as exc:
            if exc.status == 409:
                return False
            raise
        return True

    async def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        try:
            return await self._call("GET", url_for(kind, namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def list(
        self, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """Objects of a kind (in one namespace, or all), filtered by a label selector."""
        params = {"labelSelector": label_selector} if label_selector else {}
        data = await self._call("GET", url_for(kind, namespace), params=params)
        items: list[dict[str, Any]] = data.get("items") or []
        return items

    async def delete(self, kind: str, namespace: str | None, name: str) -> None:
        """Delete (foreground propagation); absent is fine."""
        try:
            await self._call(
                "DELETE", url_for(kind, namespace, name), json={"propagationPolicy": "Background"}
            )
        except ApiError as exc:
            if exc.status != 404:
                raise

    async def merge_patch(
        self, kind: str, namespace: str | None, name: str, patch: Mapping[str, Any]
    ) -> dict[str, Any]:
        """JSON merge patch (used for the rollout annotation on users' workloads)."""
        return await self._call(
            "PATCH",
            url_for(kind, namespace, name),
            content=json.dumps(patch),
            headers={"Content-Type": "application/merge-patch+json"},
        )

    async def patch_status(
        self, kind: str, namespace: str | None, name: str, status: Mapping[str, Any]
    ) -> dict[str, Any]:
        """JSON merge patch of the ``status`` subresource (lists such as conditions are replaced
        whole, so ``status`` carries every condition)."""
        return await self._call(
            "PATCH",
            url_for(kind, namespace, name) + "/status",
            content=json.dumps({"status": dict(status)}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
