"""Charts for the dashboard, drawn here as inline SVG: a pool's capacity over time is a step function, which
a few path commands draw exactly (no point sampling, no library, no script), and the page stays offline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

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


def bar_chart(
    bars: Sequence[tuple[str, Decimal]],
    title: str,
    highlight: str | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Markup:
    """One bar per label (months, policies, strategies) from zero, up or down, at most 80 units wide; the
    highlighted one in the accent colour. Small multiples pass a smaller width so that their text stays
    readable."""
    values = [float(v) for _, v in bars]
    top, bottom = max([0.0, *values]), min([0.0, *values])
    span = (top - bottom) or 1.0
    plot_w, plot_h = width - LEFT - 10, height - BOTTOM - TOP
    slot = min(plot_w / max(len(bars), 1), 80 / 0.7)

    def y(value: float) -> float:
        return TOP + plot_h * (top - value) / span

    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    ticks = [0.0]  # the value axis: zero, the ends, and halfway up when all is above zero; none crowded
    for value in (top, bottom, top / 2 if bottom == 0 else bottom / 2 if top == 0 else top):
        if all(abs(value - t) > 0.1 * span for t in ticks):
            ticks.append(value)
    for tick in ticks:
        parts.append(f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{_short(tick)}</text>')
        parts.append(f'<line x1="{LEFT}" x2="{width - 10}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#d0d7de"/>')
    every = max(1, len(bars) // 12)  # at most 12 labels under the bars
    for i, ((label, amount), v) in enumerate(zip(bars, values, strict=True)):
        x = LEFT + i * slot + slot * 0.15
        colour = "#0b5cad" if label == highlight or highlight is None else "#7a9cc6"
        parts.append(
            f'<rect x="{x:.1f}" y="{min(y(v), y(0)):.1f}" width="{slot * 0.7:.1f}" height="{abs(y(v) - y(0)):.1f}"'
            f' fill="{colour}"><title>{escape(label)}: {Decimal(amount):,.2f}</title></rect>'
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{height - 12}" text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(value: float) -> str:
    """An axis label: 1.2k, -3.4M, 5.6B."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:,.1f}{suffix}"
    return f"{value:,.2f}" if 0 < abs(value) < 10 else f"{value:,.0f}"
