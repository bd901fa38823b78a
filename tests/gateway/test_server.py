"""The gateway's own HTTP/1.1 server, spoken to over raw sockets.

Each test runs a real :class:`HttpServer` on 127.0.0.1 (a free port) under uvloop, as
``llmobs gateway serve`` does, with a small handler, and writes the bytes of its requests itself,
so that keep-alive, pipelining, limits, ``Expect: 100-continue``, disconnects, back-pressure and
shutdown are seen exactly as a client sees them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvloop

from llmobs_gateway._server import Exchange, HttpServer, Request

from .conftest import one_upstream, run_gateway

TIMEOUT = 5.0  # any single read; a whole test is bounded by TEST_TIMEOUT
TEST_TIMEOUT = 15.0
STREAM = [(b"content-type", b"text/event-stream")]


def run(body: Callable[[], Awaitable[None]]) -> None:
    uvloop.run(asyncio.wait_for(body(), TEST_TIMEOUT))


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    complete: bool = True  # a chunked body reached its terminating chunk


async def read_response(reader: asyncio.StreamReader) -> Response:
    """One response: head, then a content-length or chunked body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {n.strip().lower(): v.strip() for n, _, v in (ln.partition(":") for ln in lines[1:])}
    if "content-length" in headers:
        body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), TIMEOUT)
        return Response(status, headers, body)
    if headers.get("transfer-encoding") != "chunked":
        return Response(status, headers, b"")
    parts = []
    while True:
        try:
            size = int(await asyncio.wait_for(reader.readuntil(b"\r\n"), TIMEOUT), 16)
            chunk = await asyncio.wait_for(reader.readexactly(size + 2), TIMEOUT)
        except (asyncio.IncompleteReadError, ConnectionError):
            return Response(status, headers, b"".join(parts), complete=False)
        if size == 0:
            return Response(status, headers, b"".join(parts))
        parts.append(chunk[:-2])


async def read_to_end(reader: asyncio.StreamReader) -> bytes:
    """Whatever arrives until the server closes (a reset counts as closed)."""
    try:
        return await asyncio.wait_for(reader.read(), TIMEOUT)
    except ConnectionError:
        return b""


def request(path: str = "/ok", body: bytes = b"", method: str = "POST", extra: str = "") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nhost: t\r\ncontent-length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


def openai_error(response: Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = json.loads(response.body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    return error


def echoed(response: Response) -> dict[str, str]:
    """What :class:`Recorder` echoed in a 200."""
    assert response.status == 200, response.body
    return dict(json.loads(response.body))


class Recorder:
    """A handler: echoes the request, sleeps on /slow, raises on /boom; records each call."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, request: Request, exchange: Exchange) -> None:
        self.paths.append(request.path)
        if request.path == "/slow":
            await asyncio.sleep(0.1)
        if request.path == "/boom":
            raise RuntimeError("a bug in the handler")
        answer = {"method": request.method, "path": request.path, "body": request.body.decode()}
        exchange.send_whole(200, json.dumps(answer).encode())


@contextlib.asynccontextmanager
async def serving(
    handler: Callable[[Request, Exchange], Awaitable[None]], **options: Any
) -> AsyncIterator[HttpServer]:
    options.setdefault("max_body_bytes", 1000)
    server = HttpServer(handler, **options)
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.shutdown(0.5)


@contextlib.asynccontextmanager
async def connect(
    server: HttpServer, rcvbuf: int = 0
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if rcvbuf:  # set before connecting, so that the window is small from the start
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
        reader, writer = await asyncio.open_connection(sock=sock)
    except BaseException:
        sock.close()
        raise
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def test_keep_alive_serves_sequential_and_pipelined_requests_in_order() -> None:
    async def body() -> None:
        handler = Recorder()
        async with serving(handler) as server, connect(server) as (reader, writer):
            for path in ("/one", "/two"):
                writer.write(request(path, b"x"))
                answer = await read_response(reader)
                assert echoed(answer)["path"] == path
                assert "connection" not in answer.headers
            # The first takes longer than the second: answers must still come in request order.
            writer.write(request("/slow", b"first") + request("/fast", b"second"))
            first, second = await read_response(reader), await read_response(reader)
            assert echoed(first) == {"method": "POST", "path": "/slow", "body": "first"}
            assert echoed(second) == {"method": "POST", "path": "/fast", "body": "second"}
        assert handler.paths == ["/one", "/two", "/slow", "/fast"]

    run(body)


def test_malformed_http_is_a_400_openai_error_and_the_connection_closes() -> None:
    async def body() -> None:
        handler = Recorder()
        async with serving(handler) as server, connect(server) as (reader, writer):
            writer.write(b"THIS IS NOT\x00 HTTP\r\n\r\n")
            answer = await read_response(reader)
            assert answer.status == 400
            error = openai_error(answer)
            assert error["type"] == "invalid_request_error"
            assert "Malformed HTTP request" in error["message"]
            assert answer.headers["connection"] == "close"
            assert await read_to_end(reader) == b""
        assert handler.paths == []

    run(body)


def test_a_body_over_the_limit_is_413_and_the_connection_stays_usable() -> None:
    async def body() -> None:
        handler = Recorder()
        async with serving(handler, max_body_bytes=1000) as server:
            async with connect(server) as (reader, writer):
                writer.write(b"POST /big HTTP/1.1\r\nhost: t\r\ncontent-length: 5000\r\n\r\n")
                answer = await read_response(reader)  # answered with no body byte sent yet
                assert answer.status == 413
                assert "5000 bytes is over the limit of 1000" in openai_error(answer)["message"]
                writer.write(b"z" * 5000 + request("/after", b"small"))  # the body is dropped
                assert echoed(await read_response(reader))["body"] == "small"
            async with connect(server) as (reader, writer):
                writer.write(b"POST /big HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n")
                writer.write(b"258\r\n" + b"c" * 600 + b"\r\n" + b"258\r\n" + b"c" * 600 + b"\r\n")
                answer = await read_response(reader)  # answered before the body's end
                assert answer.status == 413
                assert "over the limit of 1000 bytes" in openai_error(answer)["message"]
                writer.write(b"0\r\n\r\n" + request("/after", b"ok"))
                assert echoed(await read_response(reader))["path"] == "/after"
                # Under the limit, chunks are joined into the body the handler gets.
                writer.write(b"POST /chunks HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n")
                writer.write(b"\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                assert echoed(await read_response(reader))["body"] == "abcde"
        assert handler.paths == ["/after", "/after", "/chunks"]

    run(body)


def test_headers_over_the_limit_are_431() -> None:
    async def body() -> None:
        handler = Recorder()
        async with serving(handler, max_header_bytes=1024) as server:
            async with connect(server) as (reader, writer):
                writer.write(request("/fits", extra=f"x-pad: {'p' * 800}\r\n"))
                assert echoed(await read_response(reader))["path"] == "/fits"
            async with connect(server) as (reader, writer):
                writer.write(request("/big", extra=f"x-pad: {'p' * 2000}\r\n"))
                answer = await read_response(reader)
                assert answer.status == 431
                error = openai_error(answer)
                assert error["message"] == "Request headers are too large"
                assert error["type"] == "invalid_request_error"  # the client's mistake
                assert await read_to_end(reader) == b""
        assert handler.paths == ["/fits"]

    run(body)


def test_expect_100_continue_is_answered_before_the_body_is_sent() -> None:
    async def body() -> None:
        async with serving(Recorder()) as server, connect(server) as (reader, writer):
            whole = request("/e", b"hello", extra="expect: 100-continue\r\n")
            writer.write(whole.removesuffix(b"hello"))  # the head alone
            interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
            assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
            writer.write(b"hello")
            assert echoed(await read_response(reader))["body"] == "hello"
            # Over the limit: a final 413 instead, and the connection closes, as the client may
            # never send the body (reading on would take its next request for body bytes).
            over = request("/e", b"x" * 1001, extra="expect: 100-continue\r\n")
            writer.write(over.removesuffix(b"x" * 1001))
            answer = await read_response(reader)
            assert answer.status == 413
            assert answer.headers["connection"] == "close"
            assert await read_to_end(reader) == b""

    run(body)


@pytest.mark.parametrize(
    "raw",
    [b"GET /old HTTP/1.0\r\n\r\n", b"GET /old HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n"],
    ids=["http-1.0", "connection-close"],
)
def test_a_non_keep_alive_request_is_answered_with_connection_close_then_closed(
    raw: bytes,
) -> None:
    async def body() -> None:
        async with serving(Recorder()) as server, connect(server) as (reader, writer):
            writer.write(raw)
            answer = await read_response(reader)
            assert echoed(answer)["path"] == "/old"
            assert answer.headers["connection"] == "close"
            assert await read_to_end(reader) == b""

    run(body)


def test_a_client_leaving_mid_stream_cancels_the_handler() -> None:
    async def body() -> None:
        seen: list[bool] = []
        cancelled = asyncio.Event()

        async def streamer(request: Request, exchange: Exchange) -> None:
            exchange.start(200, STREAM)
            try:
                for _ in range(500):
                    exchange.write(b"data: tick\n\n")
                    await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                seen.append(exchange.disconnected)
                cancelled.set()
                raise
            exchange.end()

        async with serving(streamer) as server:
            async with connect(server) as (reader, writer):
                writer.write(request("/stream"))
                await asyncio.wait_for(reader.readuntil(b"data: tick\n\n"), TIMEOUT)
            await asyncio.wait_for(cancelled.wait(), TIMEOUT)
            assert seen == [True]
            assert not server.connections

    run(body)


def ticking(chunks: int, interval: float) -> Callable[[Request, Exchange], Awaitable[None]]:
    async def handler(request: Request, exchange: Exchange) -> None:
        exchange.start(200, STREAM)
        for i in range(chunks):
            exchange.write(b"data: %d\n\n" % i)
            await asyncio.sleep(interval)
        exchange.end()

    return handler


def test_shutdown_lets_a_stream_finish_within_the_grace_and_refuses_new_connections() -> None:
    async def body() -> None:
        async with serving(ticking(5, 0.1)) as server, connect(server) as (reader, writer):
            port = server.port
            writer.write(request("/stream"))
            await asyncio.wait_for(reader.readuntil(b"data: 0\n\n"), TIMEOUT)
            started = time.monotonic()
            stopping = asyncio.create_task(server.shutdown(4.0))
            await asyncio.sleep(0.05)
            with pytest.raises(ConnectionRefusedError):
                await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), TIMEOUT)
            rest = await read_to_end(reader)
            events = [b"data: %d\n\n" % i for i in range(1, 5)]
            chunks = b"".join(b"%x\r\n%b\r\n" % (len(e), e) for e in events)
            assert rest == b"\r\n" + chunks + b"0\r\n\r\n"  # the whole body, then closed
            await asyncio.wait_for(stopping, TIMEOUT)
            assert time.monotonic() - started < 2.5  # it did not wait out the whole grace

    run(body)


def test_shutdown_cuts_a_stream_still_running_when_the_grace_ends() -> None:
    async def body() -> None:
        async with serving(ticking(200, 0.05)) as server, connect(server) as (reader, writer):
            writer.write(request("/stream"))
            await asyncio.wait_for(reader.readuntil(b"data: 0\n\n"), TIMEOUT)
            started = time.monotonic()
            await asyncio.wait_for(server.shutdown(0.3), TIMEOUT)
            assert 0.25 < time.monotonic() - started < 2.0
            rest = await read_to_end(reader)
            assert b"data: 2\n\n" in rest  # it streamed during the grace
            assert not rest.endswith(b"0\r\n\r\n")  # and was cut, not finished
            assert not server.connections

    run(body)


def test_a_failing_handler_is_a_500_openai_error_and_the_server_goes_on() -> None:
    async def body() -> None:
        handler = Recorder()
        async with serving(handler) as server:
            async with connect(server) as (reader, writer):
                writer.write(request("/boom"))
                answer = await read_response(reader)
                assert answer.status == 500
                error = openai_error(answer)
                assert error["type"] == "api_error"
                assert "a bug" not in error["message"]
                writer.write(request("/same"))  # the connection is still usable
                assert echoed(await read_response(reader))["path"] == "/same"
            async with connect(server) as (reader, writer):
                writer.write(request("/next"))
                assert echoed(await read_response(reader))["path"] == "/next"
        assert handler.paths == ["/boom", "/same", "/next"]

    run(body)


def test_a_handler_failing_mid_stream_cuts_the_connection() -> None:
    async def body() -> None:
        async def half(request: Request, exchange: Exchange) -> None:
            exchange.start(200, STREAM)
            exchange.write(b"data: partial\n\n")
            raise RuntimeError("failed mid-stream")

        async with serving(half) as server, connect(server) as (reader, writer):
            writer.write(request("/stream"))
            answer = await read_response(reader)
            # Only closing the connection tells the client the body is incomplete.
            assert answer.status == 200
            assert not answer.complete
            assert answer.body == b"data: partial\n\n"

    run(body)


def test_back_pressure_pauses_and_resumes_the_handler_and_loses_nothing() -> None:
    chunk_size, chunks = 64 * 1024, 128  # 8 MiB

    async def body() -> None:
        flow: list[str] = []
        writable = asyncio.Event()
        writable.set()

        def pause() -> None:
            flow.append("pause")
            writable.clear()

        def resume() -> None:
            flow.append("resume")
            writable.set()

        async def producer(request: Request, exchange: Exchange) -> None:
            exchange.set_flow(pause, resume)
            exchange.start(200, [(b"content-type", b"application/octet-stream")])
            for i in range(chunks):
                await writable.wait()
                exchange.write(bytes([i % 251]) * chunk_size)
            exchange.end()

        # A small receive buffer, so that the kernel cannot absorb the whole body.
        async with serving(producer) as server, connect(server, 32 * 1024) as (reader, writer):
            writer.write(request("/bulk"))
            for _ in range(100):  # the client reads nothing until the producer is paused
                if flow:
                    break
                await asyncio.sleep(0.02)
            assert flow == ["pause"]
            answer = await read_response(reader)
            assert answer.complete
            assert len(answer.body) == chunk_size * chunks
            assert answer.body == b"".join(bytes([i % 251]) * chunk_size for i in range(chunks))
            assert flow[-1] == "resume"

    run(body)


def test_an_idle_keep_alive_connection_is_closed_after_keepalive_s() -> None:
    async def body() -> None:
        async with serving(Recorder(), keepalive_s=0.2) as server:
            async with connect(server) as (reader, writer):
                writer.write(request("/once"))
                assert echoed(await read_response(reader))["path"] == "/once"
                idle_since = time.monotonic()
                assert await read_to_end(reader) == b""
                assert 0.15 < time.monotonic() - idle_since < 2.0
            async with connect(server) as (reader, writer):  # a connection that never asks
                opened = time.monotonic()
                assert await read_to_end(reader) == b""
                assert 0.15 < time.monotonic() - opened < 2.0

    run(body)


def test_a_request_trickling_in_is_cut_after_the_read_timeout_with_408() -> None:
    async def body() -> None:
        handler = Recorder()
        async with (
            serving(handler, read_timeout_s=0.3, keepalive_s=10) as server,
            connect(server) as (reader, writer),
        ):
            writer.write(b"POST /slow HT")  # ... and nothing more (slowloris)
            started = time.monotonic()
            answer = await read_response(reader)
            assert answer.status == 408
            assert openai_error(answer)["message"] == "The request was not received in time"
            assert await read_to_end(reader) == b""
            assert 0.25 < time.monotonic() - started < 3.0
        assert handler.paths == []

    run(body)


def test_one_huge_unfinished_header_is_refused_without_waiting_for_its_end() -> None:
    async def body() -> None:
        handler = Recorder()
        async with (
            serving(handler, max_header_bytes=1024) as server,
            connect(server) as (reader, writer),
        ):
            writer.write(b"POST /x HTTP/1.1\r\nx-huge: ")
            for _ in range(8):  # 8 KiB of one header value, never terminated
                writer.write(b"v" * 1024)
                await writer.drain()
            answer = await read_response(reader)
            assert answer.status == 431
            assert await read_to_end(reader) == b""
        assert handler.paths == []

    run(body)


def test_the_gateway_answers_wrong_method_405_and_unknown_path_404(sim_url: str) -> None:
    with run_gateway(one_upstream(sim_url)) as gw, httpx.Client(timeout=TIMEOUT) as client:
        wrong = client.get(gw.url + "/v1/chat/completions")
        assert wrong.status_code == 405
        assert wrong.json()["error"]["type"] == "invalid_request_error"
        assert wrong.json()["error"]["message"] == "Method not allowed"
        unknown = client.post(gw.url + "/nowhere", json={})
        assert unknown.status_code == 404
        assert unknown.json()["error"] == {
            "message": "Unknown path",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }


def test_a_body_larger_than_the_header_limit_arriving_in_one_read_is_served() -> None:
    # The head bound counts bytes read while a head is unfinished; the body of a request that
    # completes in the same read is not head bytes (a long prompt must not be taken for a 431).
    async def body() -> None:
        handler = Recorder()
        async with (
            serving(handler, max_header_bytes=1024, max_body_bytes=100_000) as server,
            connect(server) as (reader, writer),
        ):
            writer.write(request("/long", b"p" * 20_000) + request("/next", b"n" * 5_000))
            first, second = await read_response(reader), await read_response(reader)
            assert echoed(first)["body"] == "p" * 20_000
            assert echoed(second)["body"] == "n" * 5_000
        assert handler.paths == ["/long", "/next"]

    run(body)


def test_expect_100_continue_behind_a_streaming_answer_waits_for_it_to_end() -> None:
    # A pipelined request's "100 Continue" written at once would land inside the chunked body
    # of the answer still streaming before it: it is sent when that answer has ended.
    async def body() -> None:
        handler = ticking(5, 0.05)
        async with serving(handler) as server, connect(server) as (reader, writer):
            writer.write(request("/stream"))
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)  # streaming now
            second = request("/e", b"hello", extra="expect: 100-continue\r\n")
            writer.write(second.removesuffix(b"hello"))
            rest = await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), TIMEOUT)
            assert b"100 Continue" not in rest
            interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
            assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
            writer.write(b"hello")
            assert (await read_response(reader)).status == 200

    run(body)


def test_a_pipelined_request_still_arriving_is_not_cut_by_the_keep_alive_timer() -> None:
    async def body() -> None:
        handler = Recorder()
        async with (
            serving(handler, keepalive_s=0.3, read_timeout_s=5) as server,
            connect(server) as (reader, writer),
        ):
            second = request("/second", b"hello")
            writer.write(request("/slow") + second.removesuffix(b"hello"))
            assert echoed(await read_response(reader))["path"] == "/slow"
            await asyncio.sleep(0.6)  # the rest of the second request is still on its way
            writer.write(b"hello")
            assert echoed(await read_response(reader))["body"] == "hello"
        assert handler.paths == ["/slow", "/second"]

    run(body)


def test_a_stream_to_an_http_1_0_client_is_sent_unchunked_and_ends_with_the_connection() -> None:
    # An HTTP/1.0 client (or a proxy speaking 1.0 upstream) does not know chunked framing: a
    # server must not send Transfer-Encoding to it (RFC 9112 6.1); closing ends the body.
    async def body() -> None:
        async with serving(ticking(3, 0.01)) as server, connect(server) as (reader, writer):
            writer.write(b"POST /stream HTTP/1.0\r\ncontent-length: 0\r\n\r\n")
            raw = await read_to_end(reader)
            head, _, rest = raw.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 ")
            assert b"transfer-encoding" not in head.lower()
            assert b"connection: close" in head.lower()
            assert rest == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"

    run(body)
