"""kopf's webhook server, adapted: our certificates, the request's namespace, never a denial.

kopf's ``WebhookServer`` serves the admission endpoint over TLS; this subclass

* hands kopf the serving certificate from a mounted Secret or a generated self-signed one;
* copies the admission request's namespace into the pod when the pod has none yet (pods created
  by controllers), because kopf passes handlers only the object;
* answers "allowed" when anything in the handler chain raises: failurePolicy Ignore does not cover
  a webhook that answers "denied" for its own bug;
* records that it is serving, for the WebhookReady condition.

The client configuration kopf would register (a URL) is ignored: the operator writes the
MutatingWebhookConfiguration itself, with a URL or a Service reference (kopf issues 1155, 785).
"""

import logging
from collections.abc import AsyncIterator
from typing import Any

import kopf

logger = logging.getLogger(__name__)


def allowed_response(request: dict[str, Any], warning: str | None = None) -> dict[str, Any]:
    """An AdmissionReview response that admits the object unchanged."""
    response: dict[str, Any] = {
        "apiVersion": request.get("apiVersion", "admission.k8s.io/v1"),
        "kind": request.get("kind", "AdmissionReview"),
        "response": {"uid": (request.get("request") or {}).get("uid", ""), "allowed": True},
    }
    if warning:
        response["response"]["warnings"] = [warning[:200]]
    return response


def with_request_namespace(request: dict[str, Any]) -> dict[str, Any]:
    """Fill ``object.metadata.namespace`` from the request when the object lacks it."""
    payload = request.get("request") or {}
    obj = payload.get("object")
    namespace = payload.get("namespace")
    if isinstance(obj, dict) and namespace:
        meta = obj.setdefault("metadata", {})
        meta.setdefault("namespace", namespace)
    return request


class LlmobsWebhookServer(kopf.WebhookServer):
    """kopf's server with the adaptations described in the module docstring."""

    def __init__(self, *, on_serving: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_serving = on_serving

    async def __call__(self, fn: kopf.WebhookFn) -> AsyncIterator[kopf.WebhookClientConfig]:
        async def guarded(
            request: Any,
            *,
            webhook: str | None = None,
            headers: dict[str, str] | None = None,
            sslpeer: dict[str, Any] | None = None,
        ) -> Any:
            try:
                result: Any = await fn(
                    with_request_namespace(request),  # type: ignore[arg-type]
                    webhook=webhook,
                    headers=headers,
                    sslpeer=sslpeer,
                )
                response = result.get("response") or {}
                if not response.get("allowed", True):
                    # Our handlers never deny on purpose: a denial means our own failure.
                    logger.error("admission answered denied; admitting: %s", response.get("status"))
                    return allowed_response(request, "llmobs: injection failed, pod admitted")
                return result
            except Exception as exc:  # the pod must be admitted whatever went wrong here
                logger.exception("admission request failed; admitting the pod unchanged")
                return allowed_response(request, f"llmobs: injection failed ({type(exc).__name__})")

        async for config in super().__call__(guarded):
            if self._on_serving is not None:
                self._on_serving(config)
            yield config
