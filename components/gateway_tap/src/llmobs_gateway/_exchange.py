"""The request a handler gets and the response side it answers through.

An :class:`Exchange` frames each body chunk and hands it to the client connection in one call
(see :mod:`llmobs_gateway._server` for why the gateway serves HTTP itself).
"""

from __future__ import annotations

import http
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from llmobs_gateway._responses import JSON_TYPE, error_body

Headers = Sequence[tuple[bytes, bytes]]


class ClientConnection(Protocol):
    """What an exchange writes through: the client connection (``_connection._HttpConnection``)."""

    keep_alive: bool
    http10: bool
    writing_paused: bool

    def write(self, data: bytes) -> None: ...


def _status_line(status: int) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}\r\n".encode("latin-1")


_STATUS_LINES = {status.value: _status_line(status.value) for status in http.HTTPStatus}


class Request:
    """A complete client request: method, path (query string dropped), lower-cased headers, body."""

    __slots__ = ("body", "headers", "method", "path")

    def __init__(
        self, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body


class Exchange:
    """The response side of one request.

    Either ``send_whole`` once, or ``start`` then any number of ``write`` and one ``end`` (a
    chunked body). Writes after the client left are dropped. ``set_flow`` registers what to do
    when the client reads slower than the response is produced (pause/resume the source).
    """

    __slots__ = (
        "_conn",
        "_on_pause",
        "_on_resume",
        "chunked",
        "disconnected",
        "finished",
        "stalled",
        "started",
    )

    def __init__(self, conn: ClientConnection) -> None:
        self._conn = conn
        self.started = False
        self.finished = False
        self.chunked = False
        self.disconnected = False
        self.stalled = False  # cut because the client took none of the response for too long
        self._on_pause: Callable[[], None] | None = None
        self._on_resume: Callable[[], None] | None = None

    def _head(self, status: int, headers: Headers, tail: bytes) -> bytes:
        line = _STATUS_LINES.get(status) or _status_line(status)
        parts = [line]
        parts.extend(name + b": " + value + b"\r\n" for name, value in headers)
        if not self._conn.keep_alive:
            parts.append(b"connection: close\r\n")
        parts.append(tail)
        return b"".join(parts)

    def start(self, status: int, headers: Headers) -> None:
        """Send the status and headers of a chunked (streamed) response."""
        self.started = True
        if self._conn.http10:
            # HTTP/1.0 knows no chunked framing (RFC 9112 6.1): the body ends with the connection.
            self._conn.keep_alive = False
            if not self.disconnected:
                self._conn.write(self._head(status, headers, b"\r\n"))
            return
        self.chunked = True
        if not self.disconnected:
            self._conn.write(self._head(status, headers, b"transfer-encoding: chunked\r\n\r\n"))

    def write(self, data: bytes) -> None:
        """One body chunk, sent now (empty data sends nothing: it would end the body)."""
        if data and not self.disconnected:
            if self.chunked:
                self._conn.write(b"%x\r\n%b\r\n" % (len(data), data))
            else:
                self._conn.write(data)

    def end(self, data: bytes = b"") -> None:
        """The last chunk and the end of the body."""
        if not self.disconnected:
            if not self.chunked:
                self._conn.write(data)
            elif data:
                self._conn.write(b"%x\r\n%b\r\n0\r\n\r\n" % (len(data), data))
            else:
                self._conn.write(b"0\r\n\r\n")
        self.finished = True

    def send_whole(
        self, status: int, body: bytes, content_type: bytes = JSON_TYPE, extra: Headers = ()
    ) -> None:
        """A complete response with a content-length."""
        self.started = True
        if not self.disconnected:
            headers = [(b"content-type", content_type), *extra]
            head = self._head(status, headers, b"content-length: %d\r\n\r\n" % len(body))
            self._conn.write(head + body)
        self.finished = True

    def send_error(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        extra: Headers = (),
    ) -> None:
        """An OpenAI-shaped error."""
        self.send_whole(status, error_body(status, message, code=code, param=param), extra=extra)

    def set_flow(self, pause: Callable[[], None], resume: Callable[[], None]) -> None:
        self._on_pause, self._on_resume = pause, resume
        if self._conn.writing_paused:
            pause()


Handler = Callable[[Request, Exchange], Awaitable[None]]
