"""Operator benchmarks: webhook admission latency, ``kubectl apply`` → Ready, control-plane warm
start (ours against kwokctl). Run from the repository root::

    uv run python -m benchmarks.operator.bench [--pods 1000] [--ready-rounds 3] [--start-rounds 5]

Results go to stdout as Markdown and to ``.bench/operator/results.json``. Heavy: run once, alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.operator import _admission, _startup
from e2e import _binaries
from e2e.cluster import Cluster

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    """Run every benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ready-rounds", type=int, default=3)
    parser.add_argument("--resync-seconds", type=float, default=60.0,
                        help="operator resync interval (the chart's default is 60)")  # fmt: skip
    parser.add_argument("--start-rounds", type=int, default=5, help="0 skips the warm start")
    parser.add_argument("--pods", type=int, default=1000, help="pods of each kind; 0 skips")
    parser.add_argument("--chart", type=Path, default=Path(os.environ.get(
        "E2E_CHART_DIR", REPO / "charts" / "llmobs")))  # fmt: skip
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
                               "date": time.strftime("%Y-%m-%d %H:%M")}  # fmt: skip
    if args.start_rounds:
        results["warm_start"] = _startup.run(args.start_rounds)
    with tempfile.TemporaryDirectory(prefix="bench-operator-") as scratch:
        root = Path(scratch)
        cluster = Cluster(root / "cluster", _binaries.ensure())
        cluster.start()
        try:
            cluster.helm("install", "llmobs", str(args.chart), "-n", "llmobs-system",
                         "--create-namespace", "--wait", "--timeout", "120s")  # fmt: skip
            operator = _admission.operator_for(cluster, "llmobs-system", root / "op",
                                               args.resync_seconds)  # fmt: skip
            try:
                if args.pods:
                    results["admission"] = _admission.admission(cluster, args.pods)
                results["apply_to_ready"] = _admission.apply_to_ready(
                    cluster, args.ready_rounds, root
                )
                results["apply_to_ready"]["resync_seconds"] = args.resync_seconds
            finally:
                operator.stop()
        finally:
            cluster.stop()
    out = REPO / ".bench" / "operator"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"results-{time.strftime('%H%M%S')}.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
