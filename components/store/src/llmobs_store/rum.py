"""CORS for browser (RUM) ingest: only ``POST /v1/traces`` and ``/v1/logs``, only listed origins.

Starlette's CORSMiddleware would open every route; browsers need just the two OTLP ingest paths,
so this middleware answers their preflight and marks their responses, and leaves everything else
(the query API above all) without CORS headers. An origin not on the list gets no CORS headers
and its preflight a 403, so the browser blocks the request.
"""

from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

RUM_PATHS = frozenset({"/v1/traces", "/v1/logs"})
ALLOWED_HEADERS = "content-type, traceparent, baggage, authorization"
PREFLIGHT_MAX_AGE_S = 600


class RumCors:
    """ASGI middleware adding CORS to the browser ingest paths for the allowed origins."""

    def __init__(self, app: ASGIApp, allowed_origins: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(o.rstrip("/") for o in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in RUM_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:  # not a browser's cross-origin request
            await self.app(scope, receive, send)
            return
        allowed = origin in self.allowed
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(send, origin, allowed, headers)
            return
        if not allowed or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["access-control-allow-origin"] = origin
                out.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    async def _preflight(send: Send, origin: str, allowed: bool, headers: Headers) -> None:
        method_ok = headers["access-control-request-method"].upper() == "POST"
        out: list[tuple[bytes, bytes]] = [(b"vary", b"Origin"), (b"content-length", b"0")]
        if allowed and method_ok:
            status = 204
            out += [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-methods", b"POST"),
                (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
                (b"access-control-max-age", str(PREFLIGHT_MAX_AGE_S).encode()),
            ]
        else:
            status = 403
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": b""})
