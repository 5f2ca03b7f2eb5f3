"""Rent it out or keep it over many possible futures: each strategy priced on every path of demand and
market prices (core/scenario/paths.py), with the lease ended early where a side's exit rule says so
(core/scenario/exits.py); the result is each strategy's spread of value, the odds that it is best, and what
each side's right to end the lease is worth.

What kept GPUs do at a month's demand comes from the same simulations as the single-future run, made at a
few demand factors (the grid: 1 and quantiles of the paths' months) and interpolated linearly between them.
Below the grid's floor (0.25) internal work and waiting shrink in proportion to demand; above its ceiling (4)
the GPUs serve what they served there and waiting grows in proportion. A path whose every month has demand
1 and market 1 is priced exactly as the single future is.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from neocloud.core.billing.periods import month
from neocloud.core.errors import InvalidInput
from neocloud.core.scenario.costs import HOURS_PER_MONTH
from neocloud.core.scenario.exits import owner_notice, tenant_notice
from neocloud.core.scenario.paths import DemandModel, MarketModel, Path, paths
from neocloud.core.scenario.strategies import MonthUse, Prices, Strategy, present_value
from neocloud.sim.demand import InternalDemand
from neocloud.sim.scenario import (
    KEEP_ALL,
    RENT_ALL,
    Ask,
    Operate,
    Operations,
    Rates,
    Scenario,
    operation_key,
    price_months,
)

if TYPE_CHECKING:
    from neocloud.sim.buyer import BuyerView
    from neocloud.sim.mix import Mix

FLOOR, CEILING = 0.25, 4.0  # the demand factors simulated at most: beyond them, the nearest one scaled
CHUNK = 50  # paths priced per task


Knot = tuple[Decimal, bool]  # (share of the site kept, resale of idle hours)


@dataclass(frozen=True, slots=True)
class MixOptions:
    """The best mix's choices (sim/mix.py): which kept shares to simulate, the terms of blocks sold, and the
    internal service level every path-month must keep (mean hours an internal job waits to start)."""

    extra_kept: tuple[Decimal, ...] = (Decimal("0.25"), Decimal("0.75"))  # besides the strategies' own
    block_terms: tuple[int, ...] = (12,)  # months of the reserved blocks sold at market
    max_queueing_hours: float | None = None  # None: waiting is only priced (the cost of delay)

    def __post_init__(self) -> None:
        if any(not 0 <= k <= 1 for k in self.extra_kept):
            raise InvalidInput("kept shares must be in [0, 1]")
        if any(t < 1 for t in self.block_terms):
            raise InvalidInput("a block's term is at least one month")
        if self.max_queueing_hours is not None and not 0 <= self.max_queueing_hours < float("inf"):
            raise InvalidInput(f"a service level's hours must be finite and >= 0, got {self.max_queueing_hours}")


def knots(scenario: Scenario, options: MixOptions) -> list[Knot]:
    found = {(Decimal(0), False)} | {(k, False) for k in options.extra_kept}
    for s in scenario.strategies:
        found |= {(1 - s.rent_fraction, s.resell_idle), (Decimal(1), s.resell_idle)}
    return sorted(found)


@dataclass(frozen=True, slots=True)
class Serving:
    """Tokens a GPU of the fleet serves per hour (its models' throughputs weighted by their GPUs), on one
    named benchmark: for the buyer's side (sim/buyer.py)."""

    tokens_per_gpu_hour: float
    benchmark: str


@dataclass(frozen=True, slots=True)
class Uncertainty:
    paths: int
    demand: DemandModel
    market: MarketModel
    seed: int = 0
    tenant_exit_drop: float | None = None  # None: the tenant cannot end the lease early
    owner_exit_surge: float | None = None  # None: neither can the owner
    moves_shadow_price: bool = True  # internal work is worth what the market charges for it that month
    demand_points: int = 5  # quantiles of the paths' demand simulated (1 always is)
    shortfall_share: float = 0.1  # expected shortfall: the mean of this share of worst paths
    mix: MixOptions | None = None  # None: no best mix, only the strategies
    serving: Serving | None = None  # None: no buyer's side


@dataclass(frozen=True, slots=True)
class Plan:
    """The paths, the demand factors simulated for them, and the simulations that needs."""

    paths: tuple[Path, ...]
    grid: tuple[float, ...]
    asks: tuple[Ask, ...]


def plan(scenario: Scenario, u: Uncertainty) -> Plan:
    drawn = paths(u.paths, len(scenario.months), u.demand, u.market, u.seed)
    grid = demand_grid(drawn, u.demand_points)
    wanted: dict[tuple[int, bool, float], Ask] = {}
    for d in grid:
        for rented, resale in sorted(simulated_shares(scenario, u)):
            wanted.setdefault(operation_key(scenario, (rented, resale, d)), (rented, resale, d))
    return Plan(tuple(drawn), grid, tuple(wanted.values()))


def simulated_shares(scenario: Scenario, u: Uncertainty) -> set[tuple[Decimal, bool]]:
    """(share rented, resale) of every simulation the futures need at each demand of the grid: each
    strategy's and the site returned to it, and the best mix's knots."""
    shares = {(f, s.resell_idle) for s in scenario.strategies for f in (s.rent_fraction, Decimal(0))}
    return shares | {(1 - kept, resale) for kept, resale in (knots(scenario, u.mix) if u.mix else [])}


def demand_grid(drawn: Sequence[Path], points: int) -> tuple[float, ...]:
    """1, and `points` quantiles (lowest and highest included) of every month's demand on every path, within
    [FLOOR, CEILING], to 3 places (the lowest rounded down and the highest up, so the grid covers them)."""
    values = sorted(d for p in drawn for d in p.demand)
    grid = {1.0}
    if points >= 2 and values[0] != values[-1]:
        grid.add(max(FLOOR, math.floor(values[0] * 1000) / 1000))
        grid.add(min(CEILING, math.ceil(values[-1] * 1000) / 1000))
        for i in range(1, points - 1):
            grid.add(min(CEILING, max(FLOOR, round(quantile(values, i / (points - 1)), 3))))
    return tuple(sorted(grid))


def quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, linear between order statistics."""
    at = q * (len(ordered) - 1)
    low = math.floor(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


@dataclass(frozen=True, slots=True)
class Blend:
    """Rates per hour between (or scaled from) simulated ones."""

    internal: Decimal
    spot: Decimal
    queueing: Decimal

    def use(self, hours: Decimal) -> MonthUse:
        return MonthUse(self.internal * hours, self.spot * hours, self.queueing * hours)


def to_decimal(x: float) -> Decimal:
    """A float as a decimal of nine significant digits (money math stays short)."""
    return Decimal(f"{x:.9g}")


def rates_at(table: Mapping[float, Operations], grid: Sequence[float], d: float) -> Rates:
    """What the kept GPUs do per hour at demand `d`, from their simulations at the grid's demands."""
    if d in table:
        return table[d]
    low, high = grid[0], grid[-1]
    if d < low:
        o, f = table[low], to_decimal(d / low)
        return Blend(o.internal * f, o.spot, o.queueing * f)
    if d > high:
        o = table[high]
        return Blend(o.internal, o.spot, o.queueing * to_decimal(d / high))
    i = bisect_left(grid, d)
    a, b = table[grid[i - 1]], table[grid[i]]
    w = to_decimal((d - grid[i - 1]) / (grid[i] - grid[i - 1]))
    return Blend(
        a.internal + (b.internal - a.internal) * w,
        a.spot + (b.spot - a.spot) * w,
        a.queueing + (b.queueing - a.queueing) * w,
    )


Tables = Mapping[tuple[Decimal, bool], Mapping[float, Operations]]  # (rent fraction, resale) -> demand -> ops


@dataclass(frozen=True, slots=True)
class Outcome:
    """One strategy on one path."""

    value: Decimal
    present_value: Decimal  # of value, at the scenario's discount rate
    revenue: Decimal
    cumulative: tuple[float, ...]  # value to the end of each month, USD
    notice: int | None = None  # the month the lease was ended early on this path
    notice_by: str | None = None  # "tenant" or "owner"
    value_without_tenant_exit: Decimal | None = None
    revenue_without_tenant_exit: Decimal | None = None
    value_without_owner_exit: Decimal | None = None


def price_path(
    scenario: Scenario, u: Uncertainty, tables: Tables, grid: Sequence[float], strategy: Strategy, path: Path
) -> Outcome:
    """`strategy` on `path`, the lease ended by whichever side's rule says so first (and, for a strategy
    that rents, as it would be without each side's option)."""
    prices = month_prices(scenario, u, path)
    leased = tables[(strategy.rent_fraction, strategy.resell_idle)]
    returned = tables[(Decimal(0), strategy.resell_idle)]
    rates = [(rates_at(leased, grid, d), rates_at(returned, grid, d)) for d in path.demand]

    def priced(
        tenant: bool, owner: bool
    ) -> tuple[Decimal, Decimal, Decimal, tuple[float, ...], int | None, str | None]:
        at, by = notice(scenario, u, strategy, path, prices, tenant, owner)
        lease = scenario.lease
        if at is not None:
            start = month(scenario.months[at]).start
            lease = replace(lease, notice_at=start if lease.notice_at is None else min(start, lease.notice_at))
        money, _, _ = price_months(scenario, strategy, lease, rates, prices)
        values = [m.value for m in money]
        running, cumulative = Decimal(0), []
        for v in values:
            running += v
            cumulative.append(float(running))
        revenue = sum((m.revenue for m in money), Decimal(0))
        return running, present_value(values, scenario.discount_rate), revenue, tuple(cumulative), at, by

    value, pv, revenue, cumulative, at, by = priced(True, True)
    outcome = Outcome(value, pv, revenue, cumulative, at, by)
    if strategy.rent_fraction > 0 and u.tenant_exit_drop is not None:
        without = priced(False, True)
        outcome = replace(outcome, value_without_tenant_exit=without[0], revenue_without_tenant_exit=without[2])
    if strategy.rent_fraction > 0 and u.owner_exit_surge is not None:
        outcome = replace(outcome, value_without_owner_exit=priced(True, False)[0])
    return outcome


def month_prices(scenario: Scenario, u: Uncertainty, path: Path) -> list[Prices]:
    """Each month's prices on `path`: spot (and, if it moves, the shadow price) at the market's index; the
    reserved price and the cost of delay as agreed."""
    p = scenario.prices
    out = []
    for m in (to_decimal(x) for x in path.market):
        shadow = p.shadow_usd_per_gpu_hour * m if u.moves_shadow_price else p.shadow_usd_per_gpu_hour
        out.append(Prices(shadow, p.spot_usd_per_gpu_hour * m, p.reserved_usd_per_gpu_hour, p.delay_usd_per_job_hour))
    return out


def notice(
    scenario: Scenario,
    u: Uncertainty,
    strategy: Strategy,
    path: Path,
    prices: Sequence[Prices],
    tenant: bool,
    owner: bool,
) -> tuple[int | None, str | None]:
    if strategy.rent_fraction == 0:
        return None, None
    lease = scenario.lease
    months = [i for i, key in enumerate(scenario.months) if lease.share_of(key) > 0]
    in_force = range(months[0], months[-1] + 1) if months else range(0)
    notices: list[tuple[int, str]] = []
    if tenant and u.tenant_exit_drop is not None:
        t = tenant_notice(path.market, in_force, u.tenant_exit_drop)
        if t is not None:
            notices.append((t, "tenant"))
    if owner and u.owner_exit_surge is not None:
        if strategy.offer == "reserved":
            earned = prices[0].reserved_usd_per_gpu_hour  # fixed when the blocks were sold
        else:
            earned = lease.usd_per_month / (scenario.site_gpus * HOURS_PER_MONTH)
        shadow = [pr.shadow_usd_per_gpu_hour for pr in prices]
        t = owner_notice(path.demand, shadow, earned, in_force, u.owner_exit_surge)
        if t is not None:
            notices.append((t, "owner"))
    return min(notices) if notices else (None, None)


def price_paths(
    scenario: Scenario, u: Uncertainty, tables: Tables, grid: Sequence[float], chunk: Sequence[Path]
) -> list[dict[str, Outcome]]:
    """Every strategy on every path of `chunk` (one task's work)."""
    return [{s.name: price_path(scenario, u, tables, grid, s, p) for s in scenario.strategies} for p in chunk]


def pricing_only(scenario: Scenario) -> Scenario:
    """The scenario without its demand's jobs: what pricing needs, light to send to other processes."""
    d = scenario.demand
    return replace(scenario, demand=InternalDemand((), d.window, d.slice_gpus))


def tables(
    scenario: Scenario, grid: Sequence[float], operations: Operate
) -> dict[tuple[Decimal, bool], dict[float, Operations]]:
    out: dict[tuple[Decimal, bool], dict[float, Operations]] = {}
    for s in scenario.strategies:
        for f in (s.rent_fraction, Decimal(0)):
            out[(f, s.resell_idle)] = {d: operations(f, s.resell_idle, d) for d in grid}
    return out


Pricing = tuple[Scenario, Uncertainty, Tables, tuple[float, ...]]  # what price_paths needs besides the paths
Chunks = Callable[[Pricing, Sequence[Sequence[Path]]], Iterable[list[dict[str, Outcome]]]]


def run_paths(
    scenario: Scenario, u: Uncertainty, planned: Plan, operations: Operate, chunks: Chunks | None = None
) -> UncertainResult:
    """Price every path: `chunks` prices chunks of paths, in order, with `price_paths(*pricing, chunk)`
    (e.g. on Ray: adapters/scenario_paths.py); by default here, one after another."""
    pricing: Pricing = (pricing_only(scenario), u, tables(scenario, planned.grid, operations), planned.grid)
    parts = [planned.paths[i : i + CHUNK] for i in range(0, len(planned.paths), CHUNK)]
    results = (price_paths(*pricing, c) for c in parts) if chunks is None else chunks(pricing, parts)
    return summarize(scenario, u, planned, [o for part in results for o in part])


@dataclass(frozen=True, slots=True)
class Odds:
    """One strategy over every path."""

    name: str
    values: tuple[Decimal, ...]  # per path
    present_values: tuple[Decimal, ...]
    revenues: tuple[Decimal, ...]
    bands: tuple[tuple[float, float, float], ...]  # per month: P10, P50, P90 of the value so far
    best: float  # the share of paths on which it is best
    shortfall: Decimal  # the mean value of its worst `shortfall_share` of paths
    tenant_exits: int  # paths on which the tenant ended the lease
    owner_exits: int
    median_notice: str | None  # the median month notice was given, over paths where it was
    tenant_option: Decimal | None  # what the tenant's right to end costs the owner, in the mean
    revenue_without_tenant_option: Decimal | None  # mean revenue were the tenant bound to the whole term
    owner_option: Decimal | None  # what the owner's right to end is worth to it, in the mean

    def mean(self, field_name: str = "values") -> Decimal:
        values = getattr(self, field_name)
        return sum(values, Decimal(0)) / len(values)

    def quantile(self, q: float, field_name: str = "values") -> float:
        return quantile(sorted(float(v) for v in getattr(self, field_name)), q)


@dataclass(frozen=True, slots=True)
class UncertainResult:
    paths: int
    grid: tuple[float, ...]
    odds: tuple[Odds, ...]
    renting_beats_keeping: float | None  # the share of paths on which rent-all is worth more than keep-all
    demand_bands: tuple[tuple[float, float, float], ...]  # per month: P10, P50, P90 of the demand factor
    market_bands: tuple[tuple[float, float, float], ...]
    mix: Mix | None = None  # the best mix over the same paths (sim/mix.py), when asked for
    buyer: BuyerView | None = None  # the lessee's side (sim/buyer.py), when asked for
    portfolio: tuple[Odds, ...] | None = None  # which sites to rent, per choice (sim/portfolio.py), with several


def _bands(rows: Sequence[Sequence[float]]) -> tuple[tuple[float, float, float], ...]:
    columns = [sorted(col) for col in zip(*rows, strict=True)]
    return tuple((quantile(c, 0.1), quantile(c, 0.5), quantile(c, 0.9)) for c in columns)


def summarize(
    scenario: Scenario, u: Uncertainty, planned: Plan, outcomes: Sequence[dict[str, Outcome]]
) -> UncertainResult:
    names = [s.name for s in scenario.strategies]
    rents = RENT_ALL.name in names and KEEP_ALL.name in names
    return UncertainResult(
        paths=len(outcomes),
        grid=planned.grid,
        odds=odds(scenario, u, names, outcomes),
        renting_beats_keeping=(
            sum(o[RENT_ALL.name].value > o[KEEP_ALL.name].value for o in outcomes) / len(outcomes) if rents else None
        ),
        demand_bands=_bands([p.demand for p in planned.paths]),
        market_bands=_bands([p.market for p in planned.paths]),
    )


def odds(
    scenario: Scenario, u: Uncertainty, names: Sequence[str], outcomes: Sequence[Mapping[str, Outcome]]
) -> tuple[Odds, ...]:
    """Each named choice over every path: `outcomes[p][name]`."""
    best = [max(names, key=lambda n: (o[n].value, n)) for o in outcomes]
    worst = max(1, math.ceil(len(outcomes) * u.shortfall_share))
    found = []
    for name in names:
        mine = [o[name] for o in outcomes]
        values = tuple(m.value for m in mine)
        notices = sorted(m.notice for m in mine if m.notice is not None)
        without_tenant = [m.value_without_tenant_exit for m in mine if m.value_without_tenant_exit is not None]
        without_owner = [m.value_without_owner_exit for m in mine if m.value_without_owner_exit is not None]
        revenue_bound = [m.revenue_without_tenant_exit for m in mine if m.revenue_without_tenant_exit is not None]
        n = Decimal(len(mine))
        mean = sum(values, Decimal(0)) / n
        found.append(
            Odds(
                name=name,
                values=values,
                present_values=tuple(m.present_value for m in mine),
                revenues=tuple(m.revenue for m in mine),
                bands=_bands([m.cumulative for m in mine]),
                best=best.count(name) / len(outcomes),
                shortfall=sum(sorted(values)[:worst], Decimal(0)) / worst,
                tenant_exits=sum(m.notice_by == "tenant" for m in mine),
                owner_exits=sum(m.notice_by == "owner" for m in mine),
                median_notice=scenario.months[notices[(len(notices) - 1) // 2]] if notices else None,
                tenant_option=sum(without_tenant, Decimal(0)) / n - mean if without_tenant else None,
                revenue_without_tenant_option=sum(revenue_bound, Decimal(0)) / n if revenue_bound else None,
                owner_option=mean - sum(without_owner, Decimal(0)) / n if without_owner else None,
            )
        )
    return tuple(found)
