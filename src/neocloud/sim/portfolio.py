"""Which of several sites to rent and which to keep (core/scenario/portfolio.py): every choice priced month by
month over the scenario's horizon, for the single future and on possible futures.

What the kept sites do with the internal work comes from the scenario's own simulations: kept GPUs C running
work that asks for T GPUs are the scenario's slice at the demand factor (T / C) / its load (the load of the
portfolio's first site, the scenario's own), to 3 places, kept whole, with its rates scaled from the
scenario's site to C GPUs. Below the factor 0.25 the simulation at 0.25 stands in, internal work and waiting
shrunk in proportion (sim/uncertainty.rates_at). Internal work is worth, per GPU-hour, the kept sites' shadow
prices weighted by their GPUs.

On a path, every site's work moves with the month's demand factor, and the shadow prices with the market
(as the strategies' do); the rates at a factor come from simulations at the factors of the single future
times each demand of the futures' grid, interpolated between them (sim/uncertainty.rates_at). The scenario's
own site, rented under its lease, is handed back when the tenant's exit rule says so; the other sites are
rented as reserved blocks, with no exit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from decimal import Decimal

from neocloud.core.billing.periods import month
from neocloud.core.scenario.exits import tenant_notice
from neocloud.core.scenario.paths import Path
from neocloud.core.scenario.portfolio import Portfolio, Regime, moved_gpus, regimes
from neocloud.core.scenario.strategies import (
    Lease,
    MonthMoney,
    MonthUse,
    Prices,
    Strategy,
    month_money,
    present_value,
)
from neocloud.sim.scenario import Ask, Operate, Operations, Priced, Rates, Scenario
from neocloud.sim.uncertainty import CEILING, FLOOR, Odds, Outcome, Uncertainty, odds, rates_at, to_decimal

NOBODY = (Decimal(1), False, 1.0)  # the scenario's site rented whole: its work waits, none is served
Choice = tuple[bool, ...]  # rented, per site


def base_factor(scenario: Scenario, portfolio: Portfolio, r: Regime) -> float | None:
    """The demand factor of the scenario's slice that stands for `r`'s kept sites and work (None: there is no
    work; 0: nothing is kept to run it)."""
    work, capacity = r.work(portfolio.sites), r.capacity(portfolio.sites)
    if work <= 0:
        return None
    return work / capacity / portfolio.sites[0].load if capacity else 0.0


def regime_use(
    scenario: Scenario,
    portfolio: Portfolio,
    r: Regime,
    hours: Decimal,
    rates: Callable[[float], Rates],
    nobody: Operations,
    demand: float = 1.0,
) -> MonthUse:
    """What the kept sites of `r` do with its work (times `demand`) over `hours`; `rates(f)`: the scenario's
    slice kept whole at the demand factor f, `nobody`: nothing kept."""
    f = base_factor(scenario, portfolio, r)
    if f is None:
        return MonthUse(Decimal(0))
    if f == 0:
        scale = to_decimal(r.work(portfolio.sites) * demand / (portfolio.sites[0].load * scenario.site_gpus))
        use = nobody.use(hours)
    else:
        scale = Decimal(r.capacity(portfolio.sites)) / scenario.site_gpus
        use = rates(f * demand).use(hours)
    return MonthUse(use.gpu_hours_served * scale, Decimal(0), use.queueing_job_hours * scale)


def _simulated(factor: float) -> float:
    return max(FLOOR, round(factor, 3))


def _rates(table: dict[float, Operations]) -> Callable[[float], Rates]:
    """Rates at a factor (to 3 places) from simulations at `table`'s: between them interpolated, below the
    lowest in proportion, above the highest with waiting growing (sim/uncertainty.rates_at)."""
    grid = tuple(sorted(table))

    def at(f: float) -> Rates:
        simulated = round(f, 3)
        return rates_at(table, grid, simulated if simulated >= grid[0] else f)  # below: exactly in proportion

    return at


def portfolio_asks(scenario: Scenario, portfolio: Portfolio, grid: Sequence[float] = (1.0,)) -> list[Ask]:
    """Every simulation pricing the portfolio asks for: each of its factors times each demand of `grid`."""
    found: dict[Ask, None] = {NOBODY: None}
    for f in factors(scenario, portfolio, grid):
        found.setdefault((Decimal(0), False, f))
    return list(found)


def factors(scenario: Scenario, portfolio: Portfolio, grid: Sequence[float] = (1.0,)) -> tuple[float, ...]:
    """The demand factors simulated for the portfolio: the single future's (grid (1,)), or each times every
    demand of the futures' grid (within [FLOOR, CEILING], the single future's own kept as they are)."""
    bases = set()
    leases = [scenario.lease] * len(portfolio.sites)
    for choice in portfolio.choices():
        for key in scenario.months:
            for r in regimes(portfolio, choice, leases, key):
                f = base_factor(scenario, portfolio, r)
                if f:
                    bases.add(f)
    if tuple(grid) == (1.0,):
        return tuple(sorted({_simulated(f) for f in bases}))
    # Beyond CEILING rates_at scales what it simulated there; the single future's own factors stay exact.
    return tuple(
        sorted({_simulated(f * d) if d == 1.0 else min(CEILING, _simulated(f * d)) for f in bases for d in grid})
    )


@dataclass(frozen=True, slots=True)
class ChoiceResult(Priced):
    name: str
    rented: Choice  # per site, as the portfolio lists them
    months: tuple[MonthMoney, ...]
    internal_gpu_hours: Decimal  # served over the horizon
    queueing_job_hours: Decimal
    moved_gpus: Decimal  # GPUs of internal work moved when the lease began


@dataclass(frozen=True, slots=True)
class PortfolioResult:
    portfolio: Portfolio
    choices: tuple[ChoiceResult, ...]  # every choice, keeping all first

    @property
    def best(self) -> ChoiceResult:
        return max(self.choices, key=lambda c: (c.total("value"), c.name))


def price_portfolio(scenario: Scenario, portfolio: Portfolio, operations: Operate) -> PortfolioResult:
    """Every choice in the single future."""
    leases = [scenario.lease] * len(portfolio.sites)
    nobody = operations(*NOBODY)
    rates = _rates({f: operations(Decimal(0), False, f) for f in factors(scenario, portfolio)})

    def use_of(r: Regime, t: int, hours: Decimal) -> MonthUse:
        return regime_use(scenario, portfolio, r, hours, rates, nobody)

    ones = [Decimal(1)] * len(scenario.months)
    return PortfolioResult(
        portfolio,
        tuple(price_choice(scenario, portfolio, c, leases, use_of, ones) for c in portfolio.choices()),
    )


UseOf = Callable[[Regime, int, Decimal], MonthUse]  # a regime's use in month t over some hours


def price_choice(
    scenario: Scenario,
    portfolio: Portfolio,
    choice: Choice,
    leases: Sequence[Lease],
    use_of: UseOf,
    shadow_factor: Sequence[Decimal],
) -> ChoiceResult:
    """`choice` month by month: each rented site under `leases[i]`, what the kept sites do from `use_of`, and
    internal work worth the kept sites' shadow prices times `shadow_factor` (per month)."""
    sites, lease = portfolio.sites, scenario.lease
    moved = moved_gpus(portfolio, choice, lease.start) if lease.start in scenario.months else Decimal(0)
    months, served, waited = [], Decimal(0), Decimal(0)
    for t, key in enumerate(scenario.months):
        hours = scenario.up_hours(key)
        availability = scenario.reliability.availability(key, scenario.node_gpus)
        parts = []
        for i, (s, rented) in enumerate(zip(sites, choice, strict=True)):
            if not s.online_in(key):
                continue
            first = key == s.online or (t == 0 and month(s.online).start < month(key).start)
            offer = "lease" if s.rent_usd_per_gpu_hour is None else "reserved"
            strategy = Strategy(s.name, Decimal(rented), offer=offer)
            prices = Prices(Decimal(0), Decimal(0), s.rent_usd_per_gpu_hour or Decimal(0))
            capex = s.capex if first else Decimal(0)
            nothing = MonthUse(Decimal(0))
            sale = s.sale if t == len(scenario.months) - 1 else None
            parts.append(
                month_money(key, strategy, s.gpus, s.cost, leases[i], nothing, prices, capex, availability, sale)
            )
        internal = delay = Decimal(0)
        for r in regimes(portfolio, choice, leases, key):
            use = use_of(r, t, hours * r.share)
            served += use.gpu_hours_served
            waited += use.queueing_job_hours
            internal += use.gpu_hours_served * _shadow(portfolio, r) * shadow_factor[t]
            delay += use.queueing_job_hours * scenario.prices.delay_usd_per_job_hour
        moving = moved * portfolio.move.usd_per_gpu if key == lease.start else Decimal(0)
        parts.append(MonthMoney(key, *(Decimal(0),) * 3, internal, delay, moving, moving))
        months.append(_summed(key, parts))
    return ChoiceResult(portfolio.name(choice), choice, tuple(months), served, waited, moved)


def _shadow(portfolio: Portfolio, r: Regime) -> Decimal:
    """A GPU-hour of internal work in `r`: the kept sites' shadow prices weighted by their GPUs."""
    sites = [portfolio.sites[i] for i in r.kept]
    gpus = sum(s.gpus for s in sites)
    return sum((s.shadow_usd_per_gpu_hour * s.gpus for s in sites), Decimal(0)) / gpus if gpus else Decimal(0)


def _summed(key: str, parts: Sequence[MonthMoney]) -> MonthMoney:
    names = [f.name for f in fields(MonthMoney) if f.name != "month"]
    return MonthMoney(key, *(sum((getattr(p, n) for p in parts), Decimal(0)) for n in names))


# --- possible futures -------------------------------------------------------------------------------------


def price_choice_on_path(
    scenario: Scenario,
    u: Uncertainty,
    portfolio: Portfolio,
    table: dict[float, Operations],
    nobody: Operations,
    choice: Choice,
    path: Path,
) -> Outcome:
    """`choice` on `path`: demand and shadow prices move, and the scenario's own site, if rented, comes back
    when the tenant's rule says so."""
    rates = _rates(table)
    leases = [scenario.lease] * len(portfolio.sites)
    notice = None
    if choice[0] and u.tenant_exit_drop is not None:
        lease = scenario.lease
        in_force = [t for t, key in enumerate(scenario.months) if lease.share_of(key) > 0]
        if in_force:
            notice = tenant_notice(path.market, range(in_force[0], in_force[-1] + 1), u.tenant_exit_drop)
        if notice is not None:
            start = month(scenario.months[notice]).start
            leases[0] = replace(lease, notice_at=start if lease.notice_at is None else min(start, lease.notice_at))

    def use_of(r: Regime, t: int, hours: Decimal) -> MonthUse:
        return regime_use(scenario, portfolio, r, hours, rates, nobody, path.demand[t])

    moves = u.moves_shadow_price
    shadow = [to_decimal(m) if moves else Decimal(1) for m in path.market]
    result = price_choice(scenario, portfolio, choice, leases, use_of, shadow)
    values = [m.value for m in result.months]
    running, cumulative = Decimal(0), []
    for v in values:
        running += v
        cumulative.append(float(running))
    revenue = result.total("revenue")
    pv = present_value(values, scenario.discount_rate)
    return Outcome(running, pv, revenue, tuple(cumulative), notice, "tenant" if notice is not None else None)


def portfolio_odds(
    scenario: Scenario,
    u: Uncertainty,
    portfolio: Portfolio,
    operations: Operate,
    grid: Sequence[float],
    drawn: Sequence[Path],
) -> tuple[Odds, ...]:
    """Every choice's odds over the paths `drawn` (`grid`: the futures' demand grid)."""
    table = {f: operations(Decimal(0), False, f) for f in factors(scenario, portfolio, grid)}
    nobody = operations(*NOBODY)
    choices = portfolio.choices()
    outcomes = [
        {portfolio.name(c): price_choice_on_path(scenario, u, portfolio, table, nobody, c, p) for c in choices}
        for p in drawn
    ]
    return odds(scenario, u, [portfolio.name(c) for c in choices], outcomes)
