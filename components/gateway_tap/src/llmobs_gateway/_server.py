"""The gateway's HTTP/1.1 server: asyncio protocols and httptools, no web framework.

Why its own server: the gateway is a relay, and under uvicorn + ASGI each streamed chunk cost a
coroutine hop, an ASGI message and a flow-control await on top of the socket write (measured:
more CPU than all the recording). Here a request is parsed by httptools (C), the handler gets the
whole body (bounded) and an :class:`Exchange` whose ``write`` frames a chunk and hands it to the
transport in one call, so the proxy can relay a streamed chunk straight from the upstream
connection's data callback to the client.

Served: keep-alive, pipelined requests (answered in order), ``Content-Length`` or chunked request
bodies, ``Expect: 100-continue``, HTTP/1.0 clients, ``Upgrade: h2c`` (answered as HTTP/1.1).
Refused with a clear status, then close (see ``_framing``): malformed HTTP, a WebSocket upgrade,
a missing or repeated ``Host`` (400), CONNECT (405), a transfer coding other than chunked (501),
headers over the limit (431); a refusal behind pipelined requests is answered in its turn. A body
over the limit is a 413 (the rest of the body is read and dropped so the client sees the answer,
or, if the client awaits ``100 Continue``, the connection closes). A client that goes away cancels
its request's task, with ``Exchange.disconnected`` set so the handler can tell.
"""

from __future__ import annotations

import asyncio
import socket

from llmobs_gateway._connection import _HttpConnection
from llmobs_gateway._exchange import Exchange, Handler, Headers, Request

__all__ = ["Exchange", "Handler", "Headers", "HttpServer", "Request"]


class HttpServer:
    """Serves ``handler`` on a TCP socket until ``shutdown``."""

    def __init__(
        self,
        handler: Handler,
        *,
        max_body_bytes: int,
        max_header_bytes: int = 64 * 1024,
        keepalive_s: float = 30.0,
        read_timeout_s: float = 60.0,
        write_stall_s: float = 30.0,
        max_per_client_ip: int = 0,
    ) -> None:
        self.handler = handler
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.keepalive_s = keepalive_s
        self.read_timeout_s = read_timeout_s
        self.write_stall_s = write_stall_s
        self.max_per_client_ip = max_per_client_ip  # 0: no limit
        self.per_ip: dict[str, int] = {}
        self.connections: set[_HttpConnection] = set()
        self._server: asyncio.Server | None = None

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, *, sock: socket.socket | None = None
    ) -> None:
        loop = asyncio.get_running_loop()
        if sock is not None:
            self._server = await loop.create_server(
                lambda: _HttpConnection(self, loop), sock=sock, backlog=1024
            )
        else:
            self._server = await loop.create_server(
                lambda: _HttpConnection(self, loop), host, port, backlog=1024, reuse_address=True
            )

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def shutdown(self, grace_s: float = 10.0) -> None:
        """Stop accepting, let requests in flight finish for ``grace_s``, then cut the rest."""
        if self._server is None:
            return
        self._server.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        while True:
            for conn in list(self.connections):
                conn.shutdown_if_idle()
            if not self.connections or loop.time() >= deadline:
                break
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            conn._abort()
        await self._server.wait_closed()
        for _ in range(3):  # let the aborts finish (connection_lost) before the loop closes
            await asyncio.sleep(0)
