"""RFC 9112 framing rules of the gateway's HTTP/1.1 server, over raw sockets.

Upgrades (h2c is answered as HTTP/1.1, WebSocket and CONNECT refused), bytes after a request
that ends the connection, ``Host`` counting, transfer codings we do not implement, and a head
of many tiny headers counted as sent.
"""

from __future__ import annotations

import pytest

from llmobs_gateway._server import Exchange, Request

from .test_server import (
    Recorder,
    connect,
    echoed,
    openai_error,
    read_response,
    read_to_end,
    request,
    run,
    serving,
)

# What `curl --http2 http://...` sends (Java's HttpClient sends the same upgrade).
H2C = "connection: Upgrade, HTTP2-Settings\r\nupgrade: h2c\r\nhttp2-settings: AAMAAABkAAQAoAAA\r\n"


def test_an_h2c_upgrade_is_ignored_and_the_request_answered_as_http_1_1_body_included() -> None:
    async def body() -> None:
        handler = Recorder()
        async with serving(handler) as server, connect(server) as (reader, writer):
            # The body and a pipelined request after it are HTTP/1.1, not HTTP/2 frames.
            writer.write(request("/up", b'{"a":1}', extra=H2C) + request("/next", b"n"))
            first, second = await read_response(reader), await read_response(reader)
            assert echoed(first) == {"method": "POST", "path": "/up", "body": '{"a":1}'}
            assert "upgrade" not in first.headers  # no 101: the client stays on HTTP/1.1
            assert echoed(second)["path"] == "/next"
            writer.write(request("/again"))  # the connection is still HTTP/1.1 keep-alive
            assert echoed(await read_response(reader))["path"] == "/again"
        assert handler.paths == ["/up", "/next", "/again"]

    run(body)


@pytest.mark.parametrize(
    ("raw", "status", "words"),
    [
        (
            b"GET /ws HTTP/1.1\r\nhost: t\r\nconnection: Upgrade\r\nupgrade: websocket\r\n"
            b"sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            400,
            "upgrades",
        ),
        (b"CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n", 405, "CONNECT"),
    ],
    ids=["websocket", "connect"],
)
def test_websocket_and_connect_are_refused_clearly_and_never_reach_the_handler(
    raw: bytes, status: int, words: str
) -> None:
    async def body() -> None:
        handler = Recorder()
        async with serving(handler) as server, connect(server) as (reader, writer):
            writer.write(raw + b"\x16\x03\x01 tunnelled bytes")
            answer = await read_response(reader)
            assert answer.status == status
            assert words in openai_error(answer)["message"]
            assert answer.headers["connection"] == "close"
            assert await read_to_end(reader) == b""
        assert handler.paths == []

    run(body)


@pytest.mark.parametrize(
    "raw",
    [
        b"POST /last HTTP/1.1\r\nhost: t\r\nconnection: close\r\ncontent-length: 1\r\n\r\nx",
        b"POST /last HTTP/1.0\r\ncontent-length: 1\r\n\r\nx",
    ],
    ids=["connection-close", "http-1.0"],
)
def test_a_request_ending_the_connection_is_answered_and_pipelined_bytes_after_it_dropped(
    raw: bytes,
) -> None:
    async def body() -> None:
        handler = Recorder()
        async with serving(handler) as server, connect(server) as (reader, writer):
            writer.write(raw + request("/smuggled") + b"garbage\r\n\r\n")
            answer = await read_response(reader)
            assert echoed(answer)["path"] == "/last"  # answered, not aborted
            assert answer.headers["connection"] == "close"
            assert await read_to_end(reader) == b""
        assert handler.paths == ["/last"]

    run(body)


@pytest.mark.parametrize(
    ("head", "status", "words"),
    [
        (b"GET /x HTTP/1.1\r\n\r\n", 400, "must carry a Host"),
        (b"GET /x HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n", 400, "more than one Host"),
        (b"GET /x HTTP/1.0\r\nhost: a\r\nHost: b\r\n\r\n", 400, "more than one Host"),
        (
            b"POST /x HTTP/1.1\r\nhost: t\r\ntransfer-encoding: gzip, chunked\r\n\r\n"
            b"5\r\nhello\r\n0\r\n\r\n",
            501,
            "'gzip, chunked' is not supported",
        ),
        (
            b"POST /x HTTP/1.1\r\nhost: t\r\ntransfer-encoding: gzip\r\n"
            b"transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            501,
            "is not supported",
        ),
        (b"GET /HTTP/1.1\r\nhost: t\r\n\r\n", 400, "must end with HTTP/1.1"),
        (b"GET /x HTTP/2.0\r\nhost: t\r\n\r\n", 505, "HTTP/2.0 is not supported"),
    ],
    ids=[
        "no-host",
        "two-hosts",
        "two-hosts-http-1.0",
        "gzip-chunked",
        "gzip-then-chunked",
        "no-version",
        "http-2.0",
    ],
)
def test_rfc_9112_version_host_and_transfer_coding_rules_are_enforced(
    head: bytes, status: int, words: str
) -> None:
    async def body() -> None:
        handler = Recorder()
        async with serving(handler) as server, connect(server) as (reader, writer):
            writer.write(head)
            answer = await read_response(reader)
            assert answer.status == status, answer.body
            assert words in openai_error(answer)["message"]
            assert answer.headers["connection"] == "close"
        assert handler.paths == []

    run(body)


def test_an_http_1_0_request_without_host_is_still_served() -> None:
    async def body() -> None:
        async with serving(Recorder()) as server, connect(server) as (reader, writer):
            writer.write(b"GET /old HTTP/1.0\r\n\r\n")
            assert echoed(await read_response(reader))["path"] == "/old"

    run(body)


def test_twenty_thousand_tiny_headers_in_one_read_count_against_the_header_limit() -> None:
    async def body() -> None:
        handler = Recorder()
        async with serving(handler, max_header_bytes=64 * 1024) as server:
            async with connect(server) as (reader, writer):
                # 20,000 "a:\r\n" lines are 80 kB of head but only 20 kB of names and values.
                writer.write(b"GET /many HTTP/1.1\r\nhost: t\r\n" + b"a:\r\n" * 20_000 + b"\r\n")
                answer = await read_response(reader)
                assert answer.status == 431
            async with connect(server) as (reader, writer):  # a head under the limit is fine
                writer.write(b"GET /some HTTP/1.1\r\nhost: t\r\n" + b"a:\r\n" * 1_000 + b"\r\n")
                assert echoed(await read_response(reader))["path"] == "/some"
        assert handler.paths == ["/some"]

    run(body)


def test_trailer_fields_do_not_add_to_or_override_the_request_headers() -> None:
    async def body() -> None:
        seen: list[list[tuple[bytes, bytes]]] = []

        async def handler(request: Request, exchange: Exchange) -> None:
            seen.append(request.headers)
            exchange.send_whole(200, b"{}")

        async with serving(handler) as server, connect(server) as (reader, writer):
            writer.write(
                b"POST /t HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n"
                b"2\r\n{}\r\n0\r\nhost: evil\r\nx-llmobs-tenant: other\r\n\r\n"
            )
            assert (await read_response(reader)).status == 200
        assert seen == [[(b"host", b"t"), (b"transfer-encoding", b"chunked")]]

    run(body)


@pytest.mark.parametrize(
    "bad",
    [b"garbage\r\n\r\n", b"GET /x HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n"],
    ids=["malformed", "two-hosts"],
)
def test_a_bad_request_pipelined_behind_good_ones_is_refused_after_their_answers(
    bad: bytes,
) -> None:
    async def body() -> None:
        handler = Recorder()
        async with serving(handler) as server, connect(server) as (reader, writer):
            writer.write(request("/slow", b"paid for") + request("/two") + bad + request("/no"))
            first, second = await read_response(reader), await read_response(reader)
            assert echoed(first)["path"] == "/slow"  # answered, not cut with the connection
            assert echoed(second)["path"] == "/two"
            refusal = await read_response(reader)
            assert refusal.status == 400
            assert refusal.headers["connection"] == "close"
            assert await read_to_end(reader) == b""
        assert handler.paths == ["/slow", "/two"]

    run(body)
