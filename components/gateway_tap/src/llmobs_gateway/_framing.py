"""RFC 9112 message-framing checks that httptools (llhttp) leaves to its caller.

llhttp frames a message by ``Content-Length`` or a final ``chunked`` coding, but it decodes
``Transfer-Encoding: gzip, chunked`` as if the gzip were not there, does not count ``Host``
fields, and treats any ``Connection: upgrade`` request as the end of HTTP/1.1 on the connection.
The server and the upstream client ask these functions what to do instead, so that both ends
agree with an independent parser (h11, the differential fuzzers' reference) on where one message
ends and the next begins.
"""

from __future__ import annotations

from collections.abc import Sequence

Headers = Sequence[tuple[bytes, bytes]]


def comma_tokens(headers: Headers, name: bytes) -> list[bytes]:
    """Every comma-separated token of every ``name`` field (names lower-cased), lower-cased."""
    tokens: list[bytes] = []
    for key, value in headers:
        if key == name:
            tokens.extend(t.strip().lower() for t in value.split(b",") if t.strip())
    return tokens


def unsupported_coding(headers: Headers) -> str | None:
    """Why the transfer codings are not ones we frame (only a lone ``chunked`` is), or None.

    A coding we do not implement must not be silently skipped (RFC 9112 6.1): the body would be
    handed on still gzip-ed, or, worse, framed differently from how a proxy in front framed it.
    """
    codings = comma_tokens(headers, b"transfer-encoding")
    if not codings or codings == [b"chunked"]:
        return None
    return f"Transfer-Encoding {b', '.join(codings).decode('latin-1')!r} is not supported"


def request_problem(method: bytes, http_version: str, headers: Headers) -> tuple[int, str] | None:
    """A request head's status and reason to refuse it with (then close), or None to serve it.

    Runs once httptools has accepted the head, so the head is well-formed HTTP; this checks the
    RFC 9112 rules httptools does not.
    """
    if http_version == "0.9":  # llhttp's name for a request line with no version at all
        return 400, "The request line must end with HTTP/1.1 or HTTP/1.0"
    if http_version not in ("1.1", "1.0"):  # llhttp takes "HTTP/2.0" as any other version
        return 505, f"HTTP/{http_version} is not supported over HTTP/1.1 framing"
    if method == b"CONNECT":
        return 405, "CONNECT is not supported: the gateway is not a tunnelling proxy"
    hosts = sum(1 for key, _ in headers if key == b"host")
    if hosts > 1:
        return 400, "A request must not carry more than one Host header (RFC 9112 3.2)"
    if hosts == 0 and http_version != "1.0":
        return 400, "An HTTP/1.1 request must carry a Host header (RFC 9112 3.2)"
    coding = unsupported_coding(headers)
    if coding is not None:
        return 501, coding
    return None


def declared_body(headers: Headers) -> tuple[int, bool]:
    """The request's declared ``Content-Length`` (0 if none) and whether it expects 100 Continue."""
    length = 0
    expect_continue = False
    for name, value in headers:
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = 0  # httptools already refused a malformed one
        elif name == b"expect" and value.lower() == b"100-continue":
            expect_continue = True
    return length, expect_continue


def is_h2c_upgrade(headers: Headers) -> bool:
    """The upgrade asked for is to cleartext HTTP/2 only (``curl --http2``, Java's HttpClient).

    Such a client falls back to HTTP/1.1 when the server does not switch (RFC 9113 3.1 leaves
    the upgrade optional), so the request is answered as HTTP/1.1. Any other upgrade
    (WebSocket) is refused: the gateway could not speak it.
    """
    return comma_tokens(headers, b"upgrade") == [b"h2c"]


def replayed_head(method: bytes, url: bytes, http_version: str, headers: Headers) -> bytes:
    """The head of a request as it would have been sent without its ``Upgrade`` field.

    llhttp stops at the end of an upgrade request's head and takes what follows for the new
    protocol, body included; re-parsing this head followed by those bytes frames the request's
    body and any pipelined request the way HTTP/1.1 does.
    """
    lines = [method + b" " + url + b" HTTP/" + http_version.encode("latin-1")]
    lines.extend(name + b": " + value for name, value in headers if name != b"upgrade")
    return b"\r\n".join(lines) + b"\r\n\r\n"
