"""A hostile upstream: a real asyncio server on 127.0.0.1 that answers with raw, bad bytes.

Each request picks a behaviour by the first path segment (a gateway upstream whose base URL is
``http://127.0.0.1:PORT/tiny-chunks/v1`` gets that one on every call) or by an
``x-hostile-behaviour`` header (which wins); ``x-hostile-size``, ``x-hostile-chunk``,
``x-hostile-count`` and ``x-hostile-seconds`` tune it. Every behaviour is bounded: an "endless"
body stops at ``size`` (capped by the server's ``max_bytes``) or when the client goes, a stall
ends after ``seconds`` (capped by ``max_stall_s``). Behaviours:

``ok``            a small valid chat completion (SSE when the request asked for a stream)
``tiny-chunks``   a valid SSE stream of ``size`` bytes sent as HTTP chunks of ``chunk`` bytes
``lone-cr``       the same, but the stream starts ``data: \\r`` and then has no event boundary
``big-json``      a valid JSON body of ``size`` bytes (an embeddings-like reply)
``endless-body``  a JSON content type and ``size`` bytes that never form a document, no length
``huge-headers``  response headers of ``size`` bytes, sent in pieces of ``chunk`` bytes
``error-body``    a 500 whose body is ``size`` bytes
``interim-flood`` ``count`` ``103 Early Hints`` responses before a small valid one
``desync``        a valid response followed by the bytes of a second, unasked-for response
``stall``         a stream's headers and one event, then silence for ``seconds``
``stall-headers`` nothing at all for ``seconds``
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator

_HEAD_LIMIT = 64 * 1024
_EVENT = (
    b'data: {"id":"chatcmpl-hostile","object":"chat.completion.chunk","model":"hostile",'
    b'"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}\n\n'
)
_COMPLETION = json.dumps(
    {
        "id": "chatcmpl-hostile",
        "object": "chat.completion",
        "model": "hostile",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
).encode()
BEHAVIOURS = frozenset(
    {
        "ok",
        "tiny-chunks",
        "lone-cr",
        "big-json",
        "endless-body",
        "huge-headers",
        "error-body",
        "interim-flood",
        "desync",
        "stall",
        "stall-headers",
    }
)


class _Ask:
    """What one request asked of the server."""

    def __init__(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        self.path = lines[0].split(" ")[1] if " " in lines[0] else "/"
        self.headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        first = self.path.lstrip("/").split("/", 1)[0]
        self.behaviour = self.headers.get("x-hostile-behaviour") or (
            first if first in BEHAVIOURS else "ok"
        )
        self.stream = False

    def read_body(self, body: bytes) -> None:
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            return
        self.stream = isinstance(doc, dict) and doc.get("stream") is True

    def number(self, name: str, default: float) -> float:
        try:
            return float(self.headers.get(f"x-hostile-{name}", default))
        except ValueError:
            return default


class HostileUpstream:
    """The server; start it in a running loop (``start``/``close``) or use :func:`serve_hostile`."""

    def __init__(self, *, max_bytes: int = 64 * 1024 * 1024, max_stall_s: float = 30.0) -> None:
        self.max_bytes = max_bytes
        self.max_stall_s = max_stall_s
        self.requests = 0
        self.gone = 0  # responses cut short because the client went away
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = await asyncio.start_server(self._serve, host, port)
        return f"http://{host}:{self._server.sockets[0].getsockname()[1]}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
                    return
                if len(head) > _HEAD_LIMIT:
                    return
                ask = _Ask(head[:-4])
                length = int(ask.headers.get("content-length", "0") or 0)
                ask.read_body(await reader.readexactly(min(length, 16 * 1024 * 1024)))
                if ask.path != "/_stats":
                    self.requests += 1
                if not await self._answer(ask, reader, writer):
                    # Close, not abort: drain() leaves up to 64 KiB buffered, which an abort
                    # would drop, cutting the answer short by accident.
                    writer.close()
                    async with asyncio.timeout(10):
                        await writer.wait_closed()
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            self.gone += 1
        except TimeoutError:
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    async def _answer(self, ask: _Ask, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        """Write one answer; True when the connection may carry another request."""
        size = int(min(ask.number("size", 1024 * 1024), self.max_bytes))
        chunk = max(1, int(ask.number("chunk", 1)))
        seconds = min(ask.number("seconds", 5.0), self.max_stall_s)
        kind = ask.behaviour
        if ask.path == "/_stats":
            stats = json.dumps({"requests": self.requests, "gone": self.gone}).encode()
            w.write(_head(200, b"application/json", length=len(stats)) + stats)
            await w.drain()
            return True
        if kind == "ok":
            await self._ok(ask, w)
            return True
        if kind in ("tiny-chunks", "lone-cr"):
            await self._tiny_chunks(w, size, chunk, lone_cr=kind == "lone-cr")
        elif kind == "big-json":
            w.write(_head(200, b"application/json", length=size))
            await _write_sized(w, _big_json(size))
        elif kind == "endless-body":
            w.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
            )
            await _repeat(w, b"[1," * 21845 + b"\n", size)
        elif kind == "huge-headers":
            await self._huge_headers(w, size, max(chunk, 1024))
        elif kind == "error-body":
            w.write(_head(500, b"application/json", length=size))
            await _repeat(w, b" " * 65536, size)
        elif kind == "interim-flood":
            hint = b"HTTP/1.1 103 Early Hints\r\nlink: </x>; rel=preload\r\n\r\n"
            for _ in range(int(min(ask.number("count", 10_000), 1_000_000)) // 256):
                w.write(hint * 256)
                await w.drain()
            await self._ok(ask, w)
        elif kind == "desync":
            await self._ok(ask, w)
            w.write(_head(200, b"application/json", length=len(_COMPLETION)) + _COMPLETION)
            await w.drain()
            await asyncio.sleep(0.2)  # leave the smuggled answer time to be read
        elif kind == "stall":
            w.write(_head(200, b"text/event-stream", chunked=True) + _framed(_EVENT))
            await w.drain()
            await self._silence(r, seconds)
        elif kind == "stall-headers":
            await self._silence(r, seconds)
        return False

    async def _silence(self, r: asyncio.StreamReader, seconds: float) -> None:
        """Say nothing for ``seconds``, or until the client goes (counted as gone)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while await r.read(65536):
                    pass
                self.gone += 1

    async def _ok(self, ask: _Ask, w: asyncio.StreamWriter) -> None:
        if ask.stream:
            w.write(_head(200, b"text/event-stream", chunked=True))
            w.write(_framed(_EVENT * 3 + b"data: [DONE]\n\n") + b"0\r\n\r\n")
        else:
            w.write(_head(200, b"application/json", length=len(_COMPLETION)) + _COMPLETION)
        await w.drain()

    async def _tiny_chunks(
        self, w: asyncio.StreamWriter, size: int, chunk: int, *, lone_cr: bool
    ) -> None:
        # The payload repeats one unit whose length is a multiple of the chunk size, so the unit
        # is framed once and the wire (size/chunk HTTP chunks) costs the server no per-chunk work.
        w.write(_head(200, b"text/event-stream", chunked=True))
        if lone_cr:
            w.write(_framed(b"data: \r"))
            unit = b"x" * (chunk * max(1, 4096 // chunk))
        else:
            unit = _EVENT * chunk
        framed = b"".join(_framed(unit[i : i + chunk]) for i in range(0, len(unit), chunk))
        per_write = max(1, (256 * 1024) // len(framed))
        units = max(1, size // len(unit))
        while units > 0:
            n = min(units, per_write)
            w.write(framed * n)
            units -= n
            await w.drain()
        tail = b"\n\ndata: [DONE]\n\n" if lone_cr else b"data: [DONE]\n\n"
        w.write(_framed(tail) + b"0\r\n\r\n")
        await w.drain()

    async def _huge_headers(self, w: asyncio.StreamWriter, size: int, piece: int) -> None:
        w.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
        line = b"x-pad: " + b"a" * 1000 + b"\r\n"
        block = line * max(1, piece // len(line))
        sent = 0
        while sent < size:
            w.write(block)
            sent += len(block)
            await w.drain()
        w.write(b"content-length: %d\r\n\r\n%b" % (len(_COMPLETION), _COMPLETION))
        await w.drain()


def _head(status: int, content_type: bytes, *, length: int = -1, chunked: bool = False) -> bytes:
    """A response head; with neither a length nor chunked it is left open for more headers."""
    reason = {200: b"OK", 500: b"Internal Server Error"}.get(status, b"Status")
    lines = [b"HTTP/1.1 %d %b" % (status, reason), b"content-type: " + content_type]
    if chunked:
        lines.append(b"transfer-encoding: chunked")
    elif length >= 0:
        lines.append(b"content-length: %d" % length)
    return b"\r\n".join(lines) + b"\r\n" + (b"" if length < 0 and not chunked else b"\r\n")


def _framed(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


def _big_json(size: int) -> bytes:
    """A valid embeddings-like document of exactly ``size`` bytes (at least the bare frame)."""
    start = (
        b'{"object":"list","model":"hostile","data":[{"object":"embedding","index":0,"embedding":['
    )
    end = b'0.5]}],"usage":{"prompt_tokens":3,"total_tokens":3}}'
    filler = max(0, size - len(start) - len(end))
    unit = b"0.125,"
    return start + unit * (filler // len(unit)) + b" " * (filler % len(unit)) + end


async def _write_sized(w: asyncio.StreamWriter, data: bytes) -> None:
    view = memoryview(data)
    for i in range(0, len(data), 1 << 20):
        w.write(view[i : i + (1 << 20)])
        await w.drain()


async def _repeat(w: asyncio.StreamWriter, unit: bytes, size: int) -> None:
    sent = 0
    while sent < size:
        part = unit[: size - sent]
        w.write(part)
        sent += len(part)
        await w.drain()


@contextlib.contextmanager
def serve_hostile(
    *, max_bytes: int = 64 * 1024 * 1024, max_stall_s: float = 30.0, niceness: int = 0
) -> Iterator[str]:
    """Run a :class:`HostileUpstream` in a child process and yield its base URL.

    A process, not a thread: writing tens of megabytes of tiny chunks must not take the GIL from
    a gateway running in the test's process, whose event-loop latency the test measures.
    ``GET /_stats`` on it answers its counters (requests, gone) as JSON. ``niceness`` lowers
    its CPU priority, so that on a busy machine the gateway it feeds is not the one that waits.
    """
    args = [sys.executable, "-m", "llmobs_testing.hostile", str(max_bytes), str(max_stall_s)]
    args.append(str(niceness))
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if not line.startswith("http://"):
            raise RuntimeError(f"the hostile upstream did not start: {line!r}")
        yield line
    finally:
        try:
            proc.communicate(b"", timeout=10)  # stdin closing is the signal to stop
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


async def _main(max_bytes: int, max_stall_s: float, niceness: int) -> None:
    if niceness:
        os.nice(niceness)
    server = HostileUpstream(max_bytes=max_bytes, max_stall_s=max_stall_s)
    print(await server.start(), flush=True)
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[None] = loop.create_future()

    def stdin_ready() -> None:  # stdin closing (the parent's signal, or its death): stop
        if not stop.done():
            stop.set_result(None)

    loop.add_reader(sys.stdin.fileno(), stdin_ready)
    try:
        await stop
    finally:
        loop.remove_reader(sys.stdin.fileno())
        await server.close()


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])))
