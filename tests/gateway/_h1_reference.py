"""What h11, an independent HTTP/1.1 implementation, makes of a byte stream.

The differential fuzzers compare the gateway's framing (httptools plus the gateway's own rules)
with this: how many messages a stream holds and each one's start line, headers and body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import h11

Ending = Literal["incomplete", "error", "closed"]


@dataclass(frozen=True)
class Message:
    """One request (``start`` = method and target) or response (``start`` = the status)."""

    start: tuple[bytes, ...]
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


def _headers(event: h11.Request | h11.Response) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((bytes(name), bytes(value)) for name, value in event.headers)


def requests(data: bytes, max_head: int = 64 * 1024) -> tuple[list[Message], Ending]:
    """Every complete request h11 reads in ``data`` as a server answering each, then why it
    stopped: the rest is an unfinished request, a protocol error, or the connection must close.

    Three departures from h11, all RFC 9112 and all what the gateway does: runs of spaces in
    a request line part its words as one space does (section 3 lets a recipient); empty lines
    before a request line are skipped (section 2.2: a server SHOULD; llhttp skips lone CRs and
    LFs there too, which frames nothing differently); an HTTP/1.0 connection is kept alive
    when the request asks (``Connection: keep-alive``, appendix C.2.2). So each
    request is read by a fresh h11 connection from what the one before left.
    """
    found: list[Message] = []
    rest = data
    while True:
        rest = rest.lstrip(b"\r\n")  # llhttp skips stray CR and LF too: harmless, no bytes
        line, crlf, after = rest.partition(b"\r\n")
        rest = re.sub(b" +", b" ", line) + crlf + after
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=max_head)
        conn.receive_data(rest)
        message, ending = _one_request(conn)
        if message is None:
            return found, ending
        found.append(message)
        if ending == "closed":
            return found, ending
        rest = bytes(conn.trailing_data[0])


def _one_request(conn: h11.Connection) -> tuple[Message | None, Ending]:
    head: h11.Request | None = None
    body: list[bytes] = []
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError:
            return None, "error"
        if event is h11.NEED_DATA:
            return None, "incomplete"
        if isinstance(event, h11.Request):
            head, body = event, []
        elif isinstance(event, h11.Data):
            body.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            assert head is not None
            message = Message(
                (bytes(head.method), bytes(head.target)), _headers(head), b"".join(body)
            )
            # A 2xx to CONNECT would turn the connection into a tunnel: decline it, as any
            # upgrade is declined by answering with a plain response.
            status = 405 if head.method == b"CONNECT" else 200
            conn.send(h11.Response(status_code=status, headers=[(b"content-length", b"0")]))
            conn.send(h11.EndOfMessage())
            if conn.their_state is h11.MUST_CLOSE or conn.our_state is h11.MUST_CLOSE:
                tokens = [
                    t.strip()
                    for n, v in message.headers
                    if n == b"connection"
                    for t in v.lower().split(b",")
                ]
                if (
                    head.http_version == b"1.0"
                    and b"keep-alive" in tokens
                    and b"close" not in tokens
                ):
                    return message, "incomplete"
                return message, "closed"
            return message, "incomplete"
        else:  # ConnectionClosed, PAUSED: not reached with data fed once and no EOF
            return None, "closed"


def response(data: bytes) -> Message | None:
    """The one response h11 reads, as the client of ``POST /x``, from ``data`` followed by the
    upstream closing the connection; None when h11 finds no complete, valid response."""
    conn = h11.Connection(h11.CLIENT)
    conn.send(
        h11.Request(
            method=b"POST", target=b"/x", headers=[(b"host", b"u"), (b"content-length", b"2")]
        )
    )
    conn.send(h11.Data(data=b"{}"))
    conn.send(h11.EndOfMessage())
    # Stray CR/LF before the status line are skipped, as by llhttp (RFC 9112 2.2 lets a
    # recipient ignore empty lines there); they frame nothing differently.
    conn.receive_data(data.lstrip(b"\r\n"))
    conn.receive_data(b"")
    head: h11.Response | None = None
    body: list[bytes] = []
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError:
            return None
        if isinstance(event, h11.Response):
            head = event
        elif isinstance(event, h11.Data):
            body.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            assert head is not None
            return Message((b"%d" % head.status_code,), _headers(head), b"".join(body))
        elif isinstance(event, h11.InformationalResponse):
            continue
        else:  # NEED_DATA cannot follow EOF; ConnectionClosed before the end of the message
            return None
