"""The webhook server over real TLS on 127.0.0.1: our certificate verifies for 127.0.0.1, the
request's namespace reaches the handler, and an exception in the handler chain admits the pod."""

import asyncio
import contextlib
import json
import ssl
from pathlib import Path
from typing import Any

import httpx

from llmobs_operator import tls
from llmobs_operator.webhook_server import LlmobsWebhookServer

REVIEW = {
    "apiVersion": "admission.k8s.io/v1",
    "kind": "AdmissionReview",
    "request": {"uid": "abc", "namespace": "apps", "object": {"metadata": {"generateName": "p-"}}},
}


async def _exchange(tmp_path: Path, fn: Any) -> tuple[dict[str, Any], bool]:
    files = tls.self_signed(tmp_path, ["127.0.0.1", *tls.service_sans("llmobs-webhook", "obs")])
    served: list[Any] = []
    server = LlmobsWebhookServer(
        addr="127.0.0.1",
        host="127.0.0.1",
        certfile=files.cert,
        pkeyfile=files.key,
        on_serving=served.append,
    )
    stream = server(fn)
    config = await asyncio.wait_for(stream.__anext__(), 10)
    try:
        context = ssl.create_default_context(cafile=str(files.ca))
        async with httpx.AsyncClient(verify=context, timeout=5) as client:
            response = await client.post(
                config["url"].rstrip("/") + "/inject", content=json.dumps(REVIEW)
            )
        return response.json(), bool(served)
    finally:
        with contextlib.suppress(Exception):
            await stream.aclose()


def test_exception_admits_and_namespace_is_filled(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    async def failing(request: dict[str, Any], **_: Any) -> dict[str, Any]:
        seen.append(request)
        raise RuntimeError("our bug")

    answer, served = asyncio.run(_exchange(tmp_path, failing))
    assert served
    assert answer["response"]["allowed"] is True
    assert answer["response"]["uid"] == "abc"
    assert "RuntimeError" in answer["response"]["warnings"][0]
    assert seen[0]["request"]["object"]["metadata"]["namespace"] == "apps"


def test_denial_is_turned_into_admission(tmp_path: Path) -> None:
    async def denying(request: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {"response": {"uid": "abc", "allowed": False, "status": {"message": "x"}}}

    answer, _ = asyncio.run(_exchange(tmp_path, denying))
    assert answer["response"]["allowed"] is True


def test_certificate_sans(tmp_path: Path) -> None:
    from cryptography import x509

    files = tls.self_signed(tmp_path, ["127.0.0.1", *tls.service_sans("llmobs-webhook", "obs")])
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "llmobs-webhook.obs.svc" in san.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert oct(files.key.stat().st_mode & 0o777) == "0o600"
    assert tls.from_directory(tmp_path) == files
