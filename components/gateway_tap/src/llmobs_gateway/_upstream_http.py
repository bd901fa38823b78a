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
import collections
import ssl
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import cast
from urllib.parse import urlsplit

import httptools

from llmobs_gateway._framing import unsupported_coding

_MAX_BUFFER = 1 << 20  # pause reading from the upstream past 1 MiB not yet taken by the client
_BUFFER, _CLIENT, _TURN = "buffer", "client", "turn"  # why reading from an upstream is paused
_REASON_BYTES = bytes([9, *range(0x20, 0x7F), *range(0x80, 0x100)])  # HTAB SP VCHAR obs-text
# A read this big means the socket has a backlog: libuv would read it again and again (up to 32
# times) in one callback, holding the loop for the whole backlog, so the connection gives the
# loop back after each such read. A streamed chunk of a normal stream is far smaller.
_BIG_READ = 64 * 1024
Headers = Sequence[tuple[bytes, bytes]]


class UpstreamConnectError(OSError):
    """The upstream could not be connected to."""


class UpstreamBrokenError(OSError):
    """The connection broke or the upstream sent something that is not HTTP/1.1."""


class UpstreamTooLargeError(UpstreamBrokenError):
    """The upstream's response headers or body went over the gateway's limit."""


class UpstreamResponse:
    """Status and headers of an upstream response, and its body as it arrives."""

    __slots__ = (
        "_chunks",
        "_conn",
        "_error",
        "_finished",
        "_idle_s",
        "_last",
        "_loop",
        "_relay",
        "_size",
        "_waiter",
        "_watchdog",
        "headers",
        "status",
    )

    def __init__(self, conn: _Connection) -> None:
        self._conn = conn
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []  # names lower-cased
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._finished = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._relay: Callable[[bytes], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last = 0.0
        self._idle_s = 0.0
        self._watchdog: asyncio.TimerHandle | None = None

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    # -- fed by the connection ------------------------------------------------------------
    def _push(self, data: bytes) -> None:
        relay = self._relay
        if relay is not None:
            assert self._loop is not None
            self._last = self._loop.time()
            relay(data)
            return
        self._chunks.append(data)
        self._size += len(data)
        if self._size > _MAX_BUFFER:
            self._conn.pause(_BUFFER)
        self._wake()

    def _finish(self, error: BaseException | None = None) -> None:
        if not self._finished:
            self._finished = True
            self._error = error
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- read by the proxy ----------------------------------------------------------------
    async def chunks(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive; raises UpstreamBrokenError if the connection breaks."""
        while True:
            if self._chunks:
                data = self._chunks.popleft()
                self._size -= len(data)
                if self._size <= _MAX_BUFFER // 2:
                    self._conn.resume(_BUFFER)
                yield data
            elif self._finished:
                if self._error is not None:
                    raise UpstreamBrokenError(str(self._error)) from self._error
                return
            else:
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter
                self._waiter = None

    async def relay(self, on_data: Callable[[bytes], None], idle_timeout_s: float) -> None:
        """Hand body bytes to ``on_data`` as they arrive, until the body ends.

        ``on_data`` runs inside the connection's data callback: no task wakes up per chunk, which
        is what keeps a streamed chunk's trip through the gateway cheap. It must not raise. One
        watchdog timer (not a timeout re-armed per chunk) cuts an upstream silent for
        ``idle_timeout_s`` with TimeoutError; a broken connection raises UpstreamBrokenError.
        """
        while self._chunks:  # bytes that came with the headers
            data = self._chunks.popleft()
            self._size -= len(data)
            on_data(data)
        self._conn.resume(_BUFFER)
        if not self._finished:
            loop = self._loop = asyncio.get_running_loop()
            self._relay = on_data
            self._idle_s = idle_timeout_s
            self._last = loop.time()
            self._watchdog = loop.call_at(self._last + idle_timeout_s, self._check_idle)
            self._waiter = loop.create_future()
            try:
                await self._waiter
            finally:
                self._relay = self._waiter = None
                if self._watchdog is not None:
                    self._watchdog.cancel()
                    self._watchdog = None
        error = self._error
        if error is not None:
            if isinstance(error, TimeoutError):
                raise TimeoutError(str(error))
            raise UpstreamBrokenError(str(error)) from error

    def _check_idle(self) -> None:
        assert self._loop is not None
        self._watchdog = None
        if self._finished:
            return
        now = self._loop.time()
        if _CLIENT in self._conn.paused:
            # Not reading because the client is slow: the upstream is not the one silent.
            self._last = now
        due = self._last + self._idle_s
        if now >= due:
            self._finish(TimeoutError(f"no bytes from upstream for {self._idle_s} s"))
        else:
            self._watchdog = self._loop.call_at(due, self._check_idle)

    def pause_reading(self) -> None:
        """The client reads slower than the upstream sends: stop reading the upstream."""
        self._conn.pause(_CLIENT)

    def resume_reading(self) -> None:
        if self._relay is not None and self._loop is not None:
            self._last = self._loop.time()  # the upstream's silence counts from here again
        self._conn.resume(_CLIENT)

    async def read(self, max_bytes: int | None = None) -> bytes:
        """The whole body; past ``max_bytes`` raises UpstreamTooLargeError (the rest unread)."""
        parts: list[bytes] = []
        size = 0
        async for chunk in self.chunks():
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise UpstreamTooLargeError(f"response body over the limit of {max_bytes} bytes")
            parts.append(chunk)
        return b"".join(parts)

    def close(self) -> None:
        """Give the connection back when the body was read to its end, else abort it."""
        self._conn.release(self, reusable=self._finished and self._error is None)


class _Connection(asyncio.Protocol):
    """One upstream connection; serves one request at a time."""

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self.response: UpstreamResponse | None = None
        self.headers_ready: asyncio.Future[None] | None = None
        self.keep_alive = True
        self.closed = False
        self.paused: set[str] = set()  # why reading is paused (buffer full, slow client)
        self.got_bytes = False
        self.idle_since = 0.0
        self.interim = False  # the message being parsed is a 1xx before the final response
        self.done = False  # the final response ended: any byte after it is a desync
        self.head_seen = 0  # bytes received before the final response's headers completed
        self.body: list[bytes] = []  # body pieces of the read being parsed, handed on as one

    # -- asyncio.Protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.parser is None:
            self._abort()  # bytes outside a request: the connection cannot be trusted
            return
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(UpstreamBrokenError("upstream tried to upgrade the connection"))
            return
        except httptools.HttpParserError as exc:
            # A callback's own refusal comes back as the context of HttpParserCallbackError.
            reason = exc.__context__ if isinstance(exc.__context__, _Desync) else exc
            self._fail(UpstreamBrokenError(f"invalid HTTP from upstream: {reason}"))
            return
        self._hand_on_body()
        response = self.response
        if (
            len(data) >= _BIG_READ
            and response is not None
            and not response._finished  # else the connection is about to be reused: no pause
            and _TURN not in self.paused
            and not self.closed
        ):
            self.pause(_TURN)
            asyncio.get_running_loop().call_soon(self.resume, _TURN)
        ready = self.headers_ready
        if ready is not None and not ready.done():
            # Still in the head (1xx responses included): bound it in bytes received, as httptools
            # holds an unfinished header whole. A read that ended the head is not counted (the
            # rest of it is body). A huge or endless head costs a 502, not memory or CPU.
            self.head_seen += len(data)
            if self.head_seen > self.pool.max_header_bytes:
                limit = self.pool.max_header_bytes
                self._fail(UpstreamTooLargeError(f"response headers over {limit} bytes"))

    def _hand_on_body(self) -> None:
        # One read may hold thousands of tiny HTTP chunks: they go on as one piece, so the
        # observer and the client's socket see one call per read, not one per chunk.
        body = self.body
        if body:
            data = body[0] if len(body) == 1 else b"".join(body)
            body.clear()
            if self.response is not None:
                self.response._push(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        response = self.response
        if response is not None and not response._finished:
            ready = self.headers_ready is not None and self.headers_ready.done()
            delimited = response.header(b"content-length") is not None or (
                response.header(b"transfer-encoding") is not None
            )
            if ready and exc is None and not delimited:
                response._finish()  # body delimited by the connection closing
            else:
                self._fail(UpstreamBrokenError(f"upstream closed the connection ({exc})"))

    def pause_writing(self) -> None:  # the request body is small; nothing to throttle
        pass

    def resume_writing(self) -> None:
        pass

    # -- httptools callbacks --------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self.done:
            # A second response to one request (in the same read or after it): the connection
            # no longer says which response answers which request. Stop before its first byte
            # reaches the client; _fail then closes the connection instead of pooling it.
            raise _Desync("upstream sent more than one response to one request")

    def on_status(self, reason: bytes) -> None:
        # llhttp takes any byte in the reason phrase; RFC 9112 4 allows no control but HTAB.
        if reason.translate(None, _REASON_BYTES):
            raise _Desync(f"invalid reason phrase {reason!r}")

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.response is not None
        if self.response.status == 0:  # not a trailer: one must not pose as a header
            self.response.headers.append((name.lower(), value.rstrip(b" \t")))

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        assert self.response is not None
        status = self.parser.get_status_code()
        if 100 <= status < 200:  # an interim response (100 Continue, 103 Early Hints): skip it
            self.interim = True
            self.response.headers.clear()
            return
        coding = unsupported_coding(self.response.headers)
        if coding is not None:  # its body would be relayed still encoded, or mis-framed
            raise _Desync(coding)
        self.response.status = status
        self.keep_alive = self.parser.should_keep_alive()
        if self.headers_ready is not None and not self.headers_ready.done():
            self.headers_ready.set_result(None)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.response is not None
        if self.interim:
            self.interim = False
            return
        self.done = True
        self._hand_on_body()
        self.response._finish()

    # -- used by the pool and the response ------------------------------------------------
    def start(self, request: bytes) -> UpstreamResponse:
        assert self.transport is not None
        self.parser = httptools.HttpResponseParser(self)
        self.response = UpstreamResponse(self)
        self.headers_ready = asyncio.get_running_loop().create_future()
        self.got_bytes = False
        self.done = False
        self.head_seen = 0
        self.body.clear()
        self.transport.write(request)
        return self.response

    def _fail(self, error: BaseException) -> None:
        if self.headers_ready is not None and not self.headers_ready.done():
            self.headers_ready.set_exception(error)
        if self.response is not None:
            self.response._finish(error)
        self._abort()

    def _abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def pause(self, reason: str) -> None:
        if not self.paused and self.transport is not None and not self.closed:
            self.transport.pause_reading()
        self.paused.add(reason)

    def resume(self, reason: str) -> None:
        if reason in self.paused:
            self.paused.discard(reason)
            if not self.paused and self.transport is not None and not self.closed:
                self.transport.resume_reading()

    def release(self, response: UpstreamResponse, *, reusable: bool) -> None:
        if response is not self.response:
            return  # released twice
        self.response = None
        self.parser = None
        self.headers_ready = None
        if reusable and self.keep_alive and not self.closed and not self.paused:
            self.idle_since = time.monotonic()
            self.pool._give_back(self)
        else:
            self._abort()
            self.pool._forget(self)


class _Desync(Exception):
    """The upstream's bytes frame no single response we can relay faithfully."""


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
