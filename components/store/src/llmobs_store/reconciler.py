"""The tree pass: re-judge each trace that received spans, a short while after it did.

Spans of one trace arrive in any order, in different requests, minutes apart, so nothing about
the tree can be decided when one span is inserted. The writer hands this module the skeleton
(``_tree.Node``) of every span it stored; ``settle_s`` after a trace's first new span the pass
applies the rule (``_tree.py``) and writes only the verdicts that changed to ``span_tree``
(versioned; aggregates read it through ``_tree_sql.py``). A trace touched again is judged again.

Skeletons stay in memory while a trace is active (``linger_s`` after it was judged, within a
node budget); reading traces back from ClickHouse by id is far too slow to do for every trace. A
trace that may have stored spans this process no longer holds (``_seen.RecentTraces`` says so, or
it was waiting at a restart) is read back from ``spans`` (its trace-id bloom filter index) before
it is judged. A trace most of whose verdicts are surely nothing (a root,
one call, nothing to inherit: ``_tree.trivial``) is not judged at all.

A small mark file (the earliest insert time still waiting) lets :meth:`recover` find the traces
that were waiting when the process stopped.
"""

import json
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmobs_semconv import attributes as A
from llmobs_store._seen import RecentTraces
from llmobs_store._tree import NOTHING, Node, Verdict, judge, trivial
from llmobs_store._values import ch_time
from llmobs_store.storage import Storage

log = logging.getLogger(__name__)
_TRACES_PER_QUERY = 500
# A pass is bounded so that the inserter, which runs it, gets back to ingest quickly.
_TRACES_PER_PASS = 20_000
# Rows are stamped by the normaliser a little before they are inserted; the mark is kept this
# much earlier than the batch it names so that a recovery never starts after a waiting row.
_MARK_SLACK_S = 1.0
_DAY_US = 86_400 * 10**6


@dataclass
class _Trace:
    nodes: dict[str, Node] = field(default_factory=dict)
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # as span_tree holds them
    complete: bool = True  # every stored span is in ``nodes`` (else read back first)
    due_at: float | None = None
    batch_wall: float = 0.0  # when the earliest batch it waits for was begun
    touched_at: float = 0.0
    trivial: bool = False  # judged with nothing to say (then forgotten at once)


class TraceReconciler:
    """Traces waiting for their tree pass, and the pass (called from the writer's inserter)."""

    def __init__(
        self,
        storage: Storage,
        settle_s: float,
        state_dir: Path | None = None,
        *,
        linger_s: float = 30.0,
        max_nodes: int = 200_000,
        recent_capacity: int = 8_000_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.storage = storage
        self.settle_s = settle_s
        self.linger_s = linger_s
        self.max_nodes = max_nodes
        self.mark_path = state_dir / "trees.mark" if state_dir is not None else None
        self.recent = RecentTraces(
            recent_capacity, 1800.0, state_dir / "trees.seen" if state_dir is not None else None
        )
        self.recent.load()
        self.clock = clock
        self.traces: dict[str, _Trace] = {}
        self.waiting: dict[str, _Trace] = {}  # due or not yet, in first-touch order
        self.idle: OrderedDict[str, _Trace] = OrderedDict()  # judged, oldest touch first
        self.nodes_held = 0
        self._last_batch_wall = time.time()
        self._version = 0
        self.traces_total = 0
        self.verdicts_total = 0
        self.read_back_total = 0

    @property
    def backlog(self) -> int:
        return len(self.waiting)

    def observe(self, nodes: Mapping[str, Node], batch_wall: float) -> None:
        """Note stored spans (by trace id + span id; ``batch_wall``: when their batch began)."""
        now = self.clock()
        by_trace: dict[str, list[Node]] = {}
        for key, node in nodes.items():
            by_trace.setdefault(key[:32], []).append(node)
        for trace_id, found in by_trace.items():
            trace = self.traces.get(trace_id)
            if trace is None:
                seen = self.recent.check_and_add(trace_id)
                if not seen and trivial(found):
                    # Nothing to judge or inherit (most plain spans): holding the skeleton until
                    # it settles would cost memory for every such span, bounded by nothing (one
                    # 600k-span request held +300 MiB). A later span of it reads these back.
                    self.traces_total += 1
                    continue
                trace = self.traces[trace_id] = _Trace(complete=not seen)
            if trace_id not in self.waiting:
                trace.due_at, trace.batch_wall = now + self.settle_s, batch_wall
                self.waiting[trace_id] = trace
                self.idle.pop(trace_id, None)
            trace.touched_at = now
            for node in found:
                if node.span_id not in trace.nodes:
                    trace.nodes[node.span_id] = node
                    self.nodes_held += 1
        self._last_batch_wall = max(self._last_batch_wall, batch_wall)

    def due(self) -> list[str]:
        now = self.clock()
        found = []
        for trace_id, trace in self.waiting.items():
            if trace.due_at is not None and trace.due_at > now:
                break  # first-touch order: the rest are later still
            found.append(trace_id)
            if len(found) >= _TRACES_PER_PASS:
                break
        return found

    def reconcile_due(self) -> int:
        """Judge the traces that have settled (a bounded number); returns verdicts written."""
        due = self.due()
        written = self.reconcile(due) if due else 0
        self._forget()
        if due:
            self._write_mark()
        return written

    def reconcile(self, trace_ids: list[str]) -> int:
        """Judge ``trace_ids`` now and store the verdicts that changed; returns how many."""
        unknown = [t for t in trace_ids if t in self.traces and not self.traces[t].complete]
        for start in range(0, len(unknown), _TRACES_PER_QUERY):
            self._read_back(unknown[start : start + _TRACES_PER_QUERY])
        rows = []
        for trace_id in trace_ids:
            trace = self.traces.get(trace_id)
            if trace is None:
                continue
            trace.trivial = not trace.verdicts and trivial(trace.nodes.values())
            if not trace.trivial:
                fresh = judge(trace.nodes.values())
                for span_id in fresh.keys() | trace.verdicts.keys():
                    new = fresh.get(span_id, NOTHING)
                    if new != trace.verdicts.get(span_id, NOTHING) and span_id in trace.nodes:
                        rows.append(self._row(trace_id, trace.nodes[span_id], new))
                        if new == NOTHING:
                            trace.verdicts.pop(span_id, None)
                        else:
                            trace.verdicts[span_id] = new
        self.storage.insert("span_tree", rows)
        for trace_id in trace_ids:
            trace = self.waiting.pop(trace_id, None)
            if trace is None:
                continue
            trace.due_at = None
            if trace.trivial:
                # Nothing to remember: a later span of it is judged with its stored spans.
                del self.traces[trace_id]
                self.nodes_held -= len(trace.nodes)
            else:
                self.idle[trace_id] = trace
        self.traces_total += len(trace_ids)
        self.verdicts_total += len(rows)
        return len(rows)

    def _forget(self) -> None:
        """Drop judged traces past their linger, and the oldest while over the node budget."""
        now = self.clock()
        while self.idle:
            trace_id, trace = next(iter(self.idle.items()))
            if now - trace.touched_at < self.linger_s and self.nodes_held <= self.max_nodes:
                break
            del self.idle[trace_id]
            del self.traces[trace_id]
            self.nodes_held -= len(trace.nodes)

    def _read_back(self, trace_ids: list[str]) -> None:
        """Complete traces from ClickHouse: their stored spans and verdicts."""
        since = min(
            (n.start_us for t in trace_ids for n in self.traces[t].nodes.values()), default=0
        )
        db = self.storage.database
        rows = self.storage.query(
            "SELECT trace_id, span_id, parent_span_id, toUnixTimestamp64Micro(start_time) AS t, "
            "kind, (input_tokens + output_tokens > 0 OR cost_usd > 0) AS carries, counted, "
            f"attributes['{A.LLMOBS_CALLER_SPAN_ID}'] AS caller, session_id, user_id, "
            "(status = 'ERROR') AS failed "
            # The trace id's bloom filter finds the granules; the time bound prunes partitions (a
            # trace's stored spans started at most a day before its new ones).
            f"FROM {db}.spans WHERE trace_id IN {{ids:Array(String)}} "
            "AND start_time >= fromUnixTimestamp64Micro({since:Int64})",
            {"ids": trace_ids, "since": max(since - _DAY_US, 0)},
        )
        for r in rows:
            trace = self.traces[r["trace_id"]]
            if r["span_id"] not in trace.nodes:
                trace.nodes[r["span_id"]] = Node(
                    span_id=r["span_id"], parent_id=r["parent_span_id"], start_us=int(r["t"]),
                    kind=r["kind"], usage=bool(r["carries"]), counted=bool(r["counted"]),
                    caller_id=r["caller"], session_id=r["session_id"],
                    user_id=r["user_id"], error=bool(r["failed"]),
                )  # fmt: skip
                self.nodes_held += 1
        verdicts = self.storage.query(
            "SELECT trace_id, span_id, flip, root, session_id, user_id "
            f"FROM {db}.span_tree FINAL WHERE trace_id IN {{ids:Array(String)}}",
            {"ids": trace_ids},
        )
        for r in verdicts:
            verdict = Verdict(bool(r["flip"]), bool(r["root"]), r["session_id"], r["user_id"])
            if verdict != NOTHING:
                self.traces[r["trace_id"]].verdicts[r["span_id"]] = verdict
        for trace_id in trace_ids:
            self.traces[trace_id].complete = True
        self.read_back_total += len(trace_ids)

    def _row(self, trace_id: str, node: Node, verdict: Verdict) -> str:
        # Versions only grow, also within one microsecond and across restarts (wall clock).
        self._version = max(self._version + 1, time.time_ns() // 1000)
        row: dict[str, Any] = {
            "trace_id": trace_id,
            "span_id": node.span_id,
            "start_time": ch_time(node.start_us * 1000),
            "flip": int(verdict.flip),
            "root": int(verdict.root),
            "session_id": verdict.session_id,
            "user_id": verdict.user_id,
            "version": self._version,
        }
        return json.dumps(row, ensure_ascii=False, separators=(",", ":"))

    # ------------------------------------------------------------------ restarts
    def _write_mark(self) -> None:
        """Persist the earliest batch time still waiting (or the newest batch judged)."""
        if self.mark_path is None:
            return
        waiting = next(iter(self.waiting.values()), None)
        mark = waiting.batch_wall if waiting is not None else self._last_batch_wall
        tmp = self.mark_path.with_suffix(".tmp")
        try:
            tmp.write_text(f"{mark - _MARK_SLACK_S:.3f}\n", encoding="ascii")
            os.replace(tmp, self.mark_path)
        except OSError as exc:  # only a recovery would look further back than it must
            log.warning("cannot write the tree pass mark %s: %s", self.mark_path, exc)

    def save(self) -> None:
        """At a graceful stop: keep which traces were seen (the waiting ones are in the mark)."""
        self.recent.save()

    def recover(self) -> int:
        """Wait again for every trace with spans stored since the mark (after a restart)."""
        if self.mark_path is None:
            return 0
        try:
            mark = float(self.mark_path.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            # First start (or an unreadable mark): spans stored before now are not re-judged.
            self._write_mark()
            return 0
        rows = self.storage.query(
            f"SELECT DISTINCT trace_id FROM {self.storage.database}.spans "
            "WHERE ingested_at >= fromUnixTimestamp64Milli({mark:Int64}) "
            "AND start_time >= fromUnixTimestamp64Milli({mark:Int64}) - INTERVAL 1 DAY",
            {"mark": int(mark * 1000)},
        )
        now = self.clock()
        for row in rows:
            trace_id = row["trace_id"]
            trace = self.traces.setdefault(trace_id, _Trace())
            trace.complete, trace.due_at, trace.batch_wall = False, now, mark
            trace.touched_at = now
            self.waiting.setdefault(trace_id, trace)
            self.recent.check_and_add(trace_id)
        return len(rows)
