"""One keep-alive upstream connection: writes a request, parses its response with httptools."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, cast

import httptools

from llmobs_gateway._framing import unsupported_coding
from llmobs_gateway._upstream_response import (
    _TURN,
    UpstreamBrokenError,
    UpstreamResponse,
    UpstreamTooLargeError,
)

_REASON_BYTES = bytes([9, *range(0x20, 0x7F), *range(0x80, 0x100)])  # HTAB SP VCHAR obs-text
# The connection reads into its own buffer of this size (a buffered protocol): a plain protocol
# gets whatever libuv read, up to 256 KiB, and one such read of one-byte HTTP chunks is ~43k
# parser callbacks (~10 ms) before the loop can answer anyone else. A read that fills the buffer
# means the socket has a backlog: libuv would read it again and again (up to 32 times) in one
# callback, holding the loop for the whole backlog, so the connection gives the loop back after
# each such read. A streamed chunk of a normal stream is far smaller.
_READ_BYTES = 64 * 1024


class ConnectionPool(Protocol):
    """What a connection needs of the pool it belongs to (``_upstream_http.UpstreamPool``)."""

    max_header_bytes: int

    def _give_back(self, conn: _Connection) -> None: ...

    def _forget(self, conn: _Connection) -> None: ...


class _Connection(asyncio.BufferedProtocol):
    """One upstream connection; serves one request at a time."""

    def __init__(self, pool: ConnectionPool) -> None:
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
        self._buffer = memoryview(bytearray(_READ_BYTES))  # what each read is read into

    # -- asyncio.Protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        # httptools copies what it keeps (header fields, body pieces): the buffer is free again
        # as soon as feed_data returns.
        self._received(self._buffer[:nbytes])

    def _received(self, data: memoryview) -> None:
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
            len(data) == _READ_BYTES
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
