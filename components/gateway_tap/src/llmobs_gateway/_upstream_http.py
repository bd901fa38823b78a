"""A small HTTP/1.1 keep-alive client for upstream calls, on asyncio protocols and httptools.

Why not httpx: its connection pool checks every pooled connection (a ``poll`` system call each)
on every request, which at 50-200 concurrent streams cost the gateway more CPU than all the rest of
the request path together. This client keeps a stack of idle connections per upstream, writes the
request in one call and parses the response with httptools (C), handing body bytes to the proxy as
they arrive. A response not read to its end is closed by aborting its connection, which is how a
client's disconnect cancels the upstream request.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

from llmobs_gateway._upstream_connection import _Connection
from llmobs_gateway._upstream_response import (
    UpstreamBrokenError,
    UpstreamConnectError,
    UpstreamResponse,
    UpstreamTooLargeError,
)

__all__ = [
    "UpstreamBrokenError",
    "UpstreamConnectError",
    "UpstreamPool",
    "UpstreamResponse",
    "UpstreamTooLargeError",
]

Headers = Sequence[tuple[bytes, bytes]]


class UpstreamPool:
    """Keep-alive connections to one upstream base URL (http or https)."""

    def __init__(
        self,
        base_url: str,
        *,
        max_connections: int,
        connect_timeout_s: float,
        keepalive_s: float = 30.0,
        ca_file: str | None = None,
        tls_verify: bool = True,
        max_header_bytes: int = 64 * 1024,
    ) -> None:
        parts = urlsplit(base_url)
        self.scheme = parts.scheme
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        default_port = self.port == (443 if parts.scheme == "https" else 80)
        self.host_header = (self.host if default_port else f"{self.host}:{self.port}").encode()
        self.ssl: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self.ssl = ssl.create_default_context(cafile=ca_file)
            if not tls_verify:
                self.ssl.check_hostname = False
                self.ssl.verify_mode = ssl.CERT_NONE
        self.max_connections = max_connections
        self.connect_timeout_s = connect_timeout_s
        self.keepalive_s = keepalive_s
        self.max_header_bytes = max_header_bytes
        self._idle: list[_Connection] = []
        self._open = 0
        self._slots: asyncio.Semaphore | None = None

    def _build(self, method: bytes, path: str, headers: Headers, body: bytes) -> bytes:
        lines = [
            method + b" " + (self.prefix + path).encode() + b" HTTP/1.1",
            b"host: " + self.host_header,
            b"content-length: " + str(len(body)).encode(),
        ]
        lines.extend(name + b": " + value for name, value in headers)
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, protocol = await loop.create_connection(
                    lambda: _Connection(self),
                    self.host,
                    self.port,
                    ssl=self.ssl,
                    server_hostname=self.host if self.ssl else None,
                )
        except TimeoutError:
            raise
        except OSError as exc:
            raise UpstreamConnectError(f"{type(exc).__name__}: {exc.strerror or exc}") from None
        self._open += 1
        return protocol

    def _take_idle(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()  # most recently used first: warmest, least likely stale
            if not conn.closed and now - conn.idle_since < self.keepalive_s:
                return conn
            conn._abort()
            self._open -= 1
        return None

    async def request(
        self, method: bytes, path: str, headers: Headers, body: bytes
    ) -> UpstreamResponse:
        """Send a request; returns once the status and headers arrived (body still to come).

        The returned response holds a connection slot until ``close()``; on any failure here
        (including cancellation) the connection is aborted and the slot freed.
        """
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_connections)
        await self._slots.acquire()
        conn: _Connection | None = None
        try:
            request = self._build(method, path, headers, body)
            conn = self._take_idle()
            if conn is not None:
                response = conn.start(request)
                try:
                    assert conn.headers_ready is not None
                    await conn.headers_ready
                    return response
                except UpstreamBrokenError:
                    if conn.got_bytes:
                        raise
                    # The upstream closed the idle connection as we reused it: nothing was
                    # processed, so one fresh connection may carry the request.
                    conn._abort()
                    self._open -= 1
                    conn = None
            conn = await self._connect()
            response = conn.start(request)
            assert conn.headers_ready is not None
            await conn.headers_ready
            return response
        except BaseException:
            if conn is not None:
                conn.response = None
                conn._abort()
                self._open -= 1
            self._slots.release()
            raise

    def _give_back(self, conn: _Connection) -> None:
        self._idle.append(conn)
        if self._slots is not None:
            self._slots.release()

    def _forget(self, conn: _Connection) -> None:
        self._open -= 1
        if self._slots is not None:
            self._slots.release()

    async def aclose(self) -> None:
        for conn in self._idle:
            conn._abort()
        self._idle.clear()
        # An abort finishes on the next loop iterations (connection_lost, TLS teardown): let it
        # happen before the caller closes the loop.
        for _ in range(3):
            await asyncio.sleep(0)
