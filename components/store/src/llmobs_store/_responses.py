"""How the store's responses are documented in /openapi.json: every status it really returns.

FastAPI documents only the success body and its own 422; the store also answers 401, 404, 503,
a 422 of its own (``{"detail": "start must not be after end"}``), and on ``/v1/*`` OTLP bodies
(protobuf or JSON) with ``google.rpc.Status`` errors. Schemathesis checks the document against
the real app (tests/store/test_openapi.py).
"""

from typing import Any

from pydantic import BaseModel, Field


class Problem(BaseModel):
    """The body of every query-API error (FastAPI's HTTPException and validation errors)."""

    detail: str | list[dict[str, Any]] = Field(
        description="What was wrong: a sentence, or FastAPI's list of invalid parameters."
    )


class RpcStatus(BaseModel):
    """``google.rpc.Status`` in JSON, as OTLP/HTTP answers errors."""

    code: int = Field(description="gRPC status code (3 invalid argument, 8 exhausted, ...).")
    message: str = Field(description="Why the request was refused.")


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}}
UNAUTHORISED: dict[str, Any] = {
    **_problem("Missing or wrong bearer token (only when the token is set)."),
    "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
}
QUERY: dict[int | str, dict[str, Any]] = {
    401: UNAUTHORISED,
    422: _problem("A parameter is invalid: FastAPI's list, or a sentence (start after end)."),
    503: {**_problem("ClickHouse is unavailable."), "headers": RETRY_AFTER},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _problem("No such trace or session.")}

_PROTOBUF_BODY = {"schema": {"type": "string", "format": "binary"}}
_STATUS_CONTENT = {
    "application/json": {"schema": RpcStatus.model_json_schema()},
    "application/x-protobuf": _PROTOBUF_BODY,
}


def _rpc(description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": _STATUS_CONTENT, **extra}


OTLP_REQUEST: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "An OTLP Export*ServiceRequest; Content-Encoding gzip or deflate allowed.",
        "content": {
            "application/x-protobuf": _PROTOBUF_BODY,
            "application/json": {"schema": {"type": "object"}},
        },
    }
}
OTLP: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Spooled: an Export*ServiceResponse in the request's encoding, with "
        "partialSuccess only when items were rejected.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/x-protobuf": _PROTOBUF_BODY,
        },
    },
    400: _rpc("Malformed body, bad encoding, leftovers or nesting past the limits."),
    401: _rpc(
        "Missing or wrong ingest token (only when it is set).",
        headers={"WWW-Authenticate": {"schema": {"type": "string"}}},
    ),
    413: _rpc("Body (or what it inflates to) larger than max_request_bytes."),
    415: _rpc("Content-Type or Content-Encoding that OTLP/HTTP does not define."),
    429: _rpc("Too many concurrent export requests.", headers=RETRY_AFTER),
    503: _rpc("The spool is full.", headers=RETRY_AFTER),
}
