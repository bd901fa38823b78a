"""The upstream client reads exactly one response per request.

An upstream that answers one request with two responses (in the same write or just after) has
desynchronised the connection: the client keeps the first, closes the connection instead of
pooling it, and no byte of the second reaches the gateway's client. A transfer coding we do not
implement fails the exchange (502) rather than relaying a still-encoded body.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from llmobs_gateway._upstream_http import UpstreamBrokenError, UpstreamPool

from .conftest import one_upstream, run_gateway
from .test_upstream_http import RawServer, ok, run, serving

EVIL = b"HTTP/1.1 200 OK\r\nx-request-id: EVIL\r\ncontent-length: 4\r\n\r\nEVIL"


def test_a_second_response_in_the_same_write_is_dropped_and_the_connection_closed() -> None:
    async def main() -> None:
        server = RawServer([ok(b'{"a":1}') + EVIL, ok(b'{"b":2}')])
        async with serving(server) as url:
            pool = UpstreamPool(url, max_connections=4, connect_timeout_s=1)
            first = await pool.request(b"POST", "/x", [], b"{}")
            assert first.status == 200
            assert await first.read() == b'{"a":1}'
            assert first.header(b"x-request-id") is None
            first.close()
            await asyncio.wait_for(server.closed.wait(), 2)  # not pooled: closed
            second = await pool.request(b"POST", "/x", [], b"{}")
            assert await second.read() == b'{"b":2}'
            second.close()
            assert server.connections == 2
            await pool.aclose()

    run(main())


@pytest.mark.parametrize(
    "coding", [b"gzip, chunked", b"identity", b"chunked, chunked"], ids=["gzip", "identity", "x2"]
)
def test_a_transfer_coding_other_than_chunked_is_a_broken_upstream(coding: bytes) -> None:
    async def main() -> None:
        reply = b"HTTP/1.1 200 OK\r\ntransfer-encoding: %s\r\n\r\n5\r\nhello\r\n0\r\n\r\n" % coding
        async with serving(RawServer([reply])) as url:
            pool = UpstreamPool(url, max_connections=4, connect_timeout_s=1)
            with pytest.raises(UpstreamBrokenError, match="is not supported"):
                await pool.request(b"POST", "/x", [], b"{}")
            await pool.aclose()

    run(main())


def test_through_the_gateway_the_glued_response_never_reaches_the_client() -> None:
    async def main() -> None:
        first = (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-request-id: real\r\n"
            b'content-length: 14\r\n\r\n{"choices":[]}'
        )
        server = RawServer([first + EVIL, first])
        async with serving(server) as url:
            with run_gateway(one_upstream(url.removesuffix("/v1"))) as gateway:
                async with httpx.AsyncClient(base_url=gateway.url, timeout=5) as client:
                    for _ in range(2):
                        answer = await client.post(
                            "/v1/chat/completions", json={"model": "sim-model", "messages": []}
                        )
                        assert answer.status_code == 200
                        assert answer.headers["x-request-id"] == "real"
                        assert answer.content == b'{"choices":[]}'
        assert server.connections == 2  # the desynchronised connection went back to no pool

    run(main())


def test_a_trailer_does_not_pose_as_a_response_header() -> None:
    async def main() -> None:
        reply = (
            b"HTTP/1.1 200 OK\r\nx-request-id: real  \r\ntransfer-encoding: chunked\r\n\r\n"
            b"2\r\n{}\r\n0\r\nx-request-id: EVIL\r\n\r\n"
        )
        async with serving(RawServer([reply])) as url:
            pool = UpstreamPool(url, max_connections=4, connect_timeout_s=1)
            response = await pool.request(b"POST", "/x", [], b"{}")
            assert await response.read() == b"{}"
            assert response.headers == [
                (b"x-request-id", b"real"),
                (b"transfer-encoding", b"chunked"),
            ]
            response.close()
            await pool.aclose()

    run(main())


def test_a_control_byte_in_the_reason_phrase_is_a_broken_upstream() -> None:
    async def main() -> None:
        reply = b"HTTP/1.1 100 \x00Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
        async with serving(RawServer([reply])) as url:
            pool = UpstreamPool(url, max_connections=4, connect_timeout_s=1)
            with pytest.raises(UpstreamBrokenError, match="invalid reason phrase"):
                await pool.request(b"POST", "/x", [], b"{}")
            await pool.aclose()

    run(main())
