"""The hostile upstream: each behaviour sends the bad bytes it promises, and each is bounded."""

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from llmobs_testing.hostile import HostileUpstream, serve_hostile


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_hostile(max_bytes=8 * 1024 * 1024, max_stall_s=2.0) as base:
        yield base


def _exchange(
    url: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"{}"
) -> bytes:
    """Send one request on a raw socket and read until the server closes (bounded by time)."""
    host, port = url.removeprefix("http://").split(":")
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: {len(body)}\r\n{extra}\r\n"
        sock.sendall(head.encode() + body)
        data = bytearray()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            more = sock.recv(1 << 20)
            if not more:
                break
            data += more
        return bytes(data)


def _dechunk(wire: bytes) -> tuple[bytes, list[int]]:
    """The body of a chunked message, and the size of each chunk."""
    body, sizes, pos = bytearray(), [], 0
    while True:
        end = wire.index(b"\r\n", pos)
        size = int(wire[pos:end], 16)
        if size == 0:
            return bytes(body), sizes
        sizes.append(size)
        body += wire[end + 2 : end + 2 + size]
        pos = end + 2 + size + 2


def test_ok_answers_a_valid_completion_and_keeps_the_connection(url: str) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        first = client.post("/ok/v1/chat/completions", json={"stream": False})
        second = client.post("/ok/v1/chat/completions", json={"stream": True})
    assert first.json()["choices"][0]["message"]["content"] == "ok"
    assert second.headers["content-type"] == "text/event-stream"
    assert second.text.endswith("data: [DONE]\n\n")


def test_tiny_chunks_frame_the_stream_in_chunks_of_the_asked_size(url: str) -> None:
    wire = _exchange(url, "/tiny-chunks/v1/x", {"x-hostile-size": "20000", "x-hostile-chunk": "1"})
    head, _, rest = wire.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head
    body, sizes = _dechunk(rest)
    assert set(sizes[:-1]) == {1}  # all but the closing [DONE] piece
    assert len(sizes) >= 19_000
    events = body.split(b"\n\n")
    assert json.loads(events[0].removeprefix(b"data: "))["choices"][0]["delta"]["content"] == "x"
    assert body.endswith(b"data: [DONE]\n\n")


def test_lone_cr_starts_with_a_cr_and_has_no_boundary_until_the_end(url: str) -> None:
    wire = _exchange(url, "/lone-cr/v1/x", {"x-hostile-size": "50000", "x-hostile-chunk": "7"})
    body, sizes = _dechunk(wire.partition(b"\r\n\r\n")[2])
    assert body.startswith(b"data: \r")
    assert body.index(b"\n\n") >= 50_000 - 7 * 4096
    assert 7 in sizes


def test_every_size_is_capped_by_the_server(url: str) -> None:
    wire = _exchange(url, "/endless-body/v1/x", {"x-hostile-size": str(1 << 30)})
    head, _, body = wire.partition(b"\r\n\r\n")
    assert b"content-length" not in head
    assert len(body) == 8 * 1024 * 1024  # max_bytes, not the gigabyte asked for


def test_huge_headers_send_the_asked_head_size(url: str) -> None:
    wire = _exchange(url, "/huge-headers/v1/x", {"x-hostile-size": "300000"})
    head = wire.partition(b"\r\n\r\n")[0]
    assert len(head) >= 300_000
    assert wire.endswith(b'"total_tokens": 2}}')


def test_interim_flood_and_desync_send_what_they_say(url: str) -> None:
    flood = _exchange(url, "/interim-flood/v1/x", {"x-hostile-count": "1024"})
    assert flood.count(b"HTTP/1.1 103 Early Hints\r\n") == 1024
    assert flood.count(b"HTTP/1.1 200 OK\r\n") == 1
    desync = _exchange(url, "/desync/v1/x")
    assert desync.count(b"HTTP/1.1 200 OK\r\n") == 2  # one asked for, one smuggled


def test_a_header_picks_the_behaviour_over_the_path(url: str) -> None:
    wire = _exchange(url, "/ok/v1/x", {"x-hostile-behaviour": "error-body", "x-hostile-size": "10"})
    assert wire.startswith(b"HTTP/1.1 500 ")


def test_stalls_end_after_their_time_or_when_the_client_goes(url: str) -> None:
    started = time.monotonic()
    wire = _exchange(url, "/stall-headers/v1/x", {"x-hostile-seconds": "60"})
    assert wire == b""
    assert 1.5 < time.monotonic() - started < 10  # max_stall_s (2 s), not the 60 asked for

    before = httpx.get(url + "/_stats").json()["gone"]
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /stall/v1/x HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
    deadline = time.monotonic() + 5
    while httpx.get(url + "/_stats").json()["gone"] == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert httpx.get(url + "/_stats").json()["gone"] == before + 1


def test_the_server_runs_in_a_loop_and_stops_with_its_context() -> None:
    async def main() -> None:
        server = HostileUpstream()
        base = await server.start()
        async with httpx.AsyncClient(base_url=base) as client:
            assert (await client.post("/ok/v1/x", json={})).status_code == 200
        await server.close()

    asyncio.run(main())
    with serve_hostile() as base:
        port = int(base.rsplit(":", 1)[1])
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
