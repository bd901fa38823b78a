"""An upstream response as the proxy reads it, and the errors an upstream call raises.

The body arrives from the connection (``_upstream_connection``) and is either buffered for
``chunks``/``read`` (bounded: past ``_MAX_BUFFER`` the connection stops reading) or handed straight
on by ``relay`` from the connection's data callback.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Callable
from typing import Protocol

_MAX_BUFFER = 1 << 20  # pause reading from the upstream past 1 MiB not yet taken by the client
_BUFFER, _CLIENT, _TURN = "buffer", "client", "turn"  # why reading from an upstream is paused


class UpstreamConnectError(OSError):
    """The upstream could not be connected to."""


class UpstreamBrokenError(OSError):
    """The connection broke or the upstream sent something that is not HTTP/1.1."""


class UpstreamTooLargeError(UpstreamBrokenError):
    """The upstream's response headers or body went over the gateway's limit."""


class ResponseSource(Protocol):
    """What a response needs of the connection it arrives on (``_upstream_connection``)."""

    paused: set[str]

    def pause(self, reason: str) -> None: ...

    def resume(self, reason: str) -> None: ...

    def release(self, response: UpstreamResponse, *, reusable: bool) -> None: ...


class UpstreamResponse:
    """Status and headers of an upstream response, and its body as it arrives."""

    __slots__ = (
        "_chunks",
        "_conn",
        "_error",
        "_finished",
        "_idle_s",
        "_last",
        "_loop",
        "_relay",
        "_size",
        "_waiter",
        "_watchdog",
        "headers",
        "status",
    )

    def __init__(self, conn: ResponseSource) -> None:
        self._conn = conn
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []  # names lower-cased
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._finished = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._relay: Callable[[bytes], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last = 0.0
        self._idle_s = 0.0
        self._watchdog: asyncio.TimerHandle | None = None

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    # -- fed by the connection ------------------------------------------------------------
    def _push(self, data: bytes) -> None:
        relay = self._relay
        if relay is not None:
            assert self._loop is not None
            self._last = self._loop.time()
            relay(data)
            return
        self._chunks.append(data)
        self._size += len(data)
        if self._size > _MAX_BUFFER:
            self._conn.pause(_BUFFER)
        self._wake()

    def _finish(self, error: BaseException | None = None) -> None:
        if not self._finished:
            self._finished = True
            self._error = error
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- read by the proxy ----------------------------------------------------------------
    async def chunks(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive; raises UpstreamBrokenError if the connection breaks."""
        while True:
            if self._chunks:
                data = self._chunks.popleft()
                self._size -= len(data)
                if self._size <= _MAX_BUFFER // 2:
                    self._conn.resume(_BUFFER)
                yield data
            elif self._finished:
                if self._error is not None:
                    raise UpstreamBrokenError(str(self._error)) from self._error
                return
            else:
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter
                self._waiter = None

    async def relay(self, on_data: Callable[[bytes], None], idle_timeout_s: float) -> None:
        """Hand body bytes to ``on_data`` as they arrive, until the body ends.

        ``on_data`` runs inside the connection's data callback: no task wakes up per chunk, which
        is what keeps a streamed chunk's trip through the gateway cheap. It must not raise. One
        watchdog timer (not a timeout re-armed per chunk) cuts an upstream silent for
        ``idle_timeout_s`` with TimeoutError; a broken connection raises UpstreamBrokenError.
        """
        while self._chunks:  # bytes that came with the headers
            data = self._chunks.popleft()
            self._size -= len(data)
            on_data(data)
        self._conn.resume(_BUFFER)
        if not self._finished:
            loop = self._loop = asyncio.get_running_loop()
            self._relay = on_data
            self._idle_s = idle_timeout_s
            self._last = loop.time()
            self._watchdog = loop.call_at(self._last + idle_timeout_s, self._check_idle)
            self._waiter = loop.create_future()
            try:
                await self._waiter
            finally:
                self._relay = self._waiter = None
                if self._watchdog is not None:
                    self._watchdog.cancel()
                    self._watchdog = None
        error = self._error
        if error is not None:
            if isinstance(error, TimeoutError):
                raise TimeoutError(str(error))
            raise UpstreamBrokenError(str(error)) from error

    def _check_idle(self) -> None:
        assert self._loop is not None
        self._watchdog = None
        if self._finished:
            return
        now = self._loop.time()
        if _CLIENT in self._conn.paused:
            # Not reading because the client is slow: the upstream is not the one silent.
            self._last = now
        due = self._last + self._idle_s
        if now >= due:
            self._finish(TimeoutError(f"no bytes from upstream for {self._idle_s} s"))
        else:
            self._watchdog = self._loop.call_at(due, self._check_idle)

    def pause_reading(self) -> None:
        """The client reads slower than the upstream sends: stop reading the upstream."""
        self._conn.pause(_CLIENT)

    def resume_reading(self) -> None:
        if self._relay is not None and self._loop is not None:
            self._last = self._loop.time()  # the upstream's silence counts from here again
        self._conn.resume(_CLIENT)

    async def read(self, max_bytes: int | None = None) -> bytes:
        """The whole body; past ``max_bytes`` raises UpstreamTooLargeError (the rest unread)."""
        parts: list[bytes] = []
        size = 0
        async for chunk in self.chunks():
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise UpstreamTooLargeError(f"response body over the limit of {max_bytes} bytes")
            parts.append(chunk)
        return b"".join(parts)

    def close(self) -> None:
        """Give the connection back when the body was read to its end, else abort it."""
        self._conn.release(self, reusable=self._finished and self._error is None)
