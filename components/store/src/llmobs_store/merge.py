"""Streamed-content merge: pieces in any order, duplicated, early or late → one record.

Every piece is first stored in ``content_chunks`` (deduplicated by ``seq``), so nothing depends on
memory surviving. This module keeps a small index of the (trace, span, role) sets that have new
pieces; a set is assembled from the table as soon as the index shows ``0..seq(last)`` all present,
or when the grace period passes without that, in which case it is stored flagged incomplete.
A piece arriving after that re-opens its set and a newer content row replaces the old one.
After a restart, :meth:`ContentMerger.recover` re-opens the sets whose pieces are newer than their
merged record.

Sets made of per-message GenAI log events (``_content_events.py``, pieces of format ``message``)
have no last piece: they are assembled, as a JSON list in ``seq`` order and complete, once no new
piece arrived for :data:`MESSAGES_SETTLE_S` (a later one re-merges the set, as late pieces do).
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from llmobs_store import _content_events
from llmobs_store._rows import content_row
from llmobs_store.batch import ChunkKey
from llmobs_store.normaliser import ContentRecord, now_time
from llmobs_store.storage import Storage

Key = tuple[str, str, str]
_MAX_KEYS_PER_QUERY = 200
#: How long a message-event set waits for more messages after its newest one, seconds (its
#: records are emitted together: the inputs when the call starts, the choices when it ends).
MESSAGES_SETTLE_S = 2.0


@dataclass
class _OpenSet:
    since: float
    seqs: set[int] = field(default_factory=set)
    last: int | None = None
    open_ended: bool = False  # message events: no last piece
    touched: float = 0.0  # when its newest piece was observed

    @property
    def looks_complete(self) -> bool:
        return self.last is not None and len(self.seqs) == self.last + 1


class ContentMerger:
    """Index of open chunk sets and the assembly of due ones (called from the writer thread)."""

    def __init__(
        self, storage: Storage, grace_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.storage = storage
        self.grace_s = grace_s
        self.clock = clock
        self.open: dict[Key, _OpenSet] = {}
        self.merged_total = 0
        self.incomplete_total = 0

    @property
    def backlog(self) -> int:
        return len(self.open)

    def observe(self, pieces: Iterable[ChunkKey]) -> None:
        """Note pieces that are now durably in ``content_chunks``."""
        now = self.clock()
        for trace_id, span_id, role, seq, last, open_ended in pieces:
            state = self.open.get((trace_id, span_id, role))
            if state is None:
                state = self.open[(trace_id, span_id, role)] = _OpenSet(since=now)
            state.seqs.add(seq)
            state.touched = now
            state.open_ended = state.open_ended or open_ended
            if last:
                state.last = seq if state.last is None else max(state.last, seq)

    def due(self) -> list[Key]:
        now = self.clock()
        settle = min(self.grace_s, MESSAGES_SETTLE_S)
        return [
            key
            for key, state in self.open.items()
            if state.looks_complete
            or now - state.since >= self.grace_s
            or (state.open_ended and now - state.touched >= settle)
        ]

    def merge_due(self) -> int:
        """Assemble and insert every due set; returns how many records were written."""
        return self.merge_keys(self.due())

    def merge_keys(self, keys: list[Key]) -> int:
        """Assemble and insert the sets ``keys``; returns how many records were written."""
        written = 0
        for start in range(0, len(keys), _MAX_KEYS_PER_QUERY):
            part = keys[start : start + _MAX_KEYS_PER_QUERY]
            records = self.assemble(part)
            now = now_time()
            self.storage.insert("content", [content_row(r, now) for r in records])
            for key in part:
                self.open.pop(key, None)
            written += len(records)
            self.merged_total += len(records)
            self.incomplete_total += sum(1 for r in records if not r.complete)
        return written

    def assemble(self, keys: list[Key]) -> list[ContentRecord]:
        """Read the pieces of ``keys`` from the table and concatenate them in ``seq`` order."""
        if not keys:
            return []
        rows = self.storage.query(
            f"SELECT trace_id, span_id, role, seq, any(last) AS last, any(format) AS format, "
            f"any(text) AS text, any(redacted) AS redacted "
            f"FROM {self.storage.database}.content_chunks "
            f"WHERE (trace_id, span_id, role) IN {{keys:Array(Tuple(String, String, String))}} "
            f"GROUP BY trace_id, span_id, role, seq ORDER BY trace_id, span_id, role, seq",
            {"keys": [tuple(k) for k in keys]},
        )
        grouped: dict[Key, list[dict[str, Any]]] = {}
        for row in rows:
            grouped.setdefault((row["trace_id"], row["span_id"], row["role"]), []).append(row)
        records = []
        for key, pieces in grouped.items():
            if pieces[0]["format"] == _content_events.MESSAGE_FORMAT:
                records.append(_messages(key, pieces))
                continue
            seqs = [p["seq"] for p in pieces]
            lasts = [p["seq"] for p in pieces if p["last"]]
            complete = bool(lasts) and seqs == list(range(min(lasts) + 1))
            used = [p for p in pieces if p["seq"] <= min(lasts)] if lasts else pieces
            records.append(
                ContentRecord(
                    trace_id=key[0],
                    span_id=key[1],
                    role=key[2],
                    format=used[0]["format"],
                    text="".join(p["text"] for p in used),
                    complete=complete,
                    chunks=len(used),
                    redacted=sum(int(p["redacted"]) for p in used),
                )
            )
        return records

    def recover(self) -> int:
        """Re-open sets whose newest piece is newer than their merged record (after a restart)."""
        db = self.storage.database
        rows = self.storage.query(
            f"SELECT c.trace_id AS trace_id, c.span_id AS span_id, c.role AS role, "
            f"groupUniqArray(c.seq) AS seqs, maxIf(c.seq, c.last = 1) AS last_seq, "
            f"countIf(c.last = 1) AS lasts, max(c.received_at) AS newest, "
            f"any(c.format) AS format "
            f"FROM {db}.content_chunks AS c "
            f"LEFT JOIN (SELECT trace_id, span_id, role, max(updated_at) AS merged "
            f"           FROM {db}.content GROUP BY trace_id, span_id, role) AS m "
            f"  ON c.trace_id = m.trace_id AND c.span_id = m.span_id AND c.role = m.role "
            f"GROUP BY c.trace_id, c.span_id, c.role "
            f"HAVING newest > max(m.merged)"
        )
        now = self.clock()
        for row in rows:
            state = _OpenSet(since=now, seqs=set(row["seqs"]), touched=now)
            state.last = int(row["last_seq"]) if row["lasts"] else None
            state.open_ended = row["format"] == _content_events.MESSAGE_FORMAT
            self.open[(row["trace_id"], row["span_id"], row["role"])] = state
        return len(rows)


def _messages(key: Key, pieces: list[dict[str, Any]]) -> ContentRecord:
    """A message-event set: its messages as one JSON list, in emission order."""
    by_seq = {int(p["seq"]): p for p in pieces}
    used = [by_seq[seq] for seq in _content_events.order(list(by_seq))]
    return ContentRecord(
        trace_id=key[0],
        span_id=key[1],
        role=key[2],
        format="json",
        text="[" + ",".join(p["text"] for p in used) + "]",
        complete=True,
        chunks=len(used),
        redacted=sum(int(p["redacted"]) for p in used),
    )
