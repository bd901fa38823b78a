"""SVG line charts for the soak report (RSS per process, gateway p99 per window).

Written by hand as ``benchmarks/gateway/chart.py`` writes its bars: plain SVG elements, no
plotting dependency. Linear axes with round tick steps; vertical marks for the faults.
"""

from __future__ import annotations

import math

WIDTH, HEIGHT = 860, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 170, 50, 50
PALETTE = ("#2b7bb9", "#d9822b", "#3a9a4a", "#c0392b", "#8e44ad", "#7f8c8d", "#16a085", "#b7950b")


def _step(span: float) -> float:
    """A round tick step giving about five ticks over ``span``."""
    raw = span / 5 if span > 0 else 1.0
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return float(next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw))


def lines(
    title: str,
    y_label: str,
    series: dict[str, list[tuple[float, float]]],
    marks: list[tuple[float, str]] | None = None,
) -> str:
    """A line per series (x in seconds since the start); ``marks`` are labelled vertical lines."""
    points = [p for values in series.values() for p in values if math.isfinite(p[1])]
    x_max = max([p[0] for p in points] + [m[0] for m in marks or []] + [1.0])
    y_max = max([p[1] for p in points] + [1.0]) * 1.1
    x_step, y_step = _step(x_max), _step(y_max)
    x_max = math.ceil(x_max / x_step) * x_step
    y_max = math.ceil(y_max / y_step) * y_step
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(v: float) -> float:
        return LEFT + plot_w * v / x_max

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / y_max)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="22" text-anchor="middle" font-size="15">'
        f"{title}</text>",
        f'<text x="16" y="{TOP + plot_h / 2}" transform="rotate(-90 16 {TOP + plot_h / 2})" '
        f'text-anchor="middle">{y_label}</text>',
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 12}" text-anchor="middle">seconds</text>',
    ]
    for i in range(round(y_max / y_step) + 1):
        yy = y(i * y_step)
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#ddd"/>'
        )
        out.append(f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">{i * y_step:g}</text>')
    for i in range(round(x_max / x_step) + 1):
        xx = x(i * x_step)
        out.append(
            f'<text x="{xx:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{i * x_step:g}</text>'
        )
    for at, label in marks or []:
        xx = x(at)
        out.append(
            f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#bbb" '
            'stroke-dasharray="4 3"/>'
        )
        out.append(
            f'<text x="{xx + 3:.1f}" y="{TOP + 10}" font-size="9" fill="#777" '
            f'transform="rotate(90 {xx + 3:.1f} {TOP + 10})">{label}</text>'
        )
    for n, (name, values) in enumerate(series.items()):
        color = PALETTE[n % len(PALETTE)]
        good = [(px, py) for px, py in values if math.isfinite(py)]
        if good:
            path = " ".join(f"{x(px):.1f},{y(py):.1f}" for px, py in good)
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.6"/>'
            )
        ly = TOP + 14 + n * 18
        out.append(
            f'<rect x="{WIDTH - RIGHT + 12}" y="{ly - 10}" width="12" height="12" fill="{color}"/>'
        )
        out.append(f'<text x="{WIDTH - RIGHT + 30}" y="{ly}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
