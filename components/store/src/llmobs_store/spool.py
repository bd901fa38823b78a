"""The write-ahead spool: a request is acknowledged once its payload is here, on disk.

Records are appended to numbered segment files (``000000000001.wal``…) as
``length | crc32 | kind | payload`` and fsynced before :meth:`Spool.append` returns. The writer
thread reads them in order from the checkpoint, inserts them into ClickHouse, and only then moves
the checkpoint (written atomically) past them, so a crash or an unreachable ClickHouse replays
from the last insert that succeeded. Fully consumed segments are deleted. A torn record at the end
of a segment (a crash in the middle of an unacknowledged write) is cut off at start-up.
"""

import json
import os
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

_HEADER = struct.Struct("<IIB")
_SUFFIX = ".wal"
#: The kind of a :class:`Record` standing for spooled bytes that failed their CRC check: the
#: writer dead-letters its bytes and moves on, rather than halting on it at every attempt.
KIND_CORRUPT = 0


@dataclass(frozen=True, order=True)
class Position:
    """A place in the spool: segment number, byte offset, and items done of the record there.

    ``item`` > 0 means the first ``item`` items (spans, log records, points) of the record that
    starts at ``offset`` are stored already: the writer inserts one large request in several
    batches and commits after each, so a replay resumes inside the request and stores nothing
    twice.
    """

    segment: int
    offset: int
    item: int = 0


@dataclass(frozen=True)
class Record:
    """One spooled request: its kind (see ``otlp.KIND_*``), payload, where it starts and ends.

    ``skip``: items of it already stored (the checkpoint was inside it). A ``KIND_CORRUPT``
    record carries the bytes that failed the check; ``lost_bytes`` is how much of the spool it
    skips.
    """

    kind: int
    payload: bytes
    end: Position
    start: Position = Position(0, 0)
    skip: int = 0
    lost_bytes: int = 0


class SpoolFull(Exception):
    """The backlog is above its bound; the caller answers 503 with Retry-After."""


class Spool:
    """Append-only segments with a checkpoint; one appender lock, one reader (the writer)."""

    def __init__(self, directory: Path, segment_bytes: int, max_bytes: int, fsync: bool = True):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        self.fsync = fsync
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self.checkpoint = self._load_checkpoint()
        segments = self._segments()
        if not segments or segments[-1] < self.checkpoint.segment:
            segments.append(max(self.checkpoint.segment, 1))
        for number in segments:
            if number < self.checkpoint.segment:
                self._path(number).unlink(missing_ok=True)
        last = segments[-1]
        self._repair(last)
        self._file = open(self._path(last), "ab")  # noqa: SIM115 - held for the spool's life
        self.end = Position(last, self._file.tell())
        self._cursor = self.checkpoint
        self._sizes = {n: self._path(n).stat().st_size for n in self._segments()}

    # ---------------------------------------------------------------- appending (request path)
    def append(self, kind: int, payload: bytes) -> Position:
        """Write one record durably; raises SpoolFull when the backlog is over its bound."""
        header = _HEADER.pack(len(payload), zlib.crc32(payload), kind)
        with self._cond:
            if self.depth_bytes_locked() + len(payload) > self.max_bytes:
                raise SpoolFull(f"spool backlog over {self.max_bytes} bytes")
            if self.end.offset >= self.segment_bytes:
                self._rotate_locked()
            self._file.write(header)
            self._file.write(payload)
            self._file.flush()
            if self.fsync:
                os.fsync(self._file.fileno())
            self.end = Position(self.end.segment, self.end.offset + _HEADER.size + len(payload))
            self._sizes[self.end.segment] = self.end.offset
            self._cond.notify_all()
            return self.end

    def _rotate_locked(self) -> None:
        self._file.close()
        number = self.end.segment + 1
        self._file = open(self._path(number), "ab")  # noqa: SIM115
        self.end = Position(number, 0)
        self._sizes[number] = 0

    # ---------------------------------------------------------------- reading (writer thread)
    def read(self, max_bytes: int, wait_s: float) -> list[Record]:
        """Records after the read cursor, up to about ``max_bytes``; waits up to ``wait_s``."""
        with self._cond:
            if self._cursor >= self.end:
                self._cond.wait(wait_s)
            end = self.end
        records: list[Record] = []
        total = 0
        cursor = self._cursor
        skip = cursor.item
        cursor = Position(cursor.segment, cursor.offset)
        while cursor < end and total < max_bytes:
            if cursor.segment < end.segment and cursor.offset >= self._sizes.get(cursor.segment, 0):
                cursor = Position(cursor.segment + 1, 0)
                continue
            limit = end.offset if cursor.segment == end.segment else self._sizes[cursor.segment]
            with open(self._path(cursor.segment), "rb") as fh:
                fh.seek(cursor.offset)
                while cursor.offset < limit and total < max_bytes:
                    head = fh.read(_HEADER.size)
                    length, crc, kind = _HEADER.unpack(head.ljust(_HEADER.size, b"\0"))
                    framed = cursor.offset + _HEADER.size + length <= limit
                    whole = len(head) == _HEADER.size and framed
                    payload = fh.read(length) if whole else b""
                    if whole and zlib.crc32(payload) == crc:
                        start = cursor
                        cursor = Position(cursor.segment, cursor.offset + _HEADER.size + length)
                        records.append(Record(kind, payload, cursor, start, skip))
                        skip = 0
                        total += length
                        continue
                    if not records:  # alone, so the writer can quarantine just this
                        records.append(self._corrupt(cursor, head + payload, whole, length, limit))
                        cursor = records[-1].end
                    self._cursor = cursor
                    return records
        self._cursor = cursor
        return records

    def _corrupt(self, at: Position, data: bytes, whole: bool, length: int, limit: int) -> Record:
        """The corrupt record at ``at``: skipped by its header's length, or with the segment's
        rest when the header itself cannot be right (nothing after it can be framed)."""
        if whole:
            end = Position(at.segment, at.offset + _HEADER.size + length)
        else:
            with self._cond:
                if at.segment == self.end.segment:
                    self._rotate_locked()  # appends go on in a segment that can be read
            end = Position(at.segment + 1, 0)
            data = data[: _HEADER.size]
        lost = (end.offset if end.segment == at.segment else limit) - at.offset
        return Record(KIND_CORRUPT, data, end, at, lost_bytes=lost)

    def rewind(self) -> None:
        """Forget what was read but not committed (the insert failed): read it again."""
        self._cursor = self.checkpoint

    def commit(self, position: Position) -> None:
        """Everything up to ``position`` is in ClickHouse: persist it, drop consumed segments."""
        tmp = self.dir / "checkpoint.tmp"
        doc = {"segment": position.segment, "offset": position.offset, "item": position.item}
        tmp.write_text(json.dumps(doc))
        if self.fsync:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, self.dir / "checkpoint")
        with self._lock:
            self.checkpoint = position
            for number in [n for n in self._sizes if n < position.segment]:
                self._path(number).unlink(missing_ok=True)
                del self._sizes[number]

    # ---------------------------------------------------------------- state
    def depth_bytes_locked(self) -> int:
        cp = self.checkpoint
        return sum(size for n, size in self._sizes.items() if n >= cp.segment) - cp.offset

    @property
    def depth_bytes(self) -> int:
        """Bytes acknowledged but not yet in ClickHouse."""
        with self._lock:
            return self.depth_bytes_locked()

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def _path(self, number: int) -> Path:
        return self.dir / f"{number:012d}{_SUFFIX}"

    def _segments(self) -> list[int]:
        return sorted(int(p.stem) for p in self.dir.glob(f"*{_SUFFIX}") if p.stem.isdigit())

    def _load_checkpoint(self) -> Position:
        path = self.dir / "checkpoint"
        if not path.exists():
            return Position(1, 0)
        doc = json.loads(path.read_text())
        return Position(int(doc["segment"]), int(doc["offset"]), int(doc.get("item", 0)))

    def _repair(self, number: int) -> None:
        """Cut a torn tail (an unacknowledged write interrupted by a crash) off a segment."""
        path = self._path(number)
        if not path.exists():
            path.touch()
            return
        good = 0
        with open(path, "rb") as fh:
            data = fh.read()
        while good + _HEADER.size <= len(data):
            length, crc, _ = _HEADER.unpack_from(data, good)
            end = good + _HEADER.size + length
            if end > len(data) or zlib.crc32(data[good + _HEADER.size : end]) != crc:
                break
            good = end
        if good != len(data):
            with open(path, "r+b") as fh:
                fh.truncate(good)
