"""Differential fuzzing of the gateway's HTTP/1.1 server against h11.

Each byte stream (hypothesis-generated pipelined requests, mutated; and the seed corpus of
smuggling and framing cases in ``corpus/http1/*.bin``, always replayed) goes over a real socket
to a real :class:`HttpServer`, whose handler stands where the upstream would be and records
every request that reached it. h11 reads the same stream. They must agree on the requests
(how many; each one's method, path, headers and body), or the gateway must be the stricter:
it stops early with a 4xx (or 501), or closes. It never serves a request h11 does not see,
never a different one, and never answers 500.

A real socket and not the protocol object: it costs about a millisecond an example, and it
covers what a transport adds (reads split by TCP, back-pressure, close versus abort).
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import uvloop
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from llmobs_gateway._server import Exchange, HttpServer, Request

from . import _h1_reference as reference
from ._h1_strategies import request_streams
from .conftest import one_upstream, run_gateway

CORPUS = sorted((Path(__file__).parent / "corpus" / "http1").glob("*.bin"))
REFUSALS = {400, 405, 408, 413, 431, 501, 505}


class RecordingServer:
    """An :class:`HttpServer` on its own uvloop thread; ``seen`` is what reached the handler."""

    def __init__(self) -> None:
        self.seen: list[reference.Message] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: uvloop.run(self._main()), daemon=True)

    async def _handle(self, request: Request, exchange: Exchange) -> None:
        start = (request.method.encode("latin-1"), request.path.encode("latin-1"))
        self.seen.append(reference.Message(start, tuple(request.headers), request.body))
        exchange.send_whole(200, b"{}")

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        server = HttpServer(self._handle, max_body_bytes=1 << 20, read_timeout_s=10)
        await server.start("127.0.0.1", 0)
        self.port = server.port
        self._ready.set()
        await self._stop.wait()
        await server.shutdown(0.5)

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture(scope="module")
def server() -> Iterator[RecordingServer]:
    with RecordingServer() as running:
        yield running


def _statuses(buffer: bytes) -> tuple[list[int], bytes]:
    """Final statuses of the complete responses at the start of ``buffer``, and the rest."""
    found: list[int] = []
    while (end := buffer.find(b"\r\n\r\n")) >= 0:
        lines = buffer[:end].split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        if len(buffer) < end + 4 + length:
            break
        buffer = buffer[end + 4 + length :]
        if status >= 200:  # 100 Continue is not an answer
            found.append(status)
    return found, buffer


def talk(
    port: int, data: bytes, expected: int, app: bool = False, splits: Sequence[int] = ()
) -> tuple[list[int], bool]:
    """Send ``data``; the statuses answered, and whether the server closed the connection.

    Reads until the server closes, or, once ``expected`` answers came, until it stays quiet
    for 50 ms (long enough for one more answer, if it saw more requests than h11). With
    ``app``, a 4xx is the app's answer (404, invalid JSON), not a refusal that ends the talk.
    ``splits``: offsets where the stream is cut into separate writes (so, separate reads).
    """
    statuses: list[int] = []
    buffer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cuts = [0, *sorted({c % (len(data) + 1) for c in splits}), len(data)]
        try:
            for start, end in itertools.pairwise(cuts):
                sock.sendall(data[start:end])
                time.sleep(0.001)  # one read each, so framing across reads is fuzzed too
        except ConnectionError:
            pass  # refused and closed before the rest was sent: read the refusal
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            refused = not app and statuses and statuses[-1] >= 400
            enough = len(statuses) >= expected and not refused
            sock.settimeout(0.05 if enough else max(deadline - time.monotonic(), 0.01))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                if enough:
                    return statuses, False
                continue
            except ConnectionError:
                return statuses, True
            if not chunk:
                return statuses, True
            found, buffer = _statuses(buffer + chunk)
            statuses.extend(found)
    raise AssertionError(f"no end after {statuses}")


def comparable(message: reference.Message) -> reference.Message:
    """h11's request as the handler gets it: the path without the query, a declined h2c
    upgrade's ``Upgrade`` field dropped (it is hop-by-hop), transfer codings lower-cased (h11
    lower-cases them; they are case-insensitive)."""
    method, target = message.start
    headers = message.headers
    if (b"upgrade", b"h2c") in headers:
        headers = tuple(h for h in headers if h[0] != b"upgrade")
    headers = tuple((n, v.lower() if n == b"transfer-encoding" else v) for n, v in headers)
    return reference.Message((method, target.partition(b"?")[0]), headers, message.body)


# How many requests of a seed must reach the handler (seeds not named here: any number h11
# allows, zero included). Keeps "refuse everything" from passing as "stricter".
SERVED = {
    "pipelined-three": 3,
    "pipelined-chunked-then-length": 2,
    "http10-keep-alive": 3,
    "http10-then-more": 1,
    "connection-close-then-more": 1,
    "upgrade-h2c-with-body": 2,
    "upgrade-without-connection": 2,
    "expect-100-continue": 2,
    "trailers": 2,
    "trailer-host-and-length": 0,  # llhttp refuses a Content-Length even in trailers
    "chunk-extensions": 2,
    "te-te-tab": 2,
    "te-te-uppercase": 2,
    "leading-crlf": 2,
    "header-trailing-whitespace": 2,
    "get-with-body": 2,
    "absolute-form-target": 2,
    "cl-te": 0,
    "te-cl": 0,
    "te-gzip-chunked": 0,
    "cl-duplicate-different": 0,
    "host-twice": 0,
    "host-missing": 0,
    "connect": 0,
    "upgrade-websocket": 0,
    "obs-fold": 0,
    "bare-lf-headers": 0,
}


def check(
    server: RecordingServer, data: bytes, served: int | None = None, splits: Sequence[int] = ()
) -> int:
    """Compare; returns how many requests reached the handler."""
    expected, ending = reference.requests(data)
    server.seen.clear()
    statuses, closed = talk(server.port, data, len(expected), splits=splits)
    time.sleep(0.002)  # a request dispatched just before the close may still be recording
    seen = [comparable(m) for m in server.seen]
    assert all(s < 500 or s in REFUSALS for s in statuses), f"5xx: {statuses}"
    # What reached the handler is what h11 read, request for request, in order.
    wanted = [comparable(m) for m in expected]
    assert seen == wanted[: len(seen)], f"h11 read {wanted}, the handler got {seen}"
    # Every request served was answered, in order, before any refusal.
    assert statuses[: len(seen)] == [200] * len(seen), statuses
    refusal = statuses[len(seen) :]
    assert len(refusal) <= 1, statuses
    if len(seen) < len(wanted):  # the gateway stopped early: only by refusing, then closing
        assert refusal, (statuses, ending)
        assert closed
    assert all(status in REFUSALS for status in refusal), statuses
    assert served is None or len(seen) == served, f"served {seen}"
    return len(seen)


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_the_seed_corpus_agrees_with_h11_or_is_stricter(
    server: RecordingServer, path: Path
) -> None:
    check(server, path.read_bytes(), SERVED.get(path.stem))


def test_the_seed_corpus_is_there() -> None:
    assert set(SERVED) <= {path.stem for path in CORPUS}
    assert len(CORPUS) >= 60


@pytest.mark.fuzz
@settings(settings.get_profile("fuzz"))
@given(data=request_streams(), splits=st.lists(st.integers(0, 1 << 16), max_size=3))
@example(data=b"GET / HTTP/1.1\r\nhost: t\r\n\r\n", splits=[])
def test_fuzzed_request_streams_agree_with_h11_or_are_refused(
    server: RecordingServer, data: bytes, splits: list[int]
) -> None:
    served = check(server, data, splits=splits)
    event(f"requests served: {served}")  # shown by --hypothesis-show-statistics


class RecordingUpstream:
    """A real upstream on its own thread: answers every request with a chat completion and
    records each request's target and body, that is, what reached it."""

    ANSWER = b'{"id":"c","object":"chat.completion","choices":[],"model":"sim-model"}'

    def __init__(self) -> None:
        self.seen: list[tuple[bytes, bytes]] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                self.seen.append((head.split(b" ")[1], buffer[:length]))
                buffer = buffer[length:]
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(self.ANSWER), self.ANSWER)
                )

    def close(self) -> None:
        self._sock.close()


@pytest.fixture(scope="module")
def gateway() -> Iterator[tuple[int, RecordingUpstream]]:
    upstream = RecordingUpstream()
    try:
        with run_gateway(one_upstream(upstream.url)) as running:
            yield int(running.url.rsplit(":", 1)[1]), upstream
    finally:
        upstream.close()


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_through_the_gateway_only_what_h11_reads_reaches_the_upstream(
    gateway: tuple[int, RecordingUpstream], path: Path
) -> None:
    port, upstream = gateway
    data = path.read_bytes()
    expected, _ = reference.requests(data)
    chats = [m.body for m in expected if m.start == (b"POST", b"/v1/chat/completions")]
    upstream.seen.clear()
    statuses, _ = talk(port, data, len(expected), app=True)
    time.sleep(0.01)  # a proxied call still in flight when the gateway answered a refusal
    assert all(status < 500 or status in REFUSALS for status in statuses), statuses
    reached = [body for _, body in upstream.seen]
    assert len(reached) <= len(chats), f"h11 read {chats}; the upstream got {reached}"
    assert all(body in chats for body in reached), f"smuggled: {reached} not in {chats}"
    if path.stem == "chat-pipelined-two":  # the replay does reach the upstream at all
        assert len(reached) == 2
