"""The scenario report's charts, drawn by matplotlib (the `scenario` extra) as inline SVG: the page works
offline and needs nothing but itself."""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from neocloud.sim.mix import Mix
from neocloud.sim.scenario import ScenarioResult, SweepPoint
from neocloud.sim.uncertainty import UncertainResult

plt.rcParams.update({"svg.hashsalt": "neocloud", "font.size": 9, "figure.dpi": 100})


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _billions(values: Sequence[Decimal]) -> list[float]:
    return [float(v) / 1e9 for v in values]


def monthly_chart(result: ScenarioResult, field_name: str, title: str, cumulative: bool = False) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for r in result.results:
        values = _billions([getattr(m, field_name) for m in r.months])
        if cumulative:
            values = [sum(values[: i + 1]) for i in range(len(values))]
        ax.plot(range(len(values)), values, label=r.strategy.name, linewidth=1.6)
    _month_ticks(ax, result.scenario.months)
    ax.axhline(0, color="#888", linewidth=0.6)
    ax.set_ylabel("USD billions")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _svg(fig)


def value_chart(result: ScenarioResult) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    names = [r.strategy.name for r in result.results]
    margin = _billions([r.total("margin") for r in result.results])
    internal = _billions([r.total("internal_value") - r.total("delay_cost") for r in result.results])
    ax.bar(names, margin, label="margin (revenue - costs)", color="#4c72b0")
    ax.bar(
        names, internal, bottom=[max(m, 0) for m in margin], label="internal work at the shadow price", color="#dd8452"
    )
    ax.scatter(names, _billions([r.total("value") for r in result.results]), color="black", zorder=3, label="value")
    ax.axhline(0, color="#888", linewidth=0.6)
    ax.margins(y=0.25)
    ax.set_ylabel("USD billions over the horizon")
    ax.set_title("What each strategy is worth")
    ax.legend(fontsize=8)
    return _svg(fig)


def use_chart(result: ScenarioResult) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    names = [r.strategy.name for r in result.results]
    gpus = result.scenario.site_gpus
    internal = [float(r.operations.internal) / gpus for r in result.results]
    spot = [float(r.operations.spot) / gpus for r in result.results]
    rented = [float(r.strategy.rent_fraction) for r in result.results]
    ax.bar(names, rented, label="rented out", color="#55a868")
    ax.bar(names, internal, bottom=rented, label="internal work", color="#dd8452")
    ax.bar(names, spot, bottom=[a + b for a, b in zip(rented, internal, strict=True)], label="spot", color="#8172b3")
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of the site's GPU-hours")
    ax.set_title("Where the GPU-hours go while the lease is in force (the rest is idle)")
    ax.legend(fontsize=8)
    return _svg(fig)


def tornado_chart(result: ScenarioResult) -> str:
    base = float(result.advantage_of_renting) / 1e9
    rows = list(reversed(result.tornado))
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.55 * len(rows)))
    for i, w in enumerate(rows):
        low, high = float(w.at_low) / 1e9, float(w.at_high) / 1e9
        ax.barh(i, low - base, left=base, color="#c44e52", height=0.5)
        ax.barh(i, high - base, left=base, color="#4c72b0", height=0.5)
    ax.set_yticks(range(len(rows)), [w.name for w in rows])
    ax.axvline(base, color="black", linewidth=0.8)
    ax.axvline(0, color="#888", linewidth=0.6, linestyle="--")
    ax.set_xlabel("renting all's value over keeping all, USD billions (red: assumption down, blue: up)")
    ax.set_title(f"Sensitivity of the decision (base {base:,.1f} B)")
    return _svg(fig)


def heatmaps(points: Sequence[SweepPoint]) -> str:
    demands = sorted({p.demand_factor for p in points})
    prices = sorted({p.lease_price_factor for p in points})
    fractions = sorted({p.rent_fraction for p in points})
    cells = {(p.demand_factor, p.lease_price_factor, p.rent_fraction): float(p.advantage) / 1e9 for p in points}
    span = max((abs(v) for v in cells.values()), default=1.0) or 1.0
    fig, axes = plt.subplots(1, len(demands), figsize=(3.2 * len(demands), 3.2), squeeze=False)
    image = None
    for ax, d in zip(axes[0], demands, strict=True):
        grid = [[cells.get((d, p, f), float("nan")) for f in fractions] for p in prices]
        image = ax.imshow(grid, cmap="RdBu", vmin=-span, vmax=span, origin="lower", aspect="auto")
        ax.set_xticks(range(len(fractions)), [f"{f:g}" for f in fractions])
        ax.set_yticks(range(len(prices)), [f"{p:g}" for p in prices])
        ax.set_xlabel("share rented")
        ax.set_title(f"demand x{d:g}")
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=7)
    axes[0][0].set_ylabel("lease price x")
    if image is not None:
        fig.colorbar(image, ax=axes[0].tolist(), label="value over keeping all, USD billions")
    return _svg(fig)


def _month_ticks(ax: Axes, months: Sequence[str]) -> None:
    ticks = list(range(0, len(months), max(1, len(months) // 8)))
    ax.set_xticks(ticks, [months[i] for i in ticks])


Bands = Sequence[tuple[float, float, float]]  # per month: P10, P50, P90


def _bands_chart(
    months: Sequence[str], series: Sequence[tuple[str, Bands]], title: str, ylabel: str, base: float
) -> str:
    """Each series' median line by month and its band from P10 to P90."""
    fig, ax = plt.subplots(figsize=(8, 3.4))
    x = range(len(months))
    for label, bands in series:
        (line,) = ax.plot(x, [b[1] for b in bands], label=label, linewidth=1.6)
        low, high = [b[0] for b in bands], [b[2] for b in bands]
        ax.fill_between(x, low, high, color=line.get_color(), alpha=0.18, linewidth=0)
    _month_ticks(ax, months)
    ax.axhline(base, color="#888", linewidth=0.6)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _svg(fig)


def fan_chart(result: ScenarioResult, uncertain: UncertainResult) -> str:
    """Each strategy's value so far, by month: the median path's and the band from P10 to P90."""
    series = [(o.name, [(lo / 1e9, mid / 1e9, hi / 1e9) for lo, mid, hi in o.bands]) for o in uncertain.odds]
    title = f"Value so far over {uncertain.paths:,} possible futures (median, P10 to P90)"
    return _bands_chart(result.scenario.months, series, title, "USD billions", 0.0)


def paths_chart(result: ScenarioResult, uncertain: UncertainResult) -> str:
    """The futures themselves: internal demand and the market price, median and P10 to P90, by month."""
    series = [("internal demand", uncertain.demand_bands), ("market price", uncertain.market_bands)]
    title = "The possible futures: demand and market price (median, P10 to P90)"
    return _bands_chart(result.scenario.months, series, title, "over the single future", 1.0)


def mix_chart(result: ScenarioResult, mix: Mix) -> str:
    """The best mix by month: the mean share of the site rented, kept for internal work, and offered as spot."""
    fig, ax = plt.subplots(figsize=(8, 3.0))
    x = range(len(result.scenario.months))
    spot = [k * r for k, r in zip(mix.kept, mix.resale, strict=True)]
    internal = [k - s for k, s in zip(mix.kept, spot, strict=True)]
    rented = [1 - k for k in mix.kept]
    ax.stackplot(x, rented, internal, spot, labels=["rented", "kept: internal work", "kept: idle hours sold as spot"],
                 colors=["#55a868", "#dd8452", "#8172b3"])  # fmt: skip
    _month_ticks(ax, result.scenario.months)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of the site (mean over paths)")
    ax.set_title("The best mix by month")
    ax.legend(fontsize=8, loc="lower right")
    return _svg(fig)
