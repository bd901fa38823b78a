"""Stream proxies: the user keeps the SDK's ``Stream`` / ``AsyncStream`` (isinstance holds).

``wrapt.ObjectProxy`` forwards everything we do not override; we override iteration, ``close``
and the context-manager methods. The call ends exactly once: on exhaustion, on an error, on
``close()`` or ``__exit__`` before the end (recorded as abandoned), when the task is cancelled
(abandoned), or when the proxy is garbage-collected after a ``break`` without ``close()``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Callable

import wrapt

from llmobs_probe import _guard
from llmobs_probe._call import Call

ChunkHandler = Callable[[Call, Any], None]

if TYPE_CHECKING:
    Proxy = wrapt.ObjectProxy[Any]
else:  # wrapt 1.x (older images) is not subscriptable at runtime
    Proxy = wrapt.ObjectProxy


class SyncStream(Proxy):
    """Proxy of ``openai.Stream``."""

    def __init__(self, stream: Any, call: Call, on_chunk: ChunkHandler) -> None:
        super().__init__(stream)
        self._self_call = call
        self._self_on_chunk = on_chunk
        # The SDK's Stream.__next__ only forwards to its generator: call that directly (one
        # Python frame less per chunk); fall back to the public method if the SDK changes.
        iterator = getattr(stream, "_iterator", None)
        self._self_next = getattr(iterator, "__next__", None) or stream.__next__

    def __iter__(self) -> SyncStream:
        return self

    def __next__(self) -> Any:
        try:
            chunk = self._self_next()
        except StopIteration:
            self._self_call.finish()
            raise
        except BaseException as exc:
            self._self_call.finish(error=exc, abandoned=isinstance(exc, GeneratorExit))
            raise
        try:
            self._self_on_chunk(self._self_call, chunk)
        except Exception as exc:
            _guard.record_error("openai stream chunk", exc)
        return chunk

    def __enter__(self) -> SyncStream:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_call.finish(
                error=exc if isinstance(exc, Exception) else None, abandoned=True
            )

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_call.finish(abandoned=True)

    def __del__(self) -> None:
        call = getattr(self, "_self_call", None)
        if call is not None and not call.done:
            call.finish(abandoned=True)


class AsyncStream(Proxy):
    """Proxy of ``openai.AsyncStream``."""

    def __init__(self, stream: Any, call: Call, on_chunk: ChunkHandler) -> None:
        super().__init__(stream)
        self._self_call = call
        self._self_on_chunk = on_chunk

    def __aiter__(self) -> AsyncStream:
        return self

    async def __anext__(self) -> Any:
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_call.finish()
            raise
        except asyncio.CancelledError:
            self._self_call.finish(abandoned=True)
            raise
        except BaseException as exc:
            self._self_call.finish(error=exc)
            raise
        try:
            self._self_on_chunk(self._self_call, chunk)
        except Exception as exc:
            _guard.record_error("openai stream chunk", exc)
        return chunk

    async def __aenter__(self) -> AsyncStream:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_call.finish(
                error=exc if isinstance(exc, Exception) else None, abandoned=True
            )

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_call.finish(abandoned=True)

    def __del__(self) -> None:
        call = getattr(self, "_self_call", None)
        if call is not None and not call.done:
            call.finish(abandoned=True)
