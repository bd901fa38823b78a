"""The upstream HTTP/1.1 client: keep-alive reuse, chunked and close-delimited bodies, stale
connections, aborting an unread response, connect errors."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from llmobs_gateway._upstream_http import (
    UpstreamBrokenError,
    UpstreamConnectError,
    UpstreamPool,
)


class RawServer:
    """A real TCP server on 127.0.0.1 answering each request with a scripted reply."""

    def __init__(self, replies: list[bytes], close_after: bool = False) -> None:
        self.replies = replies
        self.close_after = close_after
        self.connections = 0
        self.requests: list[bytes] = []
        self.closed = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.replies:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                self.requests.append(head + await reader.readexactly(length))
                writer.write(self.replies.pop(0))
                await writer.drain()
                if self.close_after:
                    return  # closes the connection (finally)
            # Wait for the client to hang up (or the test to end).
            await reader.read()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed.set()
            writer.close()


@contextlib.asynccontextmanager
async def serving(server: RawServer) -> AsyncIterator[str]:
    srv = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        srv.close()


def ok(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )


CHUNKED = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    b"6\r\ndata: \r\n5\r\nhello\r\n0\r\n\r\n"
)


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def test_keep_alive_reuses_one_connection_and_sends_prefix_host_and_headers() -> None:
    async def main() -> None:
        server = RawServer([ok(b'{"a":1}'), CHUNKED])
        async with serving(server) as url:
            pool = UpstreamPool(url, max_connections=4, connect_timeout_s=1)
            first = await pool.request(b"POST", "/chat/completions", [(b"x-k", b"v")], b"{}")
            assert first.status == 200
            assert await first.read() == b'{"a":1}'
            first.close()
            second = await pool.request(b"POST", "/chat/completions", [], b"{}")
            assert second.header(b"content-type") == b"text/event-stream"
            # The two HTTP chunks came in one read: they are handed on as one piece.
            assert [c async for c in second.chunks()] == [b"data: hello"]
            second.close()
            await pool.aclose()
        assert server.connections == 1
        request = server.requests[0]
        assert request.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
        assert b"\r\nhost: 127.0.0.1:" in request
        assert b"\r\nx-k: v\r\n" in request

    run(main())


def test_a_close_delimited_body_ends_at_eof() -> None:
    async def main() -> None:
        reply = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end"
        server = RawServer([reply], close_after=True)
        async with serving(server) as url:
            pool = UpstreamPool(url, max_connections=4, connect_timeout_s=1)
            response = await pool.request(b"POST", "/x", [], b"")
            assert await response.read() == b"until the end"
            response.close()

    run(main())


def test_a_stale_idle_connection_is_replaced_transparently() -> None:
    async def main() -> None:
        server = RawServer([ok(b"1"), ok(b"2")], close_after=True)
        async with serving(server) as url:
            pool = UpstreamPool(url, max_connections=4, connect_timeout_s=1)
            first = await pool.request(b"POST", "/x", [], b"")
            await first.read()
            first.close()  # kept idle, but the server closes it
            await asyncio.wait_for(server.closed.wait(), 5)
            second = await pool.request(b"POST", "/x", [], b"")
            assert await second.read() == b"2"
            second.close()
        assert server.connections == 2

    run(main())


def test_closing_an_unread_stream_aborts_the_connection() -> None:
    async def main() -> None:
        never_ending = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n"
        server = RawServer([never_ending])
        async with serving(server) as url:
            pool = UpstreamPool(url, max_connections=1, connect_timeout_s=1)
            response = await pool.request(b"POST", "/x", [], b"")
            async for chunk in response.chunks():
                assert chunk == b"first"
                break
            response.close()
            await asyncio.wait_for(server.closed.wait(), 5)  # the upstream saw the hang-up
            assert pool._idle == []
            # The slot came back: a new request is not blocked by the aborted one.
            server.replies.append(ok(b"again"))
            again = await asyncio.wait_for(pool.request(b"POST", "/x", [], b""), 5)
            assert await again.read() == b"again"
            again.close()

    run(main())


def test_a_broken_stream_raises_and_a_dead_port_is_a_connect_error() -> None:
    async def main() -> None:
        broken = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n"
        server = RawServer([broken], close_after=True)
        async with serving(server) as url:
            pool = UpstreamPool(url, max_connections=1, connect_timeout_s=1)
            response = await pool.request(b"POST", "/x", [], b"")
            with pytest.raises(UpstreamBrokenError):
                _ = [c async for c in response.chunks()]
            response.close()
        dead = UpstreamPool(url, max_connections=1, connect_timeout_s=1)
        with pytest.raises(UpstreamConnectError):
            await dead.request(b"POST", "/x", [], b"")

    run(main())


def test_garbage_from_the_upstream_is_a_broken_connection() -> None:
    async def main() -> None:
        server = RawServer([b"SMTP ready\r\n\r\n"])
        async with serving(server) as url:
            pool = UpstreamPool(url, max_connections=1, connect_timeout_s=1)
            with pytest.raises(UpstreamBrokenError):
                await pool.request(b"POST", "/x", [], b"")

    run(main())


def test_a_relay_paused_for_a_slow_client_is_not_an_upstream_idle_timeout() -> None:
    # While the gateway stops reading because its client is slow, the upstream is not silent:
    # the idle watchdog must not cut the stream and blame the upstream for it.
    async def main() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n")
            await writer.drain()
            await asyncio.sleep(0.1)  # the rest waits in the socket while the relay is paused
            writer.write(b"4\r\nlast\r\n0\r\n\r\n")
            await writer.drain()
            with contextlib.suppress(ConnectionError):
                await reader.read()
            writer.close()

        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}"
        try:
            pool = UpstreamPool(url, max_connections=1, connect_timeout_s=1)
            response = await pool.request(b"POST", "/x", [], b"")
            loop = asyncio.get_running_loop()
            got: list[bytes] = []

            def on_data(data: bytes) -> None:
                got.append(data)
                if len(got) == 1:  # the client's socket is full: pause for 0.6 s
                    response.pause_reading()
                    loop.call_later(0.6, response.resume_reading)

            await asyncio.wait_for(response.relay(on_data, idle_timeout_s=0.2), 5)
            assert b"".join(got) == b"firstlast"
            response.close()
            await pool.aclose()
        finally:
            srv.close()

    run(main())


def test_interim_1xx_responses_are_skipped_for_the_final_one() -> None:
    # HTTP/1.1 clients must accept 1xx responses before the final one (RFC 9110 15.2), e.g. a
    # "100 Continue" some servers send unasked, or "103 Early Hints".
    async def main() -> None:
        interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n"
        server = RawServer([interim + ok(b'{"a":1}'), ok(b"again")])
        async with serving(server) as url:
            pool = UpstreamPool(url, max_connections=1, connect_timeout_s=1)
            response = await pool.request(b"POST", "/x", [], b"")
            assert response.status == 200
            assert response.header(b"link") is None
            assert await response.read() == b'{"a":1}'
            response.close()
            again = await pool.request(b"POST", "/x", [], b"")  # the connection is still sound
            assert (again.status, await again.read()) == (200, b"again")
            again.close()
            assert server.connections == 1
            await pool.aclose()

    run(main())
