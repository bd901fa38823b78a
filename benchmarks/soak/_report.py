"""The soak's end: count what ClickHouse holds, check that the books balance, write the report.

The books: every span the store acknowledged (a 200, counted by the proxy) is either stored
(in ClickHouse, counted by id once the store has drained and stopped) or dead-lettered (the
store's counter, or its ``/api/v1/dead-letters``). Spans stored without an acknowledgement
(the store spooled them, then died before answering, and the client gave up) are allowed by
at-least-once delivery and reported apart.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _chart import lines
from _load import Window


def stored_span_ids(chdb_path: Path, database: str = "llmobs") -> set[str]:
    """Distinct ``trace_id + span_id`` in the spans table (the store must be stopped)."""
    from chdb import session

    sess = session.Session(str(chdb_path))  # type: ignore[no-untyped-call]  # chdb is untyped
    try:
        result = sess.query(  # type: ignore[no-untyped-call]
            f"SELECT DISTINCT concat(trace_id, span_id) FROM {database}.spans",  # noqa: S608 - our constant
            "TabSeparated",
        )
        return {line for line in str(result).splitlines() if line}
    finally:
        sess.close()  # type: ignore[no-untyped-call]


@dataclass
class Books:
    sent: int
    acknowledged: int
    acked_by_id: set[str]
    stored: set[str]
    dead_lettered: int
    dead_letter_source: str

    @property
    def stored_acked(self) -> int:
        return len(self.stored & self.acked_by_id) + (self.acknowledged - len(self.acked_by_id))

    @property
    def difference(self) -> int:
        """Acknowledged − stored − dead-lettered: must be 0."""
        return self.acknowledged - self.stored_acked - self.dead_lettered


def latency_rows(windows: list[Window]) -> list[dict[str, float]]:
    return [
        {
            "start_s": w.start_s,
            "requests": len(w.total) + w.errors,
            "errors": w.errors,
            "ttft_p99_ms": Window.pct(w.ttft, 0.99) * 1000,
            "total_p50_ms": Window.pct(w.total, 0.5) * 1000,
            "total_p99_ms": Window.pct(w.total, 0.99) * 1000,
        }
        for w in windows
    ]


def write(
    out: Path,
    *,
    books: Books,
    details: dict[str, Any],
    windows: list[Window],
    rss: dict[str, list[tuple[float, float]]],
    marks: list[tuple[float, str]],
) -> None:
    """Print the summary, write ``soak-report.json``, ``soak-rss.svg`` and ``soak-latency.svg``."""
    rows = latency_rows(windows)
    print("\n== gateway latency per window (steady load) ==")
    print(f"{'from s':>7} {'req':>6} {'err':>5} {'TTFT p99':>9} {'total p50':>10} {'p99':>8}")
    for r in rows:
        print(
            f"{r['start_s']:7.0f} {r['requests']:6.0f} {r['errors']:5.0f} "
            f"{r['ttft_p99_ms']:9.1f} {r['total_p50_ms']:10.1f} {r['total_p99_ms']:8.1f}"
        )
    print("\n== RSS at the end (MiB; peak) ==")
    for name, values in rss.items():
        good = [v for _, v in values if math.isfinite(v)]
        if good:
            print(f"  {name:16} {good[-1]:8.1f}  (peak {max(good):.1f}, first {good[0]:.1f})")
    print("\n== the books (spans) ==")
    print(f"  sent (distinct, through the proxy)        {books.sent}")
    print(f"  acknowledged (200 answers, distinct)      {books.acknowledged}")
    print(f"  stored (in ClickHouse, of those)          {books.stored_acked}")
    print(f"  dead-lettered ({books.dead_letter_source}) {books.dead_lettered}")
    print(f"  stored without acknowledgement (allowed)  {len(books.stored - books.acked_by_id)}")
    missing = sorted(books.acked_by_id - books.stored)
    if books.difference == 0:
        print("  acknowledged = stored + dead-lettered: OK, exact")
    else:
        bar = "!" * 78
        print(
            f"\n{bar}\n!!! MISMATCH: acknowledged - stored - dead-lettered = {books.difference:+d}"
        )
        print(f"!!! {len(missing)} acknowledged span ids are not in ClickHouse, e.g. {missing[:3]}")
        print(f"{bar}\n")
    for key, value in details.items():
        print(f"  {key}: {value}")
    report = {
        "books": {
            "sent": books.sent,
            "acknowledged": books.acknowledged,
            "stored": books.stored_acked,
            "dead_lettered": books.dead_lettered,
            "dead_letter_source": books.dead_letter_source,
            "stored_without_ack": len(books.stored - books.acked_by_id),
            "difference": books.difference,
            "missing_sample": missing[:20],
        },
        "details": details,
        "latency_windows": rows,
        "rss_mib": rss,
        "faults": marks,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "soak-report.json").write_text(json.dumps(report, indent=2, default=str))
    (out / "soak-rss.svg").write_text(
        lines("RSS per process during the soak (MiB)", "MiB", rss, marks)
    )
    p99 = {
        "total p99": [(r["start_s"], r["total_p99_ms"]) for r in rows],
        "TTFT p99": [(r["start_s"], r["ttft_p99_ms"]) for r in rows],
        "total p50": [(r["start_s"], r["total_p50_ms"]) for r in rows],
    }
    (out / "soak-latency.svg").write_text(
        lines("Gateway latency per window during the soak (ms)", "ms", p99, marks)
    )
    print(f"report: {out / 'soak-report.json'}, charts: soak-rss.svg, soak-latency.svg")
