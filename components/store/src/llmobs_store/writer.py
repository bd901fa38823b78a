"""The writer thread: spool → normalise → batched inserts → checkpoint, and the content merge.

It is the only thread that inserts. When ClickHouse is slow or down the spool keeps filling (the
receivers keep acknowledging, durably) and the writer retries with backoff from the checkpoint;
once an insert succeeds the checkpoint moves past it, so the order of replay is the order of
arrival.
"""

import logging
import threading
import time
from collections import deque

from llmobs_semconv.pricing import PriceTable
from llmobs_store.batch import Batch
from llmobs_store.merge import ContentMerger
from llmobs_store.spool import Position, Spool
from llmobs_store.storage import Storage, StorageUnavailable
from llmobs_store.telemetry import StoreMetrics

log = logging.getLogger(__name__)
_READ_BYTES = 8 * 1024 * 1024
_MAX_BACKOFF_S = 5.0
_RECENT_SPANS = 500_000


class RecentKeys:
    """The last ``capacity`` span keys inserted: a retried export is dropped, not stored twice."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._keys: set[str] = set()
        self._order: deque[str] = deque()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def add_all(self, keys: list[str]) -> None:
        for key in keys:
            if key not in self._keys:
                self._keys.add(key)
                self._order.append(key)
        while len(self._order) > self.capacity:
            self._keys.discard(self._order.popleft())


class Writer:
    """Owns the drain loop; ``start``/``stop`` from the app's lifespan."""

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
    ) -> None:
        self.storage = storage
        self.spool = spool
        self.merger = merger
        self.prices = prices
        self.metrics = metrics
        self.batch_rows = batch_rows
        self.batch_wait_s = batch_wait_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llmobs-store-writer", daemon=True)
        self.healthy = False
        self.recovered = False
        self._merge_retry_at = 0.0
        self.recent = RecentKeys(_RECENT_SPANS)
        # The first batch after a start may replay one that was inserted just before a crash
        # (the checkpoint had not moved yet): look its spans up before inserting them.
        self._check_replay = True
        self.duplicates_dropped = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, drain_s: float = 10.0) -> None:
        """Stop after draining what is spooled (bounded); the rest replays at the next start."""
        deadline = time.monotonic() + drain_s
        while self.spool.depth_bytes > 0 and self.healthy and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop.set()
        self._thread.join(timeout=drain_s)

    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                self._step()
                backoff = 0.1
            except StorageUnavailable as exc:
                self.healthy = False
                self.metrics.insert_failures.inc()
                self.spool.rewind()
                log.warning("clickhouse unavailable, data stays spooled: %s", exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)
            except Exception:
                # A bug must not kill ingest silently: log it, keep the data spooled, retry.
                self.healthy = False
                self.spool.rewind()
                log.exception("writer step failed; data stays spooled")
                self._stop.wait(_MAX_BACKOFF_S)

    def _step(self) -> None:
        if not self.storage.connected and not self.storage.connect():
            raise StorageUnavailable(self.storage.last_error)
        if not self.recovered:
            self.merger.recover()
            self.recovered = True
        self.healthy = True
        batch = Batch()
        end: Position | None = None
        deadline = time.monotonic() + self.batch_wait_s
        while batch.size < self.batch_rows and not self._stop.is_set():
            wait = max(deadline - time.monotonic(), 0.0)
            records = self.spool.read(_READ_BYTES, wait_s=wait if end is None else 0.0)
            for record in records:
                batch.add(record.kind, record.payload, self.prices)
                end = record.end
            if not records and (end is not None or time.monotonic() >= deadline):
                break
        if end is not None:
            self._drop_duplicates(batch)
            self._insert(batch)
            self.recent.add_all(batch.span_keys)
            self.spool.commit(end)
            self.merger.observe(batch.chunk_keys)
        if self.merger.due() and time.monotonic() >= self._merge_retry_at:
            self._merge()

    def _drop_duplicates(self, batch: Batch) -> None:
        stored: set[str] = set()
        if self._check_replay and batch.span_keys:
            rows = self.storage.query(
                f"SELECT concat(trace_id, span_id) AS key FROM {self.storage.database}.spans "  # noqa: S608
                "WHERE trace_id IN {traces:Array(String)} AND concat(trace_id, span_id) "
                "IN {keys:Array(String)}",
                {"traces": sorted({k[:32] for k in batch.span_keys}), "keys": batch.span_keys},
            )
            stored = {row["key"] for row in rows}
        self._check_replay = False
        dropped = batch.drop_spans(lambda key: key in self.recent or key in stored)
        self.duplicates_dropped += dropped
        if dropped:
            self.metrics.duplicates.inc(dropped)

    def _merge(self) -> None:
        # A failing merge must never hold up ingest: the pieces are stored, the sets stay open
        # and are retried a little later.
        before_incomplete = self.merger.incomplete_total
        try:
            written = self.merger.merge_due()
        except StorageUnavailable as exc:
            log.warning("content merge failed, will retry: %s", exc)
            self._merge_retry_at = time.monotonic() + 2.0
            return
        incomplete = self.merger.incomplete_total - before_incomplete
        self.metrics.content_merged.labels("true").inc(written - incomplete)
        self.metrics.content_merged.labels("false").inc(incomplete)

    def _insert(self, batch: Batch) -> None:
        started = time.perf_counter()
        for table, rows in batch.rows.items():
            if rows:
                self.storage.insert(table, rows)
                self.metrics.rows_inserted.labels(table).inc(len(rows))
        self.metrics.insert_seconds.observe(time.perf_counter() - started)
