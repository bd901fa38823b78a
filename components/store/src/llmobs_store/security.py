"""Optional bearer tokens, configured separately for ingest (/v1) and for queries (/api).

The policy (docs/SECURITY.md): the ingest token guards ``/v1/*``; the query token guards
``/api/*``, ``/metrics`` and the detail of ``/readyz`` (its status code stays open for probes).
``/healthz``, ``/openapi.json``, ``/docs`` and the UI's static files are open: they hold no data,
and the UI asks for the query token itself. An empty token turns its check off.
"""

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

# Declared so /openapi.json documents the schemes (and /docs offers "Authorize"); the check
# itself is ours, so a missing or malformed header is our 401 rather than FastAPI's 403. The
# receivers check the ingest token themselves (``presents``), to answer in OTLP's encoding.
INGEST_SCHEME = HTTPBearer(
    scheme_name="ingestToken",
    description="LLMOBS_STORE_INGEST_TOKEN, required on /v1/* when set.",
    auto_error=False,
)
QUERY_SCHEME = HTTPBearer(
    scheme_name="queryToken",
    description="LLMOBS_STORE_QUERY_TOKEN, required on /api/* and /metrics when set.",
    auto_error=False,
)
UNAUTHORISED = "missing or wrong bearer token"


def _raw(text: str) -> bytes:
    # Starlette decodes header values as latin-1: encoding back gives the bytes the client sent,
    # so a non-ASCII token is compared (and is wrong), never a TypeError from compare_digest.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def presents(request: Request, expected: str) -> bool:
    """Whether the request carries ``Authorization: Bearer <expected>`` (always, when unset)."""
    if not expected:
        return True
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        _raw(token.strip()), expected.encode("utf-8")
    )


def _check(request: Request, expected: str) -> None:
    if not presents(request, expected):
        raise HTTPException(401, UNAUTHORISED, headers={"WWW-Authenticate": "Bearer"})


def require_query(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(QUERY_SCHEME)] = None,
) -> None:
    """Dependency of the query API and /metrics."""
    _check(request, request.app.state.store.settings.query_token)


def query_allowed(request: Request) -> bool:
    """Whether the request may see query-protected detail (e.g. /readyz's)."""
    return presents(request, request.app.state.store.settings.query_token)
