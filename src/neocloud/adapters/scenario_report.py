"""A scenario's results as JSON and as one self-contained HTML page (its charts: scenario_charts.py)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from neocloud.adapters.extras import require_extra
from neocloud.adapters.scenario_spec import LoadedScenario
from neocloud.core.money import to_money
from neocloud.core.scenario.strategies import MonthMoney
from neocloud.sim.buyer import BuyerView
from neocloud.sim.mix import Mix
from neocloud.sim.portfolio import PortfolioResult
from neocloud.sim.scenario import Operations, Priced, ScenarioResult, StrategyResult, SweepPoint
from neocloud.sim.uncertainty import Odds, UncertainResult

MONEY_FIELDS = (
    "lease_revenue", "sla_credits", "spot_revenue", "revenue", "costs", "sale_proceeds", "sale_gain", "margin",
    "internal_value", "delay_cost", "value", "cash",
)  # fmt: skip


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


def strategy_json(r: StrategyResult, discount_rate: Decimal) -> dict[str, Any]:
    s = r.strategy
    return {
        "name": s.name,
        "rent_fraction": str(s.rent_fraction),
        "offer": s.offer,
        "resell_idle": s.resell_idle,
        "operations": operations_json(r.operations),
        "internal_gpu_hours": _money(r.internal_gpu_hours),
        "internal_queueing_job_hours": _money(r.queueing_job_hours),
        **priced_json(r, discount_rate),
    }


def priced_json(r: Priced, discount_rate: Decimal) -> dict[str, Any]:
    """A strategy's (or a choice of sites') money: totals, present value, and month by month."""
    return {
        "totals": {f: _money(r.total(f)) for f in MONEY_FIELDS},
        "present_value_usd": _money(r.present_value("value", discount_rate)),
        "months": [_month_json(m) for m in r.months],
    }


def result_json(
    loaded: LoadedScenario,
    result: ScenarioResult,
    sweep: Sequence[SweepPoint] = (),
    uncertain: UncertainResult | None = None,
) -> dict[str, Any]:
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
        "discount_rate": str(s.discount_rate),
        "strategies": [strategy_json(r, s.discount_rate) for r in result.results],
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
        "portfolio": None if result.portfolio is None else portfolio_json(result.portfolio, s.discount_rate),
        "uncertainty": None if uncertain is None else uncertainty_json(loaded, uncertain),
        "assumptions": [{"key": a.key, "value": a.value, "source": a.source} for a in loaded.assumptions],
    }


def portfolio_json(p: PortfolioResult, discount_rate: Decimal) -> dict[str, Any]:
    def rate(x: Decimal | None) -> str | None:
        return None if x is None else str(x.quantize(Decimal("0.0001")))

    sites = p.portfolio.sites
    return {
        "sites": [
            {
                "name": s.name,
                "gpus": s.gpus,
                "load": s.load,
                "online": s.online,
                "cost_usd_per_gpu_hour": rate(s.cost.total),
                "capex_usd": _money(s.capex),
                "shadow_usd_per_gpu_hour": rate(s.shadow_usd_per_gpu_hour),
                "rent_usd_per_gpu_hour": rate(s.rent_usd_per_gpu_hour),  # None: under the scenario's lease
            }
            for s in sites
        ],
        "move": {"usd_per_gpu": str(p.portfolio.move.usd_per_gpu), "days": p.portfolio.move.days},
        "best": p.best.name,
        "choices": [
            {
                "name": c.name,
                "rented": [s.name for s, r in zip(sites, c.rented, strict=True) if r],
                "kept": [s.name for s, r in zip(sites, c.rented, strict=True) if not r],
                "moved_gpus_of_work": str(c.moved_gpus),
                "internal_gpu_hours": _money(c.internal_gpu_hours),
                "internal_queueing_job_hours": _money(c.queueing_job_hours),
                **priced_json(c, discount_rate),
            }
            for c in p.choices
        ],
    }


PORTFOLIO_COLUMNS = (
    "choice", "revenue $M", "costs $M", "internal value $M", "delay cost $M", "value $M", "value PV $M",
    "internal GPU-h served (M)", "GPUs of work moved",
)  # fmt: skip


def portfolio_rows(p: PortfolioResult, discount_rate: Decimal) -> list[list[Any]]:
    return [
        [
            c.name, c.total("revenue"), c.total("costs"), c.total("internal_value"), c.total("delay_cost"),
            c.total("value"), c.present_value("value", discount_rate), f"{c.internal_gpu_hours / 10**6:,.0f}",
            f"{c.moved_gpus:,.0f}",
        ]
        for c in p.choices
    ]  # fmt: skip


SITE_COLUMNS = ("site", "GPUs", "own load", "online", "cost $/GPU-h", "shadow $/GPU-h", "rented at $/GPU-h")


def site_rows(p: PortfolioResult) -> list[list[Any]]:
    return [
        [
            x.name, f"{x.gpus:,}", x.load, x.online, f"{x.cost.total:.2f}", f"{x.shadow_usd_per_gpu_hour:.2f}",
            "the lease" if x.rent_usd_per_gpu_hour is None else f"{x.rent_usd_per_gpu_hour:.2f}",
        ]
        for x in p.portfolio.sites
    ]  # fmt: skip


def portfolio_text(p: PortfolioResult) -> str:
    best, keep = p.best, p.choices[0]
    text = f"Of {len(p.portfolio.sites)} sites, best: {best.name} (${best.total('value') / Decimal(10**9):,.2f}B"
    if best is not keep:
        text += f", ${(best.total('value') - keep.total('value')) / Decimal(10**9):,.2f}B over keeping all"
    return text + ")."


def uncertainty_json(loaded: LoadedScenario, u: UncertainResult) -> dict[str, Any]:
    months = loaded.scenario.months
    return {
        "paths": u.paths,
        "seed": loaded.uncertainty.seed,
        "demand_grid": list(u.grid),
        "renting_all_beats_keeping_all": u.renting_beats_keeping,
        "strategies": [odds_json(months, o) for o in u.odds],
        "demand": _bands_json(months, u.demand_bands, 4),
        "market": _bands_json(months, u.market_bands, 4),
        "portfolio": None if u.portfolio is None else [odds_json(months, o) for o in u.portfolio],
        "mix": None if u.mix is None else mix_json(months, u.mix),
        "buyer": None if u.buyer is None else buyer_json(u.buyer),
    }


def _bands_json(months: Sequence[str], rows: Sequence[tuple[float, float, float]], places: int) -> list[Any]:
    return [
        {"month": m, "p10": round(b[0], places), "p50": round(b[1], places), "p90": round(b[2], places)}
        for m, b in zip(months, rows, strict=True)
    ]


def odds_json(months: Sequence[str], o: Odds) -> dict[str, Any]:
    """One strategy's (or one choice of sites') odds over the paths."""

    def maybe(x: Decimal | None) -> str | None:
        return None if x is None else _money(x)

    return {
        "name": o.name,
        "mean_value_usd": _money(o.mean()),
        "p10_value_usd": round(o.quantile(0.1), 2),
        "p50_value_usd": round(o.quantile(0.5), 2),
        "p90_value_usd": round(o.quantile(0.9), 2),
        "expected_shortfall_usd": _money(o.shortfall),
        "mean_present_value_usd": _money(o.mean("present_values")),
        "mean_revenue_usd": _money(o.mean("revenues")),
        "probability_best": o.best,
        "tenant_exits": o.tenant_exits,
        "owner_exits": o.owner_exits,
        "median_notice_month": o.median_notice,
        "mean_revenue_without_tenant_exit_usd": maybe(o.revenue_without_tenant_option),
        "tenant_exit_option_cost_usd": maybe(o.tenant_option),
        "owner_exit_option_value_usd": maybe(o.owner_option),
        "value_so_far": _bands_json(months, o.bands, 2),
    }


def buyer_json(b: BuyerView) -> dict[str, Any]:
    def band(x: tuple[float, float, float]) -> dict[str, float]:
        return {"p10": round(x[0], 4), "p50": round(x[1], 4), "p90": round(x[2], 4)}

    return {
        "lease_usd_per_gpu_hour": str(b.lease_usd_per_gpu_hour.quantize(Decimal("0.0001"))),
        "market_reserved_usd_per_gpu_hour_today": str(b.market_usd_per_gpu_hour.quantize(Decimal("0.0001"))),
        "lease_over_market_bound_to_term": band(b.premium_bound),
        "lease_over_market_with_exit": band(b.premium_with_exit),
        "exit_saves_lessee_usd": _money(b.exit_saves_usd),
        "paths_left_early": b.left,
        "benchmark": b.benchmark,
        "tokens_per_month": round(b.tokens_per_month),
        "tokens_per_usd_at_lease": None if b.tokens_per_usd_lease is None else round(b.tokens_per_usd_lease),
        "tokens_per_usd_at_market": None if b.tokens_per_usd_market is None else round(b.tokens_per_usd_market),
    }


def buyer_text(b: BuyerView) -> str:
    text = (
        f"The lessee pays ${b.lease_usd_per_gpu_hour:,.2f} per GPU-hour, {b.premium_bound[1]:.1f}x what the same "
        f"GPU-hours would cost at the market's reserved price on the median path (P10 {b.premium_bound[0]:.1f}x, "
        f"P90 {b.premium_bound[2]:.1f}x) if bound to the term; {b.premium_with_exit[1]:.1f}x leaving as the rules "
        f"say, which saves it ${b.exit_saves_usd / Decimal(10**9):,.2f}B in the mean. "
        f"The site serves {b.tokens_per_month / 1e12:,.0f} trillion tokens a month ({b.benchmark})"
    )
    if b.tokens_per_usd_lease is not None and b.tokens_per_usd_market is not None:
        text += (
            f": {b.tokens_per_usd_lease:,.0f} tokens per dollar at the lease, {b.tokens_per_usd_market:,.0f} at market"
        )
    return text + "."


def mix_json(months: Sequence[str], mix: Mix) -> dict[str, Any]:
    best_name, best_value = max(mix.fixed, key=lambda f: (f[1], f[0])) if mix.fixed else (None, None)
    return {
        "expected_value_usd": _money(mix.value),
        "best_fixed_strategy": best_name,
        "best_fixed_value_usd": None if best_value is None else _money(best_value),
        "over_best_fixed_usd": None if best_value is None else _money(mix.value - best_value),
        "lease_share": round(mix.lease_share, 4),
        "reserved_share": round(mix.reserved_share, 4),
        "blocks": [{"start": b.start, "months": b.months, "share": round(b.share, 4)} for b in mix.blocks],
        "months": [
            {"month": m, "kept_share": round(k, 4), "resale_share_of_kept": round(r, 4)}
            for m, k, r in zip(months, mix.kept, mix.resale, strict=True)
        ],
    }


def mix_text(mix: Mix) -> str:
    parts = []
    if mix.lease_share > 1e-6:
        parts.append(f"{mix.lease_share:.0%} under the lease")
    if mix.reserved_share > 1e-6:
        parts.append(f"{mix.reserved_share:.0%} as reserved blocks under its terms")
    sold = sorted({(b.months, b.start) for b in mix.blocks})
    if sold:
        terms = ", ".join(sorted({f"{m}-month" for m, _ in sold}))
        parts.append(f"{len(sold)} {terms} blocks sold at market ({sold[0][1]} to {sold[-1][1]}, up to "
                     f"{max(b.share for b in mix.blocks):.0%} each)")  # fmt: skip
    rented = "; ".join(parts) if parts else "nothing rented"
    text = f"Best mix: {rented}; {sum(mix.kept) / len(mix.kept):.0%} of the site kept on average"
    if mix.fixed:
        name, value = max(mix.fixed, key=lambda f: (f[1], f[0]))
        text += f". Expected value ${mix.value / Decimal(10**9):,.2f}B against {name}'s ${value / Decimal(10**9):,.2f}B"
    return text + "."


ODDS_COLUMNS = (
    "strategy", "mean value $M", "P10 $M", "P50 $M", "P90 $M", "expected shortfall $M", "mean PV $M", "P(best)",
    "tenant left", "owner took back", "tenant's option costs $M", "owner's option worth $M",
)  # fmt: skip


def odds_rows(u: UncertainResult, of: Sequence[Odds] | None = None) -> list[list[Any]]:
    """A row per strategy (or per choice of sites, `of`)."""
    return [
        [
            o.name, o.mean(), Decimal(str(o.quantile(0.1))), Decimal(str(o.quantile(0.5))),
            Decimal(str(o.quantile(0.9))), o.shortfall, o.mean("present_values"), f"{o.best:.1%}",
            f"{o.tenant_exits / u.paths:.1%}", f"{o.owner_exits / u.paths:.1%}", o.tenant_option, o.owner_option,
        ]
        for o in (u.odds if of is None else of)
    ]  # fmt: skip


def odds_text(u: UncertainResult) -> str:
    best = max(u.odds, key=lambda o: (o.best, o.name))
    text = f"Over {u.paths:,} possible futures, {best.name} is best on {best.best:.1%} of them"
    if u.renting_beats_keeping is not None:
        text += f"; renting all beats keeping all on {u.renting_beats_keeping:.1%}"
    return text + "."


def sites_odds_text(choices: Sequence[Odds]) -> str:
    best = max(choices, key=lambda o: (o.best, o.name))
    by_mean = max(choices, key=lambda o: (o.mean(), o.name))
    return (
        f"Of the sites, {best.name} is best on {best.best:.1%} of the futures; "
        f"{by_mean.name} has the highest mean value (${by_mean.mean() / Decimal(10**9):,.2f}B)."
    )


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
                r.present_value("value", result.scenario.discount_rate),
                r.total("cash"),
                o.utilization,
                float(o.internal / o.offered) if o.offered else 0.0,
                o.avg_jct_hours,
                o.avg_queueing_hours,
            ]
        )
    return rows


SUMMARY_COLUMNS = (
    "strategy", "revenue $M", "SLA credits $M", "costs $M", "margin $M", "internal value $M", "value $M",
    "value PV $M", "cash $M",
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


def render_html(
    loaded: LoadedScenario,
    result: ScenarioResult,
    sweep: Sequence[SweepPoint] = (),
    uncertain: UncertainResult | None = None,
) -> str:
    require_extra("scenario", "the scenario report's charts", "matplotlib")
    from neocloud.adapters.scenario_charts import (
        fan_chart,
        heatmaps,
        mix_chart,
        monthly_chart,
        paths_chart,
        tornado_chart,
        use_chart,
        value_chart,
    )

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
    if result.portfolio is not None:
        p = result.portfolio
        sections += [
            "<h2>Several sites: which to rent, which to keep</h2>",
            f'<p class="decision">{html.escape(portfolio_text(p))}</p>',
            _table(PORTFOLIO_COLUMNS, portfolio_rows(p, s.discount_rate)),
            _table(SITE_COLUMNS, site_rows(p)),
            f"<p>Internal work is one pool, shared by the kept sites in proportion to their GPUs; a rented site's "
            f"work moves to them at ${p.portfolio.move.usd_per_gpu:,} per GPU of work and waits "
            f"{p.portfolio.move.days} days. Sites are rented over the lease's months.</p>",
        ]
    if uncertain is not None:
        sections += [
            "<h2>Possible futures</h2>",
            f'<p class="decision">{html.escape(odds_text(uncertain))}</p>',
            _table(ODDS_COLUMNS, odds_rows(uncertain)),
            *(
                [
                    f'<p class="decision">{html.escape(sites_odds_text(uncertain.portfolio))}</p>',
                    _table(("choice of sites", *ODDS_COLUMNS[1:]), odds_rows(uncertain, uncertain.portfolio)),
                ]
                if uncertain.portfolio
                else []
            ),
            f"<figure>{fan_chart(result, uncertain)}</figure>",
            f"<figure>{paths_chart(result, uncertain)}</figure>",
            *(
                [
                    f'<p class="decision">{html.escape(mix_text(uncertain.mix))}</p>',
                    f"<figure>{mix_chart(result, uncertain.mix)}</figure>",
                ]
                if uncertain.mix
                else []
            ),
            f"<p>Demand simulated at {', '.join(f'{d:g}' for d in uncertain.grid)} times the steady demand and "
            "interpolated between. PV: present value at the scenario's discount rate "
            f"({result.scenario.discount_rate:.1%} a year). A side's option is what the mean value moves by when "
            "that side may not end the lease early.</p>",
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
