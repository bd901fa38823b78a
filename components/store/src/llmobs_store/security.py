"""Optional bearer tokens, configured separately for ingest (/v1) and for queries (/api)."""

import hmac

from fastapi import HTTPException, Request


def _check(request: Request, expected: str) -> None:
    if not expected:
        return
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), expected):
        raise HTTPException(
            401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


def require_ingest(request: Request) -> None:
    """Dependency of the OTLP receivers."""
    _check(request, request.app.state.store.settings.ingest_token)


def require_query(request: Request) -> None:
    """Dependency of the query API."""
    _check(request, request.app.state.store.settings.query_token)
