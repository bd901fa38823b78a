"""OpenAI-shaped error bodies (what the OpenAI API answers, so SDKs raise the right error)."""

from __future__ import annotations

import json

JSON_TYPE = b"application/json"
#: HTTP status -> OpenAI error type, as the OpenAI API names them.
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    408: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    431: "invalid_request_error",
    429: "rate_limit_exceeded",
    502: "upstream_error",
    503: "service_unavailable",
    504: "timeout",
}


def error_body(
    status: int, message: str, *, code: str | None = None, param: str | None = None
) -> bytes:
    """``{"error": {"message", "type", "param", "code"}}`` as the OpenAI API answers."""
    return json.dumps(
        {
            "error": {
                "message": message,
                "type": _ERROR_TYPES.get(status, "api_error"),
                "param": param,
                "code": code,
            }
        }
    ).encode()
