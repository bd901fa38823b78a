"""``llmobs store serve`` with one fault injected, for the kill -9 / exception tests.

The store is the real one; ``LLMOBS_TEST_FAULT=point:arg`` wraps one of its functions first:

* ``kill_after_insert:N`` — SIGKILL right after the N-th successful insert of span rows;
* ``kill_before_commit:N`` / ``kill_after_commit:N`` — around the N-th spool checkpoint;
* ``kill_after_dead_letter:N`` — after the N-th dead letter is stored, before its checkpoint;
* ``raise_in_insert:N`` — the first N inserts raise RuntimeError (a writer bug, transient);
* ``raise_in_merge`` — every content merge raises RuntimeError;
* ``raise_in_normalise:NAME`` — normalising a span called NAME raises RuntimeError;
* ``unavailable_in_insert_of:TABLE`` — the first insert into TABLE fails as unreachable (after
  the batch's earlier tables were inserted);
* ``raise_in_insert_of:TABLE:N`` — the N-th insert into TABLE raises RuntimeError (a later
  table of the batch, a writer bug);
* ``raise_in_spool_read:N`` — the N-th spool read raises OSError (transient);
* ``corrupt_spool_record:N`` — the N-th spooled record is written with a wrong CRC.
"""

import os
import runpy
import signal
import sys
import zlib
from collections.abc import Callable
from typing import Any


def _counting(original: Callable[..., Any], n: int, when: str, match: Callable[..., bool]) -> Any:
    calls = [0]

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        hit = match(*args, **kwargs)
        if hit:
            calls[0] += 1
        if hit and when == "before" and calls[0] == n:
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(*args, **kwargs)
        if hit and when == "after" and calls[0] == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    return wrapper


def install(fault: str) -> None:
    from llmobs_store import batch
    from llmobs_store.merge import ContentMerger
    from llmobs_store.spool import Spool
    from llmobs_store.storage import Storage

    point, _, arg = fault.partition(":")
    every = lambda *a, **k: True  # noqa: E731
    if point == "kill_after_insert":
        spans = lambda self, table, lines: table == "spans"  # noqa: E731
        Storage.insert = _counting(Storage.insert, int(arg), "after", spans)  # type: ignore[method-assign]
    elif point in ("kill_before_commit", "kill_after_commit"):
        when = point.split("_")[1]
        Spool.commit = _counting(Spool.commit, int(arg), when, every)  # type: ignore[method-assign]
    elif point == "kill_after_dead_letter":
        from llmobs_store.deadletter import DeadLetters

        real = DeadLetters.store
        non_empty = lambda self, letters: bool(letters)  # noqa: E731
        DeadLetters.store = _counting(real, int(arg), "after", non_empty)  # type: ignore[method-assign]
    elif point == "raise_in_insert":
        left = [int(arg)]
        real_insert = Storage.insert

        def flaky(self: Storage, table: str, lines: Any) -> None:
            if left[0] > 0:
                left[0] -= 1
                raise RuntimeError("injected writer failure")
            real_insert(self, table, lines)

        Storage.insert = flaky  # type: ignore[method-assign]
    elif point == "raise_in_merge":

        def broken(self: ContentMerger) -> int:
            raise RuntimeError("injected merge failure")

        ContentMerger.merge_due = broken  # type: ignore[method-assign]
    elif point == "raise_in_normalise":
        real_normalise = batch.normalise_span

        def choking(span: Any, *args: Any) -> Any:
            if span.name == arg:
                raise RuntimeError("injected normaliser failure")
            return real_normalise(span, *args)

        batch.normalise_span = choking  # type: ignore[assignment]
    else:
        _install_more(point, arg)


def _install_more(point: str, arg: str) -> None:
    from llmobs_store import spool as spool_module
    from llmobs_store.spool import Spool
    from llmobs_store.storage import Storage, StorageUnavailable

    if point in ("unavailable_in_insert_of", "raise_in_insert_of"):
        table, _, nth = arg.partition(":")
        calls, insert = [0], Storage.insert

        def failing(self: Storage, name: str, lines: Any) -> None:
            if name == table and lines:
                calls[0] += 1
                if calls[0] == int(nth or 1):
                    if point == "raise_in_insert_of":
                        raise RuntimeError(f"injected failure inserting {table}")
                    raise StorageUnavailable(f"injected: unreachable inserting {table}")
            insert(self, name, lines)

        Storage.insert = failing  # type: ignore[method-assign]
    elif point == "raise_in_spool_read":
        reads, read = [0], Spool.read

        def flaky(self: Spool, max_bytes: int, wait_s: float) -> Any:
            if wait_s == 0.0:  # a read for more while a batch holds walked records already
                reads[0] += 1
                if reads[0] == int(arg):
                    raise OSError("injected: spool read failed (transient)")
            return read(self, max_bytes, wait_s)

        Spool.read = flaky  # type: ignore[method-assign]
    elif point == "corrupt_spool_record":
        appends, append = [0], Spool.append

        def corrupting(self: Spool, kind: int, payload: bytes) -> Any:
            appends[0] += 1
            if appends[0] != int(arg):
                return append(self, kind, payload)
            # Spool.append with a wrong CRC: acknowledged, then found corrupt by the reader.
            header = spool_module._HEADER.pack(len(payload), zlib.crc32(payload) ^ 1, kind)
            with self._cond:
                self._file.write(header + payload)
                self._file.flush()
                self.end = spool_module.Position(
                    self.end.segment, self.end.offset + len(header) + len(payload)
                )
                self._sizes[self.end.segment] = self.end.offset
                self._cond.notify_all()
                return self.end

        Spool.append = corrupting  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown fault {point!r}")


if __name__ == "__main__":
    install(os.environ["LLMOBS_TEST_FAULT"])
    sys.argv = ["llmobs", *sys.argv[1:]]
    runpy.run_module("llmobs_cli.main", run_name="__main__")
