"""The write-ahead spool: order, checkpoint, replay after a crash, torn tails, the bound."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from llmobs_store.spool import Spool, SpoolFull

_OPEN: list[Spool] = []


def make(tmp: Path, **kw: int) -> Spool:
    spool = Spool(tmp, kw.get("segment", 1024), kw.get("max", 10**9), fsync=True)
    _OPEN.append(spool)
    return spool


@pytest.fixture(autouse=True)
def _close_spools() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def test_records_come_back_in_order_across_segments(tmp_path: Path) -> None:
    spool = make(tmp_path, segment=100)
    payloads = [f"record-{i}".encode() * 5 for i in range(20)]
    for p in payloads:
        spool.append(1, p)
    assert len(list(tmp_path.glob("*.wal"))) > 1
    got = []
    for _ in range(50):
        records = spool.read(200, wait_s=0)
        if not records:
            break
        got += [r.payload for r in records]
    assert got == payloads


def test_uncommitted_records_replay_after_restart_and_committed_do_not(tmp_path: Path) -> None:
    spool = make(tmp_path, segment=64)
    for i in range(10):
        spool.append(1, f"p{i}".encode() * 10)
    first = spool.read(10**6, wait_s=0)
    spool.commit(first[3].end)
    spool.close()
    again = make(tmp_path, segment=64)
    replayed = again.read(10**6, wait_s=0)
    assert [r.payload for r in replayed] == [f"p{i}".encode() * 10 for i in range(4, 10)]
    assert again.depth_bytes > 0
    again.commit(replayed[-1].end)
    assert again.depth_bytes == 0
    assert again.read(10**6, wait_s=0) == []


def test_rewind_reads_the_same_records_again(tmp_path: Path) -> None:
    spool = make(tmp_path)
    spool.append(2, b"a")
    spool.append(3, b"b")
    once = spool.read(10**6, wait_s=0)
    spool.rewind()
    twice = spool.read(10**6, wait_s=0)
    assert [(r.kind, r.payload) for r in once] == [(r.kind, r.payload) for r in twice]


def test_a_torn_tail_is_cut_off_at_start(tmp_path: Path) -> None:
    spool = make(tmp_path)
    spool.append(1, b"complete")
    spool.close()
    segment = sorted(tmp_path.glob("*.wal"))[-1]
    with open(segment, "ab") as fh:
        fh.write(b"\x10\x00\x00\x00garbage")  # a header promising more bytes than follow
    again = make(tmp_path)
    assert [r.payload for r in again.read(10**6, wait_s=0)] == [b"complete"]
    again.append(1, b"next")
    assert [r.payload for r in again.read(10**6, wait_s=0)] == [b"next"]


def test_backlog_bound_refuses_instead_of_growing(tmp_path: Path) -> None:
    spool = make(tmp_path, max=1024 * 1024)
    spool.append(1, b"x" * 600_000)
    with pytest.raises(SpoolFull):
        spool.append(1, b"x" * 600_000)
    records = spool.read(10**7, wait_s=0)
    spool.commit(records[-1].end)
    spool.append(1, b"x" * 600_000)  # room again once the writer caught up
