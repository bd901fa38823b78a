"""The store's bearer tokens: where each comes from, the generated Secret, and the environment
that hands them to the store, the gateway and injected probes.

Pure functions like the other builders; the random values are drawn by the reconciler, once,
when the Secret does not exist yet (``secret()`` is only ever created, never re-applied, so the
tokens never change behind the user's back).
"""

import secrets as _random
from typing import Any

from llmobs_operator import spec as s
from llmobs_operator.resources.common import Owner, metadata

COMPONENT = "store-tokens"
INGEST_KEY = "ingest-token"
QUERY_KEY = "query-token"
# The variable the token is read into first, so OTEL_EXPORTER_OTLP_HEADERS can refer to it
# with Kubernetes' $(VAR) expansion (it must come earlier in the env list).
INGEST_ENV = "LLMOBS_INGEST_TOKEN"
# OTEL_EXPORTER_OTLP_HEADERS values are URL-decoded by the SDK: %20 is the space.
OTLP_HEADERS = f"Authorization=Bearer%20$({INGEST_ENV})"


def secret_name(owner: Owner) -> str:
    return owner.child_name(COMPONENT)


def refs(
    owner: Owner, spec: s.LLMObservabilitySpec
) -> tuple[s.SecretKeyRef, s.SecretKeyRef] | None:
    """(ingest, query) Secret keys, or None when auth is off."""
    auth = spec.store.auth
    if not auth.enabled:
        return None
    generated = secret_name(owner)
    return (
        auth.ingest_token_secret_ref or s.SecretKeyRef(name=generated, key=INGEST_KEY),
        auth.query_token_secret_ref or s.SecretKeyRef(name=generated, key=QUERY_KEY),
    )


def needs_generated_secret(spec: s.LLMObservabilitySpec) -> bool:
    auth = spec.store.auth
    return auth.enabled and not (auth.ingest_token_secret_ref and auth.query_token_secret_ref)


def secret(owner: Owner) -> dict[str, Any]:
    """The generated Secret with two fresh random tokens (created once, owned by the resource)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(owner, COMPONENT),
        "type": "Opaque",
        "stringData": {
            INGEST_KEY: _random.token_urlsafe(32),
            QUERY_KEY: _random.token_urlsafe(32),
        },
    }


def _from(ref: s.SecretKeyRef, name: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}


def store_env(owner: Owner, spec: s.LLMObservabilitySpec) -> list[dict[str, Any]]:
    """LLMOBS_STORE_INGEST_TOKEN and LLMOBS_STORE_QUERY_TOKEN from their Secrets."""
    found = refs(owner, spec)
    if found is None:
        return []
    ingest, query = found
    return [_from(ingest, "LLMOBS_STORE_INGEST_TOKEN"), _from(query, "LLMOBS_STORE_QUERY_TOKEN")]


def exporter_env(owner: Owner, spec: s.LLMObservabilitySpec) -> list[dict[str, Any]]:
    """What an OTLP exporter sending to the store needs: the ingest token as a header."""
    found = refs(owner, spec)
    if found is None:
        return []
    return [
        _from(found[0], INGEST_ENV),
        {"name": "OTEL_EXPORTER_OTLP_HEADERS", "value": OTLP_HEADERS},
    ]


def probe_env(owner: Owner, spec: s.LLMObservabilitySpec) -> list[dict[str, Any]]:
    """The exporter env for injected app pods. The Secret lives in the resource's namespace:
    ``optional`` so a pod elsewhere still starts (its exports are then refused with a 401 until
    a copy of the Secret, same name, exists in its namespace; docs/SECURITY.md)."""
    env = exporter_env(owner, spec)
    for entry in env:
        if "valueFrom" in entry:
            entry["valueFrom"]["secretKeyRef"]["optional"] = True
    return env
