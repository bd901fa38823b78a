"""The docs' table of a gateway benchmark run, from the JSON ``bench_gateway.py`` wrote.

Prints a Markdown table (every target, every level) and the goal checks: added TTFT p50 ≤ 1 ms
and p99 ≤ 5 ms at 50 streams; llmobs' added latency at most one fifth of the *best* peer's.
With ``--docs FILE`` it also replaces what stands between the ``<!-- gateway-peers:begin -->``
and ``<!-- gateway-peers:end -->`` markers in that file.

    .venv/bin/python benchmarks/gateway/render_table.py .bench/gateway-results.json \
        [--docs docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from chart import load_rows

BEGIN, END = "<!-- gateway-peers:begin -->", "<!-- gateway-peers:end -->"
NAMES = {"direct": "direct", "llmobs": "llmobs", "litellm": "LiteLLM", "portkey": "Portkey"}
PEERS = ("litellm", "portkey")
GOAL_P50_MS, GOAL_P99_MS, GOAL_RATIO = 1.0, 5.0, 0.2

Row = dict[str, float]


def _ms(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "") + _ms(value)


def added(by: dict[tuple[str, int], Row], target: str, level: int, what: str) -> float:
    return by[(target, level)][what] - by[("direct", level)][what]


def table(rows: list[Row]) -> list[str]:
    by = {(str(r["target"]), int(r["concurrency"])): r for r in rows}
    out = [
        "| streams | target | req/s | errors | TTFT p50 / p99 (ms) | total p50 / p99 (ms) "
        "| added TTFT p50 / p99 (ms) | added total p50 / p99 (ms) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        target, level = str(r["target"]), int(r["concurrency"])
        extra = " | "
        if target != "direct":
            a = [added(by, target, level, w) for w in ("ttft_p50_ms", "ttft_p99_ms")]
            b = [added(by, target, level, w) for w in ("total_p50_ms", "total_p99_ms")]
            bold = "**" if target == "llmobs" and level == 50 else ""
            extra = (
                f"{bold}{_signed(a[0])} / {_signed(a[1])}{bold} | {_signed(b[0])} / {_signed(b[1])}"
            )
        out.append(
            f"| {level} | {NAMES.get(target, target)} | {r['rps']:.1f} | {int(r['errors'])} | "
            f"{_ms(r['ttft_p50_ms'])} / {_ms(r['ttft_p99_ms'])} | "
            f"{_ms(r['total_p50_ms'])} / {_ms(r['total_p99_ms'])} | {extra} |"
        )
    return out


def goals(rows: list[Row]) -> list[str]:
    by = {(str(r["target"]), int(r["concurrency"])): r for r in rows}
    levels = sorted({int(r["concurrency"]) for r in rows})
    out = []
    if ("llmobs", 50) in by:
        p50, p99 = (added(by, "llmobs", 50, w) for w in ("ttft_p50_ms", "ttft_p99_ms"))
        met = p50 <= GOAL_P50_MS and p99 <= GOAL_P99_MS
        out.append(
            f"- Added TTFT at 50 streams ≤ {GOAL_P50_MS:g} ms p50 and ≤ {GOAL_P99_MS:g} ms p99: "
            f"{_signed(p50)} / {_signed(p99)} ms — **{'met' if met else 'not met'}**."
        )
    for level in levels:
        peers = [p for p in PEERS if (p, level) in by]
        if ("llmobs", level) not in by or not peers:
            continue
        parts, met = [], True
        for what, label in (("ttft_p50_ms", "TTFT p50"), ("ttft_p99_ms", "TTFT p99")):
            best = min(peers, key=lambda p: added(by, p, level, what))
            ours, theirs = added(by, "llmobs", level, what), added(by, best, level, what)
            ok = ours <= GOAL_RATIO * theirs
            met = met and ok
            ratio = f"1/{theirs / ours:.0f}" if ours > 0 and theirs > 0 else "≤ 0 added"
            parts.append(f"{label} {_signed(ours)} vs {NAMES[best]} {_signed(theirs)} ms ({ratio})")
        out.append(
            f"- {level} stream{'s' if level > 1 else ''}, ≤ 1/5 of the best peer's added latency: "
            + "; ".join(parts)
            + f" — **{'met' if met else 'not met'}**."
        )
    return out


def header(meta: dict[str, Any]) -> list[str]:
    """One line about the run: when, where, how loaded, which peer versions."""
    if not meta:
        return []
    load = "/".join(f"{v:.1f}" for v in meta.get("load_avg_before", [])[:1])
    after = "/".join(f"{v:.1f}" for v in meta.get("load_avg_after", [])[:1])
    litellm, portkey = meta.get("litellm") or {}, meta.get("portkey") or {}
    parts = [
        f"Run {meta.get('started', '?')}",
        f"{meta.get('cores', '?')} cores",
        f"1-min load average {load} before, {after} after",
    ]
    if litellm:
        parts.append(f"LiteLLM {litellm.get('version')} ({litellm.get('workers')} workers)")
    if portkey:
        parts.append(f"Portkey {portkey.get('version')}")
    if meta.get("quick"):
        parts.append("**`--quick` smoke run on the shared machine: not the real figures**")
    return ["; ".join(parts) + ".", ""]


def render(rows: list[Row], meta: dict[str, Any] | None = None) -> str:
    return "\n".join([*header(meta or {}), *table(rows), "", *goals(rows)]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--docs", type=Path, help="Markdown file whose marked section to replace")
    args = parser.parse_args()
    doc = json.loads(args.results.read_text())
    text = render(load_rows(args.results), doc.get("meta") if isinstance(doc, dict) else None)
    print(text, end="")
    if args.docs:
        doc = args.docs.read_text()
        if BEGIN not in doc or END not in doc:
            raise SystemExit(f"{args.docs}: no {BEGIN} … {END} section to fill")
        head, rest = doc.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        args.docs.write_text(f"{head}{BEGIN}\n{text}{END}{tail}")
        print(f"filled: {args.docs}")


if __name__ == "__main__":
    main()
