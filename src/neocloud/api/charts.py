"""Charts for the dashboard, drawn here as inline SVG: a pool's capacity over time is a step function, which
a few path commands draw exactly (no point sampling, no library, no script), and the page stays offline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from markupsafe import Markup, escape

from neocloud.core.ledger import ProfileStep

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 960, 300, 70, 40, 10
SERIES = (("maintenance", "#8a5a00"), ("held", "#0b5cad"))  # stacked from the bottom; free is the rest


def capacity_chart(steps: Sequence[ProfileStep], start: int, end: int, title: str) -> Markup:
    """GPUs in maintenance and held, stacked, under the installed line, over [start, end)."""
    top = max((s.installed for s in steps), default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - BOTTOM - TOP

    def x(t: int) -> float:
        return LEFT + plot_w * (min(max(t, start), end) - start) / max(end - start, 1)

    def y(gpus: int) -> float:
        return TOP + plot_h * (1 - gpus / top)

    def area(low: list[int], high: list[int]) -> str:
        upper = " ".join(
            f"L{x(s.start):.1f},{y(h):.1f} L{x(s.end):.1f},{y(h):.1f}" for s, h in zip(steps, high, strict=True)
        )
        lower = " ".join(
            f"L{x(s.end):.1f},{y(lo):.1f} L{x(s.start):.1f},{y(lo):.1f}"
            for s, lo in zip(reversed(steps), reversed(low), strict=True)
        )
        return f"M{x(steps[0].start):.1f},{y(low[0]):.1f} {upper} {lower} Z"

    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title" class="chart">',
        f'<title id="chart-title">{escape(title)}</title>',
    ]
    if steps:
        base = [0] * len(steps)
        for name, colour in SERIES:
            values = [getattr(s, name) for s in steps]
            stacked = [b + v for b, v in zip(base, values, strict=True)]
            if any(values):
                parts.append(
                    f'<path d="{area(base, stacked)}" fill="{colour}" fill-opacity="0.75"><title>{name}</title></path>'
                )
            base = stacked
        line = " ".join(f"L{x(s.start):.1f},{y(s.installed):.1f} L{x(s.end):.1f},{y(s.installed):.1f}" for s in steps)
        parts.append(
            f'<path d="M{line[1:]}" fill="none" stroke="#1b1f24" stroke-width="2"><title>installed</title></path>'
        )
    for gpus in (0, top // 2, top):  # the GPU axis
        parts.append(f'<text x="{LEFT - 6}" y="{y(gpus) + 4:.1f}" text-anchor="end">{gpus:,}</text>')
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - 10}" y1="{y(gpus):.1f}" y2="{y(gpus):.1f}" stroke="#d0d7de"/>')
    for i in range(5):  # the time axis, in UTC
        t = start + (end - start) * i // 4
        label = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")
        anchor = ("start", "middle", "middle", "middle", "end")[i]  # the ends' labels stay inside
        parts.append(f'<text x="{x(t):.1f}" y="{HEIGHT - 12}" text-anchor="{anchor}">{label}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
