"""Dead letters: what could not be stored, kept with the reason instead of stopping ingest.

An item lands here when the normaliser raised on it (any exception, not only ``ValueError``) or
when ClickHouse refused its row even alone (the writer bisects a refused batch down to single
rows). Each dead letter is written to the ``dead_letters`` table; when even that insert fails it
is appended (fsynced) to ``dead-letters.jsonl`` in the spool directory, so the spool checkpoint
only moves past an item once it is stored *or* durably dead-lettered. Counted in ``/metrics`` as
``llmobs_store_dead_lettered_total{signal, reason}`` and listed by ``GET /api/v1/dead-letters``.
"""

import hashlib
import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from llmobs_store.normaliser import now_time
from llmobs_store.storage import Storage
from llmobs_store.telemetry import StoreMetrics

log = logging.getLogger(__name__)

#: reason categories (the metric's ``reason`` label); the full error text is in ``reason``.
NORMALISE = "normalise_error"
REFUSED = "clickhouse_refused"
RECORD = "record_error"
EXPIRED = "older_than_retention"
CORRUPT = "spool_corrupt"
_SIGNAL_OF_TABLE = {
    "spans": "traces",
    "content": "traces",
    "content_chunks": "logs",
    "logs": "logs",
    "metric_points": "metrics",
}
FILE_NAME = "dead-letters.jsonl"
# A line of the file that copies, in full, a letter stored in the table (see keep_in_full).
_COPY = "full_copy"
_COPY_MARK = b'"full_copy":true'


@dataclass(frozen=True)
class DeadLetter:
    """One item (or derived row) that was not stored, and why."""

    key: str
    signal: str
    category: str
    reason: str
    table_name: str
    trace_id: str
    span_id: str
    items: int
    record: str


def make_key(*parts: object) -> str:
    """A deterministic key: a replay of the same item writes the same dead letter."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8", "replace")).hexdigest()


def bounded(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes (on a character boundary), marked when cut."""
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore") + f"…[{len(data) - limit} bytes cut]"


def refused_row(table: str, line: str, reason: str, key: str, limit: int) -> DeadLetter:
    """The dead letter of one row ClickHouse refused on its own."""
    trace_id = span_id = ""
    try:
        doc = json.loads(line)
        trace_id, span_id = str(doc.get("trace_id", "")), str(doc.get("span_id", ""))
    except (ValueError, RecursionError, AttributeError):
        pass
    return DeadLetter(
        key=key,
        signal=_SIGNAL_OF_TABLE.get(table, table),
        category=REFUSED,
        reason=reason,
        table_name=table,
        trace_id=trace_id,
        span_id=span_id,
        items=0 if table == "content" else 1,
        record=bounded(line, limit),
    )


class DeadLetters:
    """Writes dead letters to ClickHouse, or to the fallback file, and counts them."""

    def __init__(self, storage: Storage, directory: Path, metrics: StoreMetrics) -> None:
        self.storage = storage
        self.path = Path(directory) / FILE_NAME
        self.metrics = metrics
        self._lock = threading.Lock()
        self.total = 0

    def store(self, letters: Sequence[DeadLetter]) -> None:
        """Durably keep ``letters`` (table, else file); only then may the spool move past them."""
        if not letters:
            return
        now = now_time()
        lines = [_line({**asdict(d), "time": now}) for d in letters]
        try:
            self.storage.insert("dead_letters", lines)
        except Exception as exc:  # even the dead-letter insert failed: keep them on disk
            log.warning("dead-letter insert failed, writing %s: %s", self.path, exc)
            self._append_file(lines)
        for letter in letters:
            if letter.items:
                self.metrics.dead_lettered.labels(letter.signal, letter.category).inc(letter.items)
        self.total += sum(d.items for d in letters)
        log.warning(
            "dead-lettered %d row(s), e.g. %s: %s",
            len(letters),
            letters[0].category,
            letters[0].reason[:200],
        )

    def keep_in_full(self, pairs: Sequence[tuple[DeadLetter, str]]) -> None:
        """Append each letter with its whole ``record`` (the table keeps a bounded piece) to the
        fallback file, marked as a copy: it is not counted again."""
        if pairs:
            now = now_time()
            self._append_file([_line({**asdict(d), "record": r, "time": now, _COPY: True})
                               for d, r in pairs])  # fmt: skip

    def _append_file(self, lines: list[str]) -> None:
        with self._lock, open(self.path, "a", encoding="utf-8", errors="replace") as fh:
            fh.write("\n".join(lines) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def file_count(self) -> int:
        """Dead letters only in the fallback file (ClickHouse refused even those)."""
        try:
            with open(self.path, "rb") as fh:
                return sum(1 for line in fh if _COPY_MARK not in line)
        except FileNotFoundError:
            return 0


def _line(doc: dict[str, object]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
