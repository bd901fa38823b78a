"""The writer: spool → normalise → batched inserts → checkpoint, and the content merge.

Two threads form a pipeline so that Python work and ClickHouse work overlap: the *normaliser*
reads the spool in order and turns requests, item by item, into a :class:`Batch` of at most
``batch_rows`` rows (a large request spans several batches); the *inserter* (the only thread
that writes to ClickHouse) drops spans already stored, inserts the batch, dead-letters what
could not be stored, and only then moves the spool checkpoint past it (to a position inside a
request when the batch ended there). One batch waits between them at most, so memory stays
bounded. When ClickHouse is unreachable the inserter retries the same batch with backoff while
the receivers keep acknowledging into the spool; when it refuses the data itself the batch is
bisected until the refused rows are alone, and those become dead letters. After a crash the
spool replays from the checkpoint, in arrival order.
"""

import base64
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator

from llmobs_semconv.pricing import PriceTable
from llmobs_store import limits
from llmobs_store.batch import Batch, Item, request_items
from llmobs_store.deadletter import (
    CORRUPT,
    REFUSED,
    DeadLetter,
    DeadLetters,
    bounded,
    make_key,
    refused_row,
)
from llmobs_store.merge import ContentMerger
from llmobs_store.reconciler import TraceReconciler
from llmobs_store.spool import KIND_CORRUPT, Position, Record, Spool
from llmobs_store.storage import TOO_MANY_PARTS, DataRejected, Storage, StorageUnavailable
from llmobs_store.telemetry import StoreMetrics

log = logging.getLogger(__name__)
_READ_BYTES = 8 * 1024 * 1024
_MAX_BACKOFF_S = 5.0
# Client retries come back within seconds: 200k spans is a window of minutes at a high rate, and
# as integers (not 48-character strings) it costs ~20 MiB rather than ~75 MiB at 500k.
_RECENT_SPANS = 200_000
_IDLE_TICK_S = 0.2


class RecentKeys:
    """The last ``capacity`` span keys inserted: a retried export is dropped, not stored twice.

    Keys are trace_id+span_id in hex; they are kept as the integers they spell (exact, smaller).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._keys: set[int] = set()
        self._order: deque[int] = deque()

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and int(key, 16) in self._keys

    def add_all(self, keys: list[str]) -> None:
        for text in keys:
            key = int(text, 16)
            if key not in self._keys:
                self._keys.add(key)
                self._order.append(key)
        while len(self._order) > self.capacity:
            self._keys.discard(self._order.popleft())


class Writer:
    """Owns the normaliser and inserter threads; ``start``/``stop`` from the app's lifespan."""

    def __init__(
        self,
        storage: Storage,
        spool: Spool,
        *,
        merger: ContentMerger,
        prices: PriceTable,
        metrics: StoreMetrics,
        batch_rows: int,
        batch_wait_s: float,
        dead_letters: DeadLetters,
        record_limit: int = 64 * 1024,
        batch_bytes: int = 64 * 1024**2,
        trees: TraceReconciler | None = None,
    ) -> None:
        self.storage = storage
        limits.use_target(storage.target)
        self.spool = spool
        self.merger = merger
        self.trees = trees
        self.prices = prices
        self.metrics = metrics
        self.batch_rows = batch_rows
        self.batch_wait_s = batch_wait_s
        self.batch_bytes = batch_bytes
        self.dead_letters = dead_letters
        self.record_limit = record_limit
        self._stop = threading.Event()
        self._batches: queue.Queue[tuple[Batch, Position]] = queue.Queue(maxsize=1)
        self._threads = [
            threading.Thread(target=self._normalise_loop, name="llmobs-normaliser", daemon=True),
            threading.Thread(target=self._insert_loop, name="llmobs-inserter", daemon=True),
        ]
        self.healthy = False
        self.recovered = False
        self._merge_retry_at = 0.0
        self._tree_retry_at = 0.0
        self._busy = False
        self.recent = RecentKeys(_RECENT_SPANS)
        # What is spooled at start may replay batches inserted just before a crash (the
        # checkpoint had not moved yet): look their spans up before inserting them.
        self._replay_until = spool.end
        self.duplicates_dropped = 0
        # The normaliser's place: records read but not walked yet, and the one being walked.
        self._records: deque[Record] = deque()
        self._record: Record | None = None
        self._items: Iterator[Item] | None = None
        self._origin = ""
        self._done = 0

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    @property
    def settled(self) -> bool:
        """Everything spooled is stored and every touched trace judged (tests, operations)."""
        waiting = self.trees.backlog if self.trees is not None else 0
        return (
            self.recovered and self.spool.depth_bytes == 0 and self._batches.empty()
            and not self._busy and waiting == 0
        )  # fmt: skip

    def stop(self, drain_s: float = 10.0) -> None:
        """Stop after draining what is spooled (bounded); the rest replays at the next start."""
        deadline = time.monotonic() + drain_s
        while self.spool.depth_bytes > 0 and self.healthy and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=drain_s)
        if self.trees is not None:
            self.trees.save()

    # ---------------------------------------------------------------- normaliser thread
    def _normalise_loop(self) -> None:
        while not self._stop.is_set():
            try:
                prepared = self._collect()
            except Exception:
                # Items are isolated in batch.py, so this is the spool itself failing (read()
                # raises before its cursor moves): log it, wait, and read on from there.
                log.exception("normalising a spooled batch failed; retrying")
                self._stop.wait(_MAX_BACKOFF_S)
                continue
            if prepared is None:
                continue
            while not self._stop.is_set():
                try:
                    self._batches.put(prepared, timeout=_IDLE_TICK_S)
                    break
                except queue.Full:
                    continue

    def _collect(self) -> tuple[Batch, Position] | None:
        """The next batch: whole requests, or part of one, up to ``batch_rows`` rows (and about
        ``batch_bytes`` of encoded rows: a few huge spans weigh more than many small ones)."""
        batch = Batch(begun_at=time.time())
        end: Position | None = None
        deadline = time.monotonic() + self.batch_wait_s
        while not self._full(batch) and not self._stop.is_set():
            if self._items is None:
                if not self._records:
                    wait = max(deadline - time.monotonic(), 0.0)
                    try:
                        found = self.spool.read(_READ_BYTES, wait_s=wait if end is None else 0.0)
                    except Exception:
                        if end is None:
                            raise  # nothing walked yet: the loop waits and reads again
                        # What is walked is past the cursor already: hand it on, never drop it.
                        log.exception("reading the spool failed; storing the batch so far")
                        break
                    if not found:
                        if end is not None or time.monotonic() >= deadline:
                            break
                        continue
                    self._records.extend(found)
                record = self._record = self._records.popleft()
                origin = self._origin = f"{record.start.segment}:{record.start.offset}"
                if record.kind == KIND_CORRUPT:
                    batch.dead.append(self._quarantine(record, origin))
                    end = record.end
                    continue
                self._items = request_items(
                    record.kind,
                    record.payload,
                    self.prices,
                    origin=origin,
                    skip=record.skip,
                    record_limit=self.record_limit,
                )
                self._done = record.skip
            assert self._record is not None
            exhausted = True
            for item in self._items:
                batch.add_item(item, self._origin)
                self._done = item.index + 1
                if self._full(batch):
                    exhausted = False
                    break
            if exhausted:
                end, self._items = self._record.end, None
            else:
                start = self._record.start
                end = Position(start.segment, start.offset, self._done)
        return None if end is None else (batch, end)

    def _full(self, batch: Batch) -> bool:
        return batch.size >= self.batch_rows or batch.bytes >= self.batch_bytes

    def _quarantine(self, record: Record, origin: str) -> DeadLetter:
        """Spooled bytes that fail their CRC: dead-lettered as they are, so ingest goes on."""
        self.metrics.spool_corrupt.inc()
        self.metrics.spool_corrupt_bytes.inc(record.lost_bytes)
        log.error("spool record at %s is corrupt (%d bytes skipped)", origin, record.lost_bytes)
        return DeadLetter(
            key=make_key("corrupt", origin), signal="spool", category=CORRUPT,
            reason=f"spool record failed its CRC check; {record.lost_bytes} bytes skipped",
            table_name="", trace_id="", span_id="", items=0,
            record=bounded(base64.b64encode(record.payload).decode(), self.record_limit),
        )  # fmt: skip

    # ---------------------------------------------------------------- inserter thread
    def _insert_loop(self) -> None:
        backoff = 0.1
        pending: tuple[Batch, Position] | None = None
        while not self._stop.is_set():
            try:
                self._ensure_connected()
                if pending is None:
                    try:
                        pending = self._batches.get(timeout=_IDLE_TICK_S)
                    except queue.Empty:
                        pending = None
                if pending is not None:
                    self._busy = True
                    self._store(*pending)
                    pending = None
                self._busy = False
                if time.monotonic() >= self._merge_retry_at and self.merger.due():
                    self._merge()
                if self.trees is not None and time.monotonic() >= self._tree_retry_at:
                    self._reconcile(self.trees)
                backoff = 0.1
            except StorageUnavailable as exc:
                # Keep the batch in hand and retry it; the spool keeps taking new requests.
                self.healthy = False
                self.metrics.insert_failures.inc()
                log.warning("clickhouse unavailable, data stays spooled: %s", exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)
            except Exception:
                self.healthy = False
                log.exception("writer step failed; data stays spooled")
                self._stop.wait(_MAX_BACKOFF_S)

    def _ensure_connected(self) -> None:
        if not self.storage.connected and not self.storage.connect():
            raise StorageUnavailable(self.storage.last_error)
        if not self.recovered:
            self.merger.recover()
            if self.trees is not None:
                self.trees.recover()
            self.recovered = True
        self.healthy = True

    def _store(self, batch: Batch, end: Position) -> None:
        if not batch.checked:  # once: a retry must see the rows (and their ranges) unchanged
            self._drop_duplicates(batch)
            batch.checked = True
        started = time.perf_counter()
        for table, rows in batch.rows.items():
            if rows or table in batch.parts:
                self._insert_table(batch, table)
                # Done: a retry after a later table failed must not insert these again.
                batch.rows[table], batch.origins[table] = [], []
                if table == "spans":
                    self.recent.add_all(batch.span_keys)
                    batch.span_keys = []
                    for letter in batch.refused:  # the tree pass sees stored spans only
                        batch.nodes.pop(letter.trace_id + letter.span_id, None)
        self.metrics.insert_seconds.observe(time.perf_counter() - started)
        # Stored or dead-lettered, each item: only now may the checkpoint move past them.
        self.dead_letters.store(batch.dead + batch.refused)
        self.dead_letters.keep_in_full(batch.raw)
        batch.dead, batch.refused, batch.raw = [], [], []
        self.spool.commit(end)
        self.merger.observe(batch.chunk_keys)
        if self.trees is not None:
            self.trees.observe(batch.nodes, batch.begun_at)

    def _insert_table(self, batch: Batch, table: str) -> None:
        """Insert a table's rows; bisect a part ClickHouse refuses until the bad rows are alone."""
        rows, origins = batch.rows[table], batch.origins[table]
        parts = batch.parts.setdefault(table, [(0, len(rows))])
        while parts:
            low, high = parts[0]
            try:
                self.storage.insert(table, rows[low:high])
            except DataRejected as exc:
                if high - low == 1 and exc.code == TOO_MANY_PARTS:
                    # One row is one partition: the server is the problem, not the row.
                    raise StorageUnavailable(str(exc)) from exc
                if high - low > 1:
                    middle = (low + high) // 2
                    parts[0:1] = [(low, middle), (middle, high)]
                    continue
                key = make_key("refused", table, origins[low])
                batch.refused.append(
                    refused_row(table, rows[low], str(exc), key, self.record_limit)
                )
            else:
                self.metrics.rows_inserted.labels(table).inc(high - low)
            parts.pop(0)
        del batch.parts[table]

    def _drop_duplicates(self, batch: Batch) -> None:
        stored: set[str] = set()
        if self.spool.checkpoint < self._replay_until and batch.span_keys:
            rows = self.storage.query(
                f"SELECT concat(trace_id, span_id) AS key FROM {self.storage.database}.spans "  # noqa: S608
                "WHERE trace_id IN {traces:Array(String)} AND concat(trace_id, span_id) "
                "IN {keys:Array(String)}",
                {"traces": sorted({k[:32] for k in batch.span_keys}), "keys": batch.span_keys},
            )
            stored = {row["key"] for row in rows}
        dropped = batch.drop_spans(lambda key: key in self.recent or key in stored)
        self.duplicates_dropped += dropped
        if dropped:
            self.metrics.duplicates.inc(dropped)

    def _merge(self) -> None:
        # A failing merge must never hold up ingest: the pieces are stored, the sets stay open
        # and are retried a little later.
        before_incomplete = self.merger.incomplete_total
        try:
            try:
                written = self.merger.merge_due()
            except DataRejected:
                written = self._merge_one_by_one()
        except Exception as exc:  # unreachable, or a bug: the pieces stay stored either way
            log.warning("content merge failed, will retry: %s", exc)
            self._merge_retry_at = time.monotonic() + 2.0
            return
        incomplete = self.merger.incomplete_total - before_incomplete
        self._count_merged(written, incomplete)

    def _reconcile(self, trees: TraceReconciler) -> None:
        # Like the merge: the spans are stored either way, so a failing pass only waits and
        # retries; the traces stay waiting and aggregates stay as they were.
        try:
            before = trees.traces_total
            written = trees.reconcile_due()
        except Exception as exc:
            log.warning("tree pass failed, will retry: %s", exc)
            self._tree_retry_at = time.monotonic() + 2.0
            return
        self.metrics.traces_reconciled.inc(trees.traces_total - before)
        self.metrics.verdicts_written.inc(written)

    def _count_merged(self, written: int, incomplete: int) -> None:
        self.metrics.content_merged.labels("true").inc(written - incomplete)
        self.metrics.content_merged.labels("false").inc(incomplete)

    def _merge_one_by_one(self) -> int:
        """A merged record ClickHouse refuses must not hold up the other sets: isolate it."""
        written = 0
        for key in self.merger.due():
            try:
                written += self.merger.merge_keys([key])
            except DataRejected as exc:
                # The pieces stay in content_chunks; only the merged record is missing.
                self.merger.open.pop(key, None)
                letter = DeadLetter(
                    key=make_key("merge", *key), signal="traces", category=REFUSED,
                    reason=str(exc), table_name="content", trace_id=key[0], span_id=key[1],
                    items=0, record=f"content set {key[2]} of {key[0]}/{key[1]}",
                )  # fmt: skip
                self.dead_letters.store([letter])
        return written
