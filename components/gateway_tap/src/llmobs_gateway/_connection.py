"""One client connection: parses requests, answers them in order (see ``_server``)."""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
from typing import Protocol, cast

import httptools

from llmobs_gateway import _framing
from llmobs_gateway._exchange import Exchange, Handler, Request
from llmobs_gateway._refusals import _HeadersTooLarge, _Refusal, _Refused

log = logging.getLogger("llmobs_gateway.server")
_MAX_PIPELINED = 16  # requests queued behind the one being answered before reading pauses


class Server(Protocol):
    """What a connection reads of the server that accepted it (``_server.HttpServer``)."""

    handler: Handler
    max_body_bytes: int
    max_header_bytes: int
    keepalive_s: float
    read_timeout_s: float
    write_stall_s: float
    max_per_client_ip: int
    per_ip: dict[str, int]
    connections: set[_HttpConnection]


class _HttpConnection(asyncio.Protocol):
    """One client connection: parses requests and runs the handler for each, in order."""

    def __init__(self, server: Server, loop: asyncio.AbstractEventLoop) -> None:
        self.server = server
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.closed = False
        self.keep_alive = True
        self.http10 = False  # the request being answered is HTTP/1.0
        self.writing_paused = False
        self.exchange: Exchange | None = None
        self.task: asyncio.Task[None] | None = None
        self.pending: collections.deque[tuple[Request, bool, bool]] = collections.deque()
        self.idle: asyncio.TimerHandle | None = None
        self.reading: asyncio.TimerHandle | None = None  # deadline of the request being read
        self.stall: asyncio.TimerHandle | None = None  # deadline for a full write buffer to drain
        self.peer_ip = ""
        self._in_head = True  # bytes arriving now belong to a request head
        self._head_seen = 0
        self._completed = 0  # requests parsed whole so far on this connection
        self._continue_due = False  # a "100 Continue" waits for the answers before it to end
        # The request being parsed
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._header_bytes = 0
        self._body: list[bytes] = []
        self._size = 0
        self._refused = False
        self._h2c = False  # the request being parsed asked for h2c: answer it as HTTP/1.1
        self._replay: tuple[bytes, bytes, str, list[tuple[bytes, bytes]]] = (b"", b"", "", [])
        self._last = False  # a request without keep-alive came: what follows it is dropped

    # -- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        self.peer_ip = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        self.server.connections.add(self)
        self._arm_idle()

    def data_received(self, data: bytes) -> None:
        rest: bytes | None = data
        while rest is not None and not self._last:  # after a request ending the connection
            rest = self._feed(rest)  # bytes there are never requests: they are dropped

    def _feed(self, data: bytes) -> bytes | None:
        """Parse ``data``; returns the bytes to parse next when an h2c upgrade was ignored."""
        try:
            completed = self._completed
            self.parser.feed_data(data)
            if self._in_head and self._completed == completed:
                # httptools holds an unfinished header whole, before on_header could count it:
                # bound what a head may take in reads, too. A read that also finished a request
                # is not counted (most of it was that request's body; at most one read's worth
                # of the next head goes uncounted).
                self._head_seen += len(data)
                if self._head_seen > self.server.max_header_bytes:
                    self._refuse_and_close(431, "Request headers are too large")
        except httptools.HttpParserUpgrade as exc:
            if self._h2c:  # parse on as HTTP/1.1, from the request's head without the upgrade
                self._h2c = False
                if self.reading is not None:
                    self.reading.cancel()
                self.parser = httptools.HttpRequestParser(self)
                return _framing.replayed_head(*self._replay) + data[exc.args[0] :]
            else:  # on_headers_complete refused it (CONNECT, WebSocket) before this
                self._refuse_and_close(400, "Protocol upgrades are not supported")
        except httptools.HttpParserError as exc:
            # httptools re-raises what a callback raised as HttpParserCallbackError, with the
            # callback's exception as its context.
            context = exc.__context__
            if self._last:
                pass  # "data after Connection: close": the request before it is answered
            elif isinstance(context, _HeadersTooLarge):
                self._refuse_and_close(431, "Request headers are too large")
            elif isinstance(context, _Refused):
                self._refuse_and_close(context.status, context.message)
            else:
                self._refuse_and_close(400, f"Malformed HTTP request: {exc}")
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        if self.idle is not None:
            self.idle.cancel()
        if self.reading is not None:
            self.reading.cancel()
        if self.stall is not None:
            self.stall.cancel()
        exchange = self.exchange
        if exchange is not None and not exchange.finished:
            exchange.disconnected = True
            if self.task is not None and not self.task.done():
                self.task.cancel()
        self.pending.clear()

    def pause_writing(self) -> None:
        self.writing_paused = True
        if self.stall is None:
            # A client that never reads would pin its upstream connection (and the buffered
            # bytes) for ever: past the stall timeout the exchange is cut, which cancels upstream.
            self.stall = self.loop.call_later(self.server.write_stall_s, self._write_stalled)
        if self.exchange is not None and self.exchange._on_pause is not None:
            self.exchange._on_pause()

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self.stall is not None:
            self.stall.cancel()
            self.stall = None
        if self.exchange is not None and self.exchange._on_resume is not None:
            self.exchange._on_resume()

    # -- httptools callbacks ----------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None
        # A request must arrive whole within the read timeout (a client trickling a head or a
        # body would otherwise hold the connection and its buffers for ever).
        self.reading = self.loop.call_later(self.server.read_timeout_s, self._read_timed_out)
        self._in_head = True  # (already, except when an ignored h2c upgrade is parsed again)
        self._url = b""
        self._headers = []
        self._header_bytes = 0
        self._body = []
        self._size = 0
        self._refused = False

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._header_bytes += len(url)
        if self._header_bytes > self.server.max_header_bytes:
            raise _HeadersTooLarge

    def on_header(self, name: bytes, value: bytes) -> None:
        # Count the line as sent (": " and CRLF too): 20k empty headers are 80 kB of head.
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > self.server.max_header_bytes:
            raise _HeadersTooLarge
        if self._in_head:  # not a trailer: those must not add to or override the headers
            # Trailing whitespace is not part of a field value (RFC 9110 5.5); llhttp keeps it.
            self._headers.append((name.lower(), value.rstrip(b" \t")))

    def on_headers_complete(self) -> None:
        self._in_head = False
        method = self.parser.get_method()
        version = self.parser.get_http_version()
        problem = _framing.request_problem(method, version, self._headers)
        if problem is not None:
            raise _Refused(*problem)
        if self.parser.should_upgrade():  # llhttp would stop reading HTTP/1.1 after this head
            if not _framing.is_h2c_upgrade(self._headers):
                raise _Refused(400, "Protocol upgrades (WebSocket) are not supported")
            self._h2c = True
            self._replay = (method, self._url, version, self._headers)
            return
        limit = self.server.max_body_bytes
        length, expect_continue = _framing.declared_body(self._headers)
        if length > limit:
            message = f"Request body of {length} bytes is over the limit of {limit} bytes"
            if expect_continue:
                # A client waiting for 100 Continue may never send the body: reading on for it
                # would take its next request for body bytes, so answer and close instead.
                self._refused = True
                self._refuse_and_close(413, message)
            else:
                self._refuse(413, message)
            return
        if expect_continue and self.transport is not None:
            if self._quiet:
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            else:  # now it would land inside an earlier answer still being sent
                self._continue_due = True

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        self._size += len(body)
        if self._size > self.server.max_body_bytes:
            self._body = []
            self._refuse(
                413, f"Request body is over the limit of {self.server.max_body_bytes} bytes"
            )
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._h2c:
            return  # parsed again, body included, once llhttp reports the upgrade
        self._in_head = True
        self._head_seen = 0
        self._completed += 1
        self._continue_due = False  # the body came without it
        if self.reading is not None:
            self.reading.cancel()
            self.reading = None
        if self.closed or self._last:  # refused while the rest of this data was being parsed
            return
        if self._refused:
            if self._quiet:
                if self.parser.should_keep_alive():
                    self._arm_idle()
                else:
                    self._close()
            return
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        request = Request(
            self.parser.get_method().decode("latin-1"),
            self._url.partition(b"?")[0].decode("latin-1"),
            self._headers,
            body,
        )
        keep_alive = self.parser.should_keep_alive()
        http10 = self.parser.get_http_version() == "1.0"
        self._last = not keep_alive
        if self._quiet:
            self._dispatch(request, keep_alive, http10)
        else:
            self.pending.append((request, keep_alive, http10))
            if len(self.pending) >= _MAX_PIPELINED and self.transport is not None:
                self.transport.pause_reading()

    # -- running requests -------------------------------------------------------------------
    @property
    def _quiet(self) -> bool:
        """No answer is being sent or waiting: bytes written now start a new response."""
        return self.exchange is None and not self.pending

    def _dispatch(self, request: Request, keep_alive: bool, http10: bool) -> None:
        if isinstance(request, _Refusal):  # its turn came: the answers before it are sent
            self.keep_alive = False
            Exchange(self).send_error(request.status, request.message)
            self._close()
            return
        self.keep_alive = keep_alive
        self.http10 = http10
        exchange = self.exchange = Exchange(self)
        self.task = self.loop.create_task(self._run(request, exchange))

    def _write_stalled(self) -> None:
        self.stall = None
        if self.exchange is not None:
            self.exchange.stalled = True
        log.info("client took no bytes in time; cutting it", extra={"peer": self.peer_ip})
        self._abort()

    async def _run(self, request: Request, exchange: Exchange) -> None:
        server = self.server
        counted = False
        try:
            limit = server.max_per_client_ip
            if limit:
                # Concurrent exchanges per client address: a few clients cannot take every
                # upstream connection. Counted here, so pipelined requests count one at a time.
                in_flight = server.per_ip.get(self.peer_ip, 0)
                if in_flight >= limit:
                    exchange.send_error(
                        429,
                        f"Too many concurrent requests from this address (limit {limit})",
                        code="too_many_concurrent_requests",
                        extra=[(b"retry-after", b"1")],
                    )
                    return
                server.per_ip[self.peer_ip] = in_flight + 1
                counted = True
            await server.handler(request, exchange)
        except asyncio.CancelledError:
            if not exchange.disconnected:
                self._abort()
                raise
        except Exception:  # a bug must cost one request, never the server
            log.exception("request failed", extra={"path": request.path})
            if not exchange.started:
                exchange.send_error(500, "The gateway failed to handle the request")
        finally:
            if counted:
                left = server.per_ip[self.peer_ip] - 1
                if left:
                    server.per_ip[self.peer_ip] = left
                else:
                    del server.per_ip[self.peer_ip]  # bounded: only addresses in flight stay
            self._after(exchange)

    def _after(self, exchange: Exchange) -> None:
        self.exchange = None
        self.task = None
        if self.closed:
            return
        if not exchange.finished:
            self._abort()  # the handler left a response half-sent: only closing frames it
            return
        if not self.keep_alive:
            self._close()
            return
        if self.pending:
            request, keep_alive, http10 = self.pending.popleft()
            if self.transport is not None and len(self.pending) == _MAX_PIPELINED - 1:
                self.transport.resume_reading()
            self._dispatch(request, keep_alive, http10)
        elif self.reading is None:
            self._arm_idle()
        # else the next request is arriving (its read timeout runs): not idle
        elif self._continue_due and self.transport is not None:
            self._continue_due = False
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _refuse(self, status: int, message: str) -> None:
        """Answer now (body still arriving is read and dropped); the connection stays usable."""
        self._refused = True
        if self._quiet:
            self.keep_alive = self.parser.should_keep_alive()
            Exchange(self).send_error(status, message)
        else:  # an earlier request is still being answered: answering now would reorder
            self._refuse_and_close(status, message)

    def _refuse_and_close(self, status: int, message: str) -> None:
        if self.closed:
            return
        if self._quiet:
            self.keep_alive = False
            Exchange(self).send_error(status, message)
            self._close()
        elif not self._last:
            # Earlier requests are being answered (their upstream calls paid for): answer this
            # after them, in order, then close; nothing after it is read.
            self._last = True
            self.pending.append((_Refusal(status, message), False, False))

    def _read_timed_out(self) -> None:
        self.reading = None
        if self._quiet:
            self._refuse_and_close(408, "The request was not received in time")
        else:
            self._abort()  # an earlier response is still going: a 408 now would reorder

    def _arm_idle(self) -> None:
        self.idle = self.loop.call_later(self.server.keepalive_s, self._close)

    def write(self, data: bytes) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(data)

    def _close(self) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()

    def _abort(self) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.abort()

    def shutdown_if_idle(self) -> None:
        if self._quiet:
            self._close()
