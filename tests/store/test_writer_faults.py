"""The writer under faults between its steps: a later table's insert, a spool read, a corrupt
record, an overloaded server, refused rows alike but for their times, batches of large rows.

The writer, spool, storage and dead letters are the real ones (chDB); only the fault is
injected, on the instance, so each test shows one failure and what the writer does about it.
"""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.logs.v1 import logs_pb2

from llmobs_store import batch as batch_module
from llmobs_store.batch import request_items
from llmobs_store.deadletter import FILE_NAME, DeadLetters
from llmobs_store.merge import ContentMerger
from llmobs_store.normaliser import CachedPrices
from llmobs_store.otlp import KIND_LOGS, KIND_TRACES
from llmobs_store.schema import SchemaTarget
from llmobs_store.settings import StoreSettings
from llmobs_store.spool import Spool
from llmobs_store.storage import Storage, StorageUnavailable
from llmobs_store.telemetry import StoreMetrics
from llmobs_store.writer import Writer
from tests.store.conftest import ENGINE_DIR, unique_database
from tests.store.otlp_requests import logs, span, span_key, traces

_HEADER = 9  # length, crc32, kind


@dataclass
class Harness:
    writer: Writer
    storage: Storage
    spool: Spool
    metrics: StoreMetrics
    dir: Path

    def rows(self, sql: str) -> list[dict[str, Any]]:
        return self.storage.query(sql.replace("{db}", self.storage.database))

    def stored_spans(self) -> list[str]:
        """Every span row (no FINAL): a span stored twice shows twice."""
        found = self.rows("SELECT concat(trace_id, span_id) AS k FROM {db}.spans")
        return sorted(row["k"] for row in found)

    def drain(self, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.spool.depth_bytes > 0:
            assert time.monotonic() < deadline, "the writer stopped: the spool does not drain"
            time.sleep(0.05)

    def sample(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


@contextmanager
def running_writer(tmp: Path, batch_rows: int = 1000, **options: Any) -> Iterator[Harness]:
    """A real writer on its own database and spool; the test injects its fault, then starts it."""
    storage = Storage(f"chdb://{ENGINE_DIR}", SchemaTarget(unique_database()))
    assert storage.connect()
    spool = Spool(tmp / "spool", 1 << 20, 1 << 30, fsync=False)
    metrics = StoreMetrics()
    writer = Writer(
        storage, spool, merger=ContentMerger(storage, 1.0), prices=CachedPrices(),
        metrics=metrics, batch_rows=batch_rows, batch_wait_s=0.05,
        dead_letters=DeadLetters(storage, tmp / "spool", metrics), **options,
    )  # fmt: skip
    try:
        yield Harness(writer, storage, spool, metrics, tmp / "spool")
    finally:
        writer.stop(drain_s=2.0)
        spool.close()


def test_a_later_table_failing_once_after_the_spans_are_in_does_not_stop_ingest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_writer(tmp_path) as h:
        real, failed = h.storage.insert, list[str]()

        def down_between_tables(table: str, lines: Any) -> None:
            if table == "content" and not failed:
                failed.append(table)
                raise StorageUnavailable("unreachable after the spans were inserted")
            real(table, lines)

        monkeypatch.setattr(h.storage, "insert", down_between_tables)
        items = [span(f"s{i}", gen_ai__prompt=f"prompt {i}") for i in range(5)]
        h.spool.append(KIND_TRACES, traces(*items))
        h.writer.start()
        h.drain()
        assert failed
        assert h.stored_spans() == sorted(span_key(item) for item in items)  # each once
        assert h.rows("SELECT count() AS n FROM {db}.content")[0]["n"] == 5


def test_a_spool_read_failing_after_a_record_keeps_that_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_writer(tmp_path) as h:
        real, calls = h.spool.read, [0]

        def read_fails_once(max_bytes: int, wait_s: float) -> Any:
            calls[0] += 1
            if calls[0] == 2:  # right after the first record was walked into the batch
                raise OSError("EMFILE: too many open files (transient)")
            return real(max_bytes, wait_s)

        monkeypatch.setattr(h.spool, "read", read_fails_once)
        first = [span("a1"), span("a2")]
        h.spool.append(KIND_TRACES, traces(*first))
        h.writer.start()
        deadline = time.monotonic() + 20
        while calls[0] < 3:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        second = [span("b1")]
        h.spool.append(KIND_TRACES, traces(*second))
        h.drain()
        assert h.stored_spans() == sorted(span_key(item) for item in first + second)


def _spool_three(h: Harness) -> tuple[list[Any], int, int, Path]:
    items = [span(name) for name in ("before", "corrupt", "after")]
    h.spool.append(KIND_TRACES, traces(items[0]))
    at = h.spool.end
    h.spool.append(KIND_TRACES, traces(items[1]))
    length = h.spool.end.offset - at.offset - _HEADER
    h.spool.append(KIND_TRACES, traces(items[2]))
    return items, at.offset, length, h.dir / f"{at.segment:012d}.wal"


def test_a_record_failing_its_crc_is_dead_lettered_and_skipped(tmp_path: Path) -> None:
    with running_writer(tmp_path) as h:
        (before, _, after), offset, length, path = _spool_three(h)
        with open(path, "r+b") as fh:
            fh.seek(offset + _HEADER + length // 2)
            byte = fh.read(1)
            fh.seek(-1, 1)
            fh.write(bytes([byte[0] ^ 0xFF]))
        h.writer.start()
        h.drain()
        assert h.stored_spans() == sorted([span_key(before), span_key(after)])
        letters = h.rows(
            "SELECT reason FROM {db}.dead_letters FINAL WHERE category = 'spool_corrupt'"
        )
        assert len(letters) == 1
        assert h.sample("llmobs_store_spool_corrupt_records_total") == 1
        assert h.sample("llmobs_store_spool_corrupt_bytes_total") == _HEADER + length


def test_a_garbage_header_skips_to_the_next_segment_and_ingest_goes_on(tmp_path: Path) -> None:
    with running_writer(tmp_path) as h:
        (before, _, _), offset, length, path = _spool_three(h)
        with open(path, "r+b") as fh:  # a length past the segment's end: nothing can be framed
            fh.seek(offset)
            fh.write((2**31).to_bytes(4, "little"))
        h.writer.start()
        h.drain()
        later = span("appended after the corrupt record")
        h.spool.append(KIND_TRACES, traces(later))
        h.drain()
        assert h.stored_spans() == sorted([span_key(before), span_key(later)])
        assert h.sample("llmobs_store_spool_corrupt_records_total") == 1
        lost = h.sample("llmobs_store_spool_corrupt_bytes_total")
        assert lost > _HEADER + length  # the corrupt record and the one after it


def test_too_many_parts_is_retried_whole_not_bisected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_writer(tmp_path) as h:
        client = h.storage._client
        real, sizes = client.raw_insert, []

        def merges_behind(table: str, *args: Any, **kwargs: Any) -> Any:
            if table.endswith(".spans"):
                sizes.append(kwargs["insert_block"].count(b"\n") + 1)
                if len(sizes) == 1:
                    raise RuntimeError(
                        "Code: 252. DB::Exception: Too many parts (3001). Merges are "
                        "processing significantly slower than inserts"
                    )
            return real(table, *args, **kwargs)

        monkeypatch.setattr(client, "raw_insert", merges_behind)
        items = [span(f"s{i}") for i in range(8)]
        h.spool.append(KIND_TRACES, traces(*items))
        h.writer.start()
        h.drain()
        assert sizes == [8, 8]  # the same rows again, not halves
        assert h.stored_spans() == sorted(span_key(item) for item in items)
        assert h.rows("SELECT count() AS n FROM {db}.dead_letters")[0]["n"] == 0
        assert h.sample("llmobs_store_insert_failures_total") == 1


def test_refused_rows_alike_but_for_their_times_are_each_dead_lettered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_writer(tmp_path) as h:
        client = h.storage._client
        real = client.raw_insert

        def refuse_marked(table: str, *args: Any, **kwargs: Any) -> Any:
            if table.endswith(".logs") and b"refuse-me" in kwargs["insert_block"]:
                raise RuntimeError("Code: 27. DB::Exception: Cannot parse input")
            return real(table, *args, **kwargs)

        monkeypatch.setattr(client, "raw_insert", refuse_marked)
        now = time.time_ns()
        records = [logs_pb2.LogRecord(time_unix_nano=now + n * 1000) for n in range(3)]
        for record, body in zip(records, ["refuse-me", "refuse-me", "fine"], strict=True):
            record.body.string_value = body
        h.spool.append(KIND_LOGS, logs(*records))
        h.writer.start()
        h.drain()
        found = h.rows(
            "SELECT sum(items) AS n, count() AS rows FROM {db}.dead_letters FINAL "
            "WHERE category = 'clickhouse_refused'"
        )
        assert (found[0]["n"], found[0]["rows"]) == (2, 2)
        labels = {"signal": "logs", "reason": "clickhouse_refused"}
        assert h.sample("llmobs_store_dead_lettered_total", **labels) == 2
        assert h.rows("SELECT count() AS n FROM {db}.logs")[0]["n"] == 1


def test_a_dead_letter_replayed_on_another_day_is_kept_once(tmp_path: Path) -> None:
    storage = Storage(f"chdb://{ENGINE_DIR}", SchemaTarget(unique_database()))
    assert storage.connect()
    fields = {"key": "k", "signal": "logs", "category": "clickhouse_refused", "items": 1}
    now = int(time.time())
    days = [f"{now - 2 * 86400}.000", f"{now}.000"]  # the batch, and its replay two days later
    storage.insert("dead_letters", [json.dumps({**fields, "time": t}) for t in days])
    db = storage.database
    # Merges (and so ReplacingMergeTree's dedup) stay inside one partition: one day apart, the
    # two copies must still share one.
    storage.command(f"OPTIMIZE TABLE {db}.dead_letters FINAL")
    assert storage.query(f"SELECT count() AS n FROM {db}.dead_letters")[0]["n"] == 1


def test_a_batch_is_bounded_by_bytes_as_well_as_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMOBS_STORE_BATCH_BYTES", "4096")
    assert StoreSettings().batch_bytes == 4096
    with running_writer(tmp_path, batch_rows=10_000, batch_bytes=8192) as h:
        real, sizes = h.storage.insert, []

        def measured(table: str, lines: Any) -> None:
            if table == "spans":
                sizes.append(sum(len(line) for line in lines))
            real(table, lines)

        monkeypatch.setattr(h.storage, "insert", measured)
        items = [span(f"s{i}", note="x" * 2000) for i in range(20)]
        h.spool.append(KIND_TRACES, traces(*items))
        h.writer.start()
        h.drain()
        assert h.stored_spans() == sorted(span_key(item) for item in items)
        assert len(sizes) > 1
        assert max(sizes) < 8192 + 4000  # the cap, overshot by one row at most


def test_a_walk_breaking_mid_request_counts_the_rest_and_keeps_it_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_walk = batch_module._Walker.traces

    def breaks_after_two(self: Any, leaves: Any, skip: int) -> Iterator[Any]:
        for item in real_walk(self, leaves, skip):
            if item.index == 2:
                raise RuntimeError("the walk itself broke")
            yield item

    monkeypatch.setattr(batch_module._Walker, "traces", breaks_after_two)
    items = [span(f"s{i}", note="y" * 400) for i in range(5)]
    payload = traces(*items)
    walked = list(
        request_items(KIND_TRACES, payload, CachedPrices(), origin="1:0", skip=0, record_limit=512)
    )
    assert [item.dead is None for item in walked] == [True, True, False]
    dead = walked[-1].dead
    assert dead is not None
    assert dead.items == 3  # items 2, 3, 4
    assert len(dead.record) < len(walked[-1].raw)  # the letter is bounded, the copy is not
    with running_writer(tmp_path, record_limit=512) as h:
        h.spool.append(KIND_TRACES, payload)
        h.writer.start()
        h.drain()
        assert h.stored_spans() == sorted(span_key(item) for item in items[:2])
        found = h.rows("SELECT sum(items) AS n FROM {db}.dead_letters FINAL")
        assert found[0]["n"] == 3
        labels = {"signal": "traces", "reason": "record_error"}
        assert h.sample("llmobs_store_dead_lettered_total", **labels) == 3
        copies = [json.loads(line) for line in (h.dir / FILE_NAME).read_text().splitlines()]
        assert [copy["record"] for copy in copies] == [walked[-1].raw]
        assert h.writer.dead_letters.file_count() == 0  # a copy, not a letter only on disk
