"""One measurement: one mode, one workload, in the mode's peer environment; prints one JSON line.

Run by ``overhead.py`` with the peer venv's interpreter (never the workspace's), one process per
(mode, workload), because instrumentations patch libraries for the whole process. CPU time is the
process's (``time.process_time``: every thread, so work an instrumentation hands to a background
exporter counts), over the timed operations plus one flush of the span pipeline; the calling
thread's CPU (``time.thread_time``, without the flush) is reported too, as the earlier figures
were taken that way. Each operation kind is timed ``--reps`` times and the fastest rep is kept.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _modes
import _workloads

# Operations per rep at --scale 1 (about a second of CPU each on a 2-core development machine).
COUNTS = {
    "call": 1500,
    "stream_short": 40,
    "stream_long": 40,
    "invoke": 300,
    "step": 150,
    "query": 200,
}


def _timed(op: Any, n: int, flush: Any) -> dict[str, float]:
    p0, t0 = time.process_time(), time.thread_time()
    for _ in range(n):
        op()
    t1 = time.thread_time()
    flush()
    p1 = time.process_time()
    return {"process_s": (p1 - p0) / n, "thread_s": (t1 - t0) / n}


def measure(mode: str, workload: str, sim: str, reps: int, scale: float) -> dict[str, Any]:
    instrumented = _modes.setup(mode, workload)
    ops = _workloads.BUILDERS[workload](sim)
    counts = {name: max(int(COUNTS[name] * scale), 2) for name in ops}
    done = 0
    for name, op in ops.items():  # warm-up: imports, caches, first connections
        for _ in range(max(counts[name] // 10, 2)):
            op()
        done += max(counts[name] // 10, 2)
    best: dict[str, dict[str, float]] = {}
    for _ in range(reps):
        for name, op in ops.items():
            sample = _timed(op, counts[name], instrumented.flush)
            done += counts[name]
            kept = best.setdefault(name, sample)
            for key, value in sample.items():
                kept[key] = min(kept[key], value)
    spans = instrumented.spans()
    loaded = sorted(
        m
        for m in sys.modules
        if m.startswith("llmobs_probe.instrumentation.") and m.count(".") == 2
    )
    return {
        "mode": mode,
        "workload": workload,
        "ops": best,
        "counts": counts,
        "spans": spans,
        "spans_per_op": spans / done,
        "probe_instrumentations": [m.rsplit(".", 1)[1] for m in loaded],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", required=True)
    parser.add_argument("--workload", required=True, choices=sorted(_workloads.BUILDERS))
    parser.add_argument("--sim", default="", help="base URL of the model-server simulator")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    row = measure(args.mode, args.workload, args.sim, args.reps, args.scale)
    print(json.dumps(row))


if __name__ == "__main__":
    main()
