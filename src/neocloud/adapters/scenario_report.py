"""A scenario's results as JSON and as one self-contained HTML page: charts are inline SVG drawn by
matplotlib, so the page works offline and needs nothing but itself."""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from neocloud.adapters.scenario_spec import LoadedScenario
from neocloud.core.money import to_money
from neocloud.core.scenario.strategies import MonthMoney
from neocloud.sim.scenario import Operations, ScenarioResult, StrategyResult, SweepPoint

MONEY_FIELDS = (
    "lease_revenue", "sla_credits", "spot_revenue", "revenue", "costs", "margin", "internal_value", "delay_cost",
    "value", "cash",
)  # fmt: skip
plt.rcParams.update({"svg.hashsalt": "neocloud", "font.size": 9, "figure.dpi": 100})


def _money(value: Decimal) -> str:
    return str(to_money(value))


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def operations_json(o: Operations) -> dict[str, Any]:
    return {
        "slice_gpus": o.slice_gpus,
        "kept_slice_gpus": o.kept_slice_gpus,
        "kept_gpus": round(float(o.kept_gpus), 1),
        "internal_gpu_hours_asked_per_hour": round(float(o.offered), 1),
        "internal_gpu_hours_served_per_hour": round(float(o.internal), 1),
        "spot_gpu_hours_per_hour": round(float(o.spot), 1),
        "utilization": round(o.utilization, 4),
        "internal_jobs": o.jobs,
        "internal_jobs_finished": o.finished,
        "avg_jct_hours": _hours(o.avg_jct_hours),
        "avg_queueing_hours": _hours(o.avg_queueing_hours),
        "p99_queueing_hours": _hours(o.p99_queueing_hours),
        "spot_preemptions": o.spot_preemptions,
    }


def _month_json(m: MonthMoney) -> dict[str, Any]:
    return {"month": m.month, **{f: _money(getattr(m, f)) for f in MONEY_FIELDS}}


def strategy_json(r: StrategyResult) -> dict[str, Any]:
    s = r.strategy
    return {
        "name": s.name,
        "rent_fraction": str(s.rent_fraction),
        "offer": s.offer,
        "resell_idle": s.resell_idle,
        "operations": operations_json(r.operations),
        "internal_gpu_hours": _money(r.internal_gpu_hours),
        "internal_queueing_job_hours": _money(r.queueing_job_hours),
        "totals": {f: _money(r.total(f)) for f in MONEY_FIELDS},
        "months": [_month_json(m) for m in r.months],
    }


def result_json(loaded: LoadedScenario, result: ScenarioResult, sweep: Sequence[SweepPoint] = ()) -> dict[str, Any]:
    s = result.scenario
    return {
        "scenario": s.name,
        "source": loaded.source,
        "horizon": {"start": s.start, "end": s.end, "months": len(s.months)},
        "site_gpus": s.site_gpus,
        "decision": {
            "best": result.best.strategy.name,
            "advantage_of_renting_all_usd": _money(result.advantage_of_renting),
            "breakeven_shadow_price_usd_per_gpu_hour": (
                None
                if result.breakeven_shadow_price is None
                else str(result.breakeven_shadow_price.quantize(Decimal("0.0001")))
            ),
            "shadow_price_usd_per_gpu_hour": str(s.prices.shadow_usd_per_gpu_hour.quantize(Decimal("0.0001"))),
        },
        "strategies": [strategy_json(r) for r in result.results],
        "tornado": [
            {
                "assumption": w.name,
                "low": w.low,
                "high": w.high,
                "at_low_usd": _money(w.at_low),
                "at_high_usd": _money(w.at_high),
            }
            for w in result.tornado
        ],
        "sweep": sweep_json(sweep),
        "assumptions": [{"key": a.key, "value": a.value, "source": a.source} for a in loaded.assumptions],
    }


def sweep_json(points: Sequence[SweepPoint]) -> list[dict[str, Any]]:
    return [
        {
            "lease_price_factor": str(p.lease_price_factor),
            "rent_fraction": str(p.rent_fraction),
            "demand_factor": p.demand_factor,
            "value_usd": _money(p.value),
            "keep_all_value_usd": _money(p.keep_value),
            "advantage_usd": _money(p.advantage),
            "utilization_kept": round(p.utilization, 4),
        }
        for p in points
    ]


# --- charts ---------------------------------------------------------------------------------------------


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
    months = result.scenario.months
    ticks = list(range(0, len(months), max(1, len(months) // 8)))
    ax.set_xticks(ticks, [months[i] for i in ticks])
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


# --- page -----------------------------------------------------------------------------------------------

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}.decision{font-size:1.1em;
background:#f6f8fa;padding:.8em 1em;border-left:4px solid #4c72b0}figure{margin:1.5em 0}svg{max-width:100%;height:auto}
"""


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"n" if isinstance(v, (int, float, Decimal)) else ""}">{html.escape(cell(v))}</td>'
            for v in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def cell(value: Any, places: int = 1) -> str:
    """A table cell: money in millions, ratios and hours to three places."""
    if isinstance(value, Decimal):
        return f"{value / Decimal(1_000_000):,.{places}f}"
    if isinstance(value, float):
        return f"{value:,.3f}"
    return "-" if value is None else str(value)


def summary_rows(result: ScenarioResult) -> list[list[Any]]:
    rows = []
    for r in result.results:
        o = r.operations
        rows.append(
            [
                r.strategy.name,
                r.total("revenue"),
                r.total("sla_credits"),
                r.total("costs"),
                r.total("margin"),
                r.total("internal_value"),
                r.total("value"),
                r.total("cash"),
                o.utilization,
                float(o.internal / o.offered) if o.offered else 0.0,
                o.avg_jct_hours,
                o.avg_queueing_hours,
            ]
        )
    return rows


SUMMARY_COLUMNS = (
    "strategy", "revenue $M", "SLA credits $M", "costs $M", "margin $M", "internal value $M", "value $M", "cash $M",
    "utilization", "internal served", "avg JCT h", "avg queueing h",
)  # fmt: skip


def decision_text(result: ScenarioResult) -> str:
    s = result.scenario
    best = result.best.strategy.name
    verb = "renting all beats keeping all" if result.advantage_of_renting > 0 else "keeping all beats renting all"
    by = abs(result.advantage_of_renting) / Decimal(10**9)
    text = f"Best: {best}. Over {len(s.months)} months {verb} by ${by:,.2f}B"
    shadow = s.prices.shadow_usd_per_gpu_hour
    if result.breakeven_shadow_price is not None and result.breakeven_shadow_price < 0:
        text += "; keeping pays at any shadow price: the delays renting causes cost more than renting earns"
    elif result.breakeven_shadow_price is not None:
        text += (
            f"; keeping pays only if internal compute is worth more than ${result.breakeven_shadow_price:,.2f} per "
            f"GPU-hour (assumed ${shadow:,.2f})"
        )
    return text + "."


def render_html(loaded: LoadedScenario, result: ScenarioResult, sweep: Sequence[SweepPoint] = ()) -> str:
    s = result.scenario
    sections = [
        f"<h1>Rent it out or keep it: {html.escape(s.name)}</h1>",
        f"<p>{s.site_gpus:,} GPUs, {s.start} to {s.end} (end excluded). Scenario: {html.escape(loaded.source)}. "
        f"Internal demand simulated on a slice of {result.results[0].operations.slice_gpus} GPUs, scaled to the site "
        f"(engine: {s.ordering} + {s.placement}, seed {s.seed}).</p>",
        f'<p class="decision">{html.escape(decision_text(result))}</p>',
        "<h2>Strategies over the horizon</h2>",
        _table(SUMMARY_COLUMNS, summary_rows(result)),
        f"<figure>{value_chart(result)}</figure>",
        f"<figure>{use_chart(result)}</figure>",
        f"<figure>{monthly_chart(result, 'margin', 'Gross margin by month')}</figure>",
        f"<figure>{monthly_chart(result, 'cash', 'Cumulative cash (capex in month one)', cumulative=True)}</figure>",
        "<h2>Sensitivity</h2>",
        f"<figure>{tornado_chart(result)}</figure>",
    ]
    if sweep:
        sections += [
            "<h2>Sweep: lease price x share rented x demand</h2>",
            f"<figure>{heatmaps(sweep)}</figure>",
            f"<details><summary>All {len(sweep)} points</summary>",
            _table(
                ("lease price x", "share rented", "demand x", "value $M", "keep all $M", "advantage $M", "utilization"),
                [
                    [
                        str(p.lease_price_factor),
                        str(p.rent_fraction),
                        p.demand_factor,
                        p.value,
                        p.keep_value,
                        p.advantage,
                        p.utilization,
                    ]
                    for p in sweep
                ],
            ),
            "</details>",
        ]
    sections += [
        "<h2>Assumptions</h2>",
        _table(("assumption", "value", "source"), [[a.key, a.value, a.source] for a in loaded.assumptions]),
        "<p>Money in millions of USD. Value = margin + internal work at the shadow price - the cost of its delays. "
        "Owning costs are the same under every strategy (the GPUs are owned either way), so they move margins, "
        "not the decision.</p>",
    ]
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>neocloud scenario {html.escape(s.name)}'
        f"</title><style>{STYLE}</style></head><body>{''.join(sections)}</body></html>\n"
    )
