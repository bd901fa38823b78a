"""Differential fuzzing of the upstream client's response framing against h11.

A real TCP upstream on 127.0.0.1 answers one ``POST`` with hypothesis-generated, mutated
response bytes (1xx first, duplicate or odd framing headers, chunk extensions and trailers,
close-delimited bodies, a second response glued on) and closes. The gateway's client must read
the very message h11's client reads (status, headers, body), or fail the exchange with
UpstreamBrokenError, which the proxy answers with 502. It must never return a message h11
does not read, nor one byte of a second response.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import example, given, settings

from llmobs_gateway._upstream_http import UpstreamBrokenError, UpstreamPool

from . import _h1_reference as reference
from ._h1_strategies import response_streams

CORPUS = sorted((Path(__file__).parent / "corpus" / "http1-upstream").glob("*.bin"))


async def fetch(reply: bytes) -> reference.Message | None:
    """What the client reads when the upstream answers with ``reply`` and closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n{}")
            writer.write(reply)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = UpstreamPool(f"http://127.0.0.1:{port}", max_connections=1, connect_timeout_s=2)
    try:
        async with asyncio.timeout(5):
            response = await pool.request(b"POST", "/x", [], b"{}")
            try:
                body = await response.read()
            finally:
                response.close()
    except UpstreamBrokenError:
        return None
    finally:
        await pool.aclose()
        server.close()
    return reference.Message((b"%d" % response.status,), tuple(response.headers), body)


def comparable(message: reference.Message) -> reference.Message:
    """Transfer codings lower-cased on both sides (h11 lower-cases them)."""
    headers = tuple((n, v.lower() if n == b"transfer-encoding" else v) for n, v in message.headers)
    return reference.Message(message.start, headers, message.body)


# Seeds the client must read (not fail): valid answers, glued desyncs whose first message is
# sound, 1xx before the final answer, trailers, close-delimited bodies.
READ = {
    "length",
    "glued-second-response",
    "glued-after-chunked",
    "glued-after-100-continue",
    "garbage-after-response",
    "chunk-extensions-and-trailers",
    "close-delimited",
    "http10-close-delimited",
    "early-hints",
    "no-content-204-with-body",
    "trailing-whitespace",
    "reason-tab-and-obs-text",
}


def check(reply: bytes, must_read: bool = False) -> None:
    ours = asyncio.run(fetch(reply))
    assert ours is not None or not must_read, "the client failed a sound response"
    if ours is None:
        return  # a failed exchange: a 502 to the client, never a wrong answer
    theirs = reference.response(reply)
    assert theirs is not None, f"h11 reads no valid response in {reply!r}; the client read {ours}"
    assert comparable(ours) == comparable(theirs)
    # The strategy's glued second response ("EVIL") is never read into a delimited first one
    # (a close-delimited body does run to the close, second response and all, in h11 too).
    if any(name in (b"content-length", b"transfer-encoding") for name, _ in ours.headers):
        assert b"EVIL" not in ours.body
    assert (b"x-request-id", b"EVIL") not in ours.headers


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_the_upstream_seed_corpus_reads_as_h11_reads_it_or_fails(path: Path) -> None:
    check(path.read_bytes(), must_read=path.stem in READ)


def test_the_upstream_seed_corpus_is_there() -> None:
    assert {path.stem for path in CORPUS} >= READ


@pytest.mark.fuzz
@settings(settings.get_profile("fuzz"))
@given(reply=response_streams())
@example(reply=b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
def test_fuzzed_upstream_responses_read_as_h11_reads_them_or_fail(reply: bytes) -> None:
    check(reply)
