"""Which trace ids this store has stored spans of lately: two rotating Bloom filters.

The tree pass keeps a trace's skeleton in memory only while the trace is active; a span arriving
later for a trace whose skeleton was dropped must be judged with the trace's stored spans, read
back. This set answers "may it have stored spans already?" in a few bits per trace (no false
negatives within the horizon; a false positive only costs one read back). It survives a graceful
restart through ``save``/``load``.
"""

import logging
import time
import zlib
from pathlib import Path

log = logging.getLogger(__name__)
_SEED = 0x5BD1E995


class RecentTraces:
    """Trace ids added in the current or the previous generation (each ``generation_s`` long)."""

    def __init__(self, capacity: int, generation_s: float, path: Path | None = None) -> None:
        self.bits = min(max(capacity, 1024) * 10, 2**32)  # 4 hashes: ~1.2% false positives
        self.generation_s = generation_s
        self.capacity = capacity
        self.path = path
        self._current = bytearray(self.bits // 8 + 1)
        self._previous = bytearray(self.bits // 8 + 1)
        self._added = 0
        self._since = time.time()

    def check_and_add(self, trace_id: str) -> bool:
        """Whether ``trace_id`` may have been added before; it is added now either way."""
        if self._added & 4095 == 0:
            self._rotate()
        # Two CRCs (C speed) and double hashing, unrolled: the filter is on the ingest path.
        data = trace_id.encode()
        h1, h2, m = zlib.crc32(data), zlib.crc32(data, _SEED) | 1, self.bits
        p1, p2, p3, p4 = (h1 + h2) % m, (h1 + 2 * h2) % m, (h1 + 3 * h2) % m, (h1 + 4 * h2) % m
        cur, prev = self._current, self._previous
        b1, b2, b3, b4 = 1 << (p1 & 7), 1 << (p2 & 7), 1 << (p3 & 7), 1 << (p4 & 7)
        i1, i2, i3, i4 = p1 >> 3, p2 >> 3, p3 >> 3, p4 >> 3
        seen = bool(cur[i1] & b1 and cur[i2] & b2 and cur[i3] & b3 and cur[i4] & b4) or bool(
            prev[i1] & b1 and prev[i2] & b2 and prev[i3] & b3 and prev[i4] & b4
        )
        cur[i1] |= b1
        cur[i2] |= b2
        cur[i3] |= b3
        cur[i4] |= b4
        self._added += 1
        return seen

    def _rotate(self) -> None:
        if self._added >= self.capacity or time.time() - self._since >= self.generation_s:
            self._previous, self._current = self._current, bytearray(self.bits // 8 + 1)
            self._added, self._since = 0, time.time()

    def save(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_bytes(bytes(self._current) + bytes(self._previous))
            tmp.replace(self.path)
        except OSError as exc:
            log.warning("cannot save the recent-traces filter %s: %s", self.path, exc)

    def load(self) -> bool:
        """Take the filters saved by the last graceful stop (both count as the previous one)."""
        if self.path is None:
            return False
        try:
            data = self.path.read_bytes()
        except OSError:
            return False
        size = self.bits // 8 + 1
        if len(data) != 2 * size:
            return False  # another capacity: start empty (reads back more, never judges wrong)
        current, previous = data[:size], data[size:]
        both = int.from_bytes(current, "little") | int.from_bytes(previous, "little")
        self._previous = bytearray(both.to_bytes(size, "little"))
        return True
