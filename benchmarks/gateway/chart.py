"""An SVG bar chart of the gateway benchmark: added TTFT (p50, p99) per level, llmobs vs peers.

Log scale, because LiteLLM's added latency is hundreds of times llmobs'. An added latency at or
below zero (the target was as fast as the direct connection) is drawn at the axis floor and
labelled with its value.

    .venv/bin/python benchmarks/gateway/chart.py .bench/gateway-results.json OUT.svg
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

FLOOR_MS = 0.1
COLORS = {"llmobs": "#2b7bb9", "litellm": "#d9822b", "portkey": "#3a9a4a"}
WIDTH, HEIGHT = 860, 380
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 50, 60


def added(rows: list[dict[str, float]], target: str, level: int, what: str) -> float | None:
    by = {(r["target"], r["concurrency"]): r for r in rows}
    direct, row = by.get(("direct", level)), by.get((target, level))
    if direct is None or row is None:
        return None
    return row[what] - direct[what]


def svg(rows: list[dict[str, float]]) -> str:
    levels = sorted({int(r["concurrency"]) for r in rows})
    targets = [t for t in COLORS if any(r["target"] == t for r in rows)]
    series = [(t, q) for t in targets for q in ("ttft_p50_ms", "ttft_p99_ms")]
    values = [added(rows, t, lv, q) for lv in levels for t, q in series]
    top = max([v for v in values if v is not None] + [10.0])
    decades = range(math.floor(math.log10(FLOOR_MS)), math.ceil(math.log10(top)) + 1)
    lo, hi = min(decades), max(decades)
    plot_h = HEIGHT - TOP - BOTTOM

    def y(ms: float) -> float:
        ms = max(ms, FLOOR_MS)
        return TOP + plot_h * (1 - (math.log10(ms) - lo) / (hi - lo))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="15">Added time to first '
        "token vs a direct connection (ms, log scale; lower is better)</text>",
    ]
    for d in decades:
        yy = y(10.0**d)
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#ddd"/>'
        )
        out.append(f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">{10.0**d:g}</text>')
    group_w = (WIDTH - LEFT - RIGHT) / len(levels)
    bar_w = group_w * 0.8 / len(series)
    for i, level in enumerate(levels):
        x0 = LEFT + i * group_w + group_w * 0.1
        for j, (target, q) in enumerate(series):
            value = added(rows, target, level, q)
            if value is None:
                continue
            x = x0 + j * bar_w
            yy = y(value)
            opacity = "1" if q.endswith("p50_ms") else "0.55"
            out.append(
                f'<rect x="{x:.1f}" y="{yy:.1f}" width="{bar_w - 2:.1f}" '
                f'height="{TOP + plot_h - yy:.1f}" fill="{COLORS[target]}" '
                f'fill-opacity="{opacity}"/>'
            )
            label = f"{value:+.1f}" if abs(value) < 100 else f"{value:+.0f}"
            out.append(
                f'<text x="{x + bar_w / 2 - 1:.1f}" y="{yy - 4:.1f}" text-anchor="middle" '
                f'font-size="10">{label}</text>'
            )
        out.append(
            f'<text x="{x0 + group_w * 0.4:.1f}" y="{HEIGHT - BOTTOM + 18}" '
            f'text-anchor="middle">{level} concurrent stream{"s" if level > 1 else ""}</text>'
        )
    legend_x = LEFT
    for target in targets:
        for q, opacity in (("p50", "1"), ("p99", "0.55")):
            out.append(
                f'<rect x="{legend_x}" y="{HEIGHT - 22}" width="12" height="12" '
                f'fill="{COLORS[target]}" fill-opacity="{opacity}"/>'
            )
            out.append(f'<text x="{legend_x + 16}" y="{HEIGHT - 12}">{target} {q}</text>')
            legend_x += 125
    out.append("</svg>")
    return "\n".join(out) + "\n"


def load_rows(path: Path) -> list[dict[str, float]]:
    """The result rows of a bench JSON: ``{"meta", "rows"}``, or the bare list older runs wrote."""
    doc = json.loads(path.read_text())
    rows: list[dict[str, float]] = doc["rows"] if isinstance(doc, dict) else doc
    return rows


def main() -> None:
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(svg(load_rows(source)))
    print(f"chart: {target}")


if __name__ == "__main__":
    main()
