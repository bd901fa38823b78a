"""What the soak samples while it runs: RSS of each process, the store's own counters.

The store's Prometheus counters start again at zero when the store restarts (after each
``kill -9``), so the dead-letter total is summed over the store's lives: the last value read
from each life. The harness reads once more right before it kills the store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

DEAD_LETTERED = "llmobs_store_dead_lettered"  # the parser drops a counter's _total suffix
SPOOL_DEPTH = "llmobs_store_spool_depth_bytes"


def rss_mib(pid: int) -> float:
    """Resident set size of one process, MiB (NaN once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


@dataclass
class StoreCounters:
    """Dead-lettered items by (signal, reason), summed over the store's lives; spool depth."""

    lives: list[dict[tuple[str, str], float]] = field(default_factory=lambda: [{}])
    spool_bytes: float = float("nan")
    counter_seen: bool = False

    def new_life(self) -> None:
        self.lives.append({})

    def read(self, store: str) -> bool:
        """Scrape ``/metrics`` once; False when the store did not answer."""
        try:
            text = httpx.get(f"{store}/metrics", timeout=5).text
        except httpx.HTTPError:
            return False
        life = self.lives[-1]
        for family in text_string_to_metric_families(text):
            if family.name == DEAD_LETTERED:
                self.counter_seen = True
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        key = (sample.labels.get("signal", ""), sample.labels.get("reason", ""))
                        life[key] = sample.value
            elif family.name == SPOOL_DEPTH:
                self.spool_bytes = family.samples[0].value
        return True

    def dead_lettered(self) -> dict[tuple[str, str], float]:
        total: dict[tuple[str, str], float] = {}
        for life in self.lives:
            for key, value in life.items():
                total[key] = total.get(key, 0.0) + value
        return total

    def dead_lettered_spans(self) -> int:
        return int(
            sum(
                v
                for (signal, _), v in self.dead_lettered().items()
                if signal in ("traces", "spans")
            )
        )


def dead_letters_api(store: str) -> tuple[int | None, str]:
    """Spans the store lists as dead-lettered (``GET /api/v1/dead-letters`` per-signal totals)."""
    try:
        answer = httpx.get(f"{store}/api/v1/dead-letters", params={"limit": 1}, timeout=30)
    except httpx.HTTPError as exc:
        return None, f"unreachable: {exc!r}"
    if answer.status_code != 200:
        return None, f"HTTP {answer.status_code}: {answer.text[:200]}"
    doc = answer.json()
    spans = int(doc["totals"]["traces"])
    return spans, f"{doc['total']} entries, {spans} spans, {doc['file_fallback']['count']} in file"


@dataclass
class RssLog:
    """RSS samples per named process: ``{name: [(seconds since start, MiB)]}``."""

    started: float = field(default_factory=time.monotonic)
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def sample(self, pids: dict[str, int]) -> dict[str, float]:
        at = time.monotonic() - self.started
        now = {name: rss_mib(pid) for name, pid in pids.items()}
        for name, mib in now.items():
            self.series.setdefault(name, []).append((at, mib))
        return now
