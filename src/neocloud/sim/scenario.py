"""Rent it out or keep it: each strategy's kept GPUs run the internal demand (and, with resale, spot buyers)
through the simulator; what they did, scaled from the simulated slice to the site, is priced month by month.

The slice runs one window of demand (a trace's span, or the generated days). Its rates per hour (internal
GPU-hours served, spot GPU-hours sold, job-hours waited) stand for every month of the horizon: the demand
is taken as steady, and a queue that grows without bound in an overloaded slice shows as demand not served,
not as delays longer than the window. While the lease is in force a strategy runs on what it keeps; in the
months after an early end, the leased GPUs return to internal work.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from neocloud.core.billing.periods import month
from neocloud.core.engine.cluster import Cluster
from neocloud.core.engine.config import EngineConfig
from neocloud.core.errors import InvalidInput
from neocloud.core.scenario.costs import HOURS_PER_YEAR, HourlyCost
from neocloud.core.scenario.strategies import (
    SECONDS_PER_HOUR,
    STRATEGIES,
    Lease,
    MonthMoney,
    MonthUse,
    Prices,
    Sale,
    Strategy,
    breakeven_shadow_price,
    month_money,
    present_value,
)
from neocloud.core.workload import Job
from neocloud.sim.demand import INTERNAL, SPOT, InternalDemand, spot_buyers
from neocloud.sim.simulator import simulate

if TYPE_CHECKING:
    from neocloud.sim.portfolio import PortfolioResult

KEEP_ALL, RENT_ALL = Strategy("keep-all"), Strategy("rent-all", Decimal(1))


@dataclass(frozen=True, slots=True)
class SpotOffer:
    """Spot buyers for the kept GPUs' idle hours: jobs of `job_gpus` GPUs for `job_hours` that offer `load`
    of the kept GPUs; taken back at once when internal work needs them, after `notice_s` of notice."""

    load: float = 0.5
    job_gpus: int = 8
    job_hours: float = 4.0
    notice_s: int = 30


@dataclass(frozen=True, slots=True)
class SiteOutage:
    """A share of the site out of service over [start, end) (UTC seconds): what an SLA credit is owed for."""

    start: int
    end: int
    share: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class Reliability:
    failures_per_gpu_year: Decimal = Decimal("0.11")  # a failure takes its whole node down
    repair_hours: Decimal = Decimal(24)
    outages: tuple[SiteOutage, ...] = ()
    curtailed_hours_per_year: Decimal = Decimal(0)  # the grid curtails the site this long a year...
    curtailment_depth: Decimal = Decimal("0.25")  # ...by this share of its power

    @property
    def curtailed(self) -> Decimal:
        """The share of the site's GPU-time the grid takes in expectation, spread evenly over the months."""
        return self.curtailment_depth * self.curtailed_hours_per_year / HOURS_PER_YEAR

    def availability(self, key: str, node_gpus: int) -> Decimal:
        """Share of GPU-time in service in month `key`: expected node repairs, the listed outages and the
        expected curtailment."""
        period = month(key)
        repairs = self.failures_per_gpu_year / HOURS_PER_YEAR * node_gpus * self.repair_hours
        down = sum((o.share * period.overlap(o.start, o.end) for o in self.outages), Decimal(0)) / period.seconds
        return max(Decimal(0), 1 - repairs - down - self.curtailed)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    site_gpus: int
    cost: HourlyCost  # per GPU-hour, averaged over the site's GPU models
    capex: Decimal  # the whole site's GPUs, servers and network: paid in the first month
    lease: Lease
    prices: Prices
    start: str  # horizon, months [start, end)
    end: str
    demand: InternalDemand
    spot: SpotOffer = SpotOffer()
    reliability: Reliability = Reliability()
    strategies: tuple[Strategy, ...] = STRATEGIES
    node_gpus: int = 8
    ordering: str = "fifo"
    placement: str = "bestfit"
    seed: int = 0
    discount_rate: Decimal = Decimal("0.10")  # per year, for present values
    sale: Sale | None = None  # the site's GPUs sold at the horizon's end; None: kept (their book value uncounted)

    def __post_init__(self) -> None:
        if month(self.end).start <= month(self.start).start:
            raise InvalidInput(f"the horizon ends ({self.end}) before it starts ({self.start})")
        if self.site_gpus <= 0:
            raise InvalidInput("the site has no GPUs")

    def up_hours(self, key: str) -> Decimal:
        """The hours of month `key` the kept GPUs run: the month less the grid's expected curtailment."""
        return Decimal(month(key).seconds) / SECONDS_PER_HOUR * (1 - self.reliability.curtailed)

    @property
    def months(self) -> list[str]:
        keys, period, end = [], month(self.start), month(self.end).start
        while period.start < end:
            keys.append(period.key)
            period = period.next()
        return keys


@dataclass(frozen=True, slots=True)
class Operations:
    """What a strategy's kept GPUs did per hour, site-wide, and how internal jobs fared (in the slice)."""

    slice_gpus: int
    kept_slice_gpus: int
    kept_gpus: Decimal  # at the site
    offered: Decimal  # internal GPU-hours asked for per hour
    internal: Decimal  # internal GPU-hours served per hour
    spot: Decimal  # spot GPU-hours sold per hour
    queueing: Decimal  # job-hours internal jobs waited per hour (never-started jobs wait the whole window)
    jobs: int
    finished: int
    avg_jct_hours: float | None
    avg_queueing_hours: float | None
    p99_queueing_hours: float | None
    spot_preemptions: int = 0

    @property
    def utilization(self) -> float:
        return float((self.internal + self.spot) / self.kept_gpus) if self.kept_gpus else 0.0

    def use(self, hours: Decimal) -> MonthUse:
        return MonthUse(self.internal * hours, self.spot * hours, self.queueing * hours)


def slice_nodes(scenario: Scenario, rent_fraction: Decimal, demand_factor: float) -> tuple[int, int]:
    """Nodes of the simulated slice of the whole site, and those a strategy renting `rent_fraction` keeps:
    the demand's slice shrunk by the demand factor (more demand on fewer GPUs), never smaller than the
    largest gang."""
    if demand_factor <= 0:
        raise InvalidInput(f"the demand factor must be positive, got {demand_factor}")
    least = math.ceil(scenario.demand.largest_gang / scenario.node_gpus)
    nodes = max(1, least, round(scenario.demand.slice_gpus / demand_factor / scenario.node_gpus))
    return nodes, round(nodes * (1 - rent_fraction))


def operate(scenario: Scenario, rent_fraction: Decimal, resell_idle: bool, demand_factor: float = 1.0) -> Operations:
    """Simulate the kept share of the slice running the internal demand (and spot buyers with resale)."""
    nodes, kept_nodes = slice_nodes(scenario, rent_fraction, demand_factor)
    slice_gpus, kept = nodes * scenario.node_gpus, kept_nodes * scenario.node_gpus
    scale = Decimal(scenario.site_gpus) / slice_gpus
    window = scenario.demand.window
    internal_jobs = scenario.demand.jobs
    offered = Decimal(sum(j.gpus * min(j.duration, window - j.submit) for j in internal_jobs))

    def rate(seconds: Decimal | int) -> Decimal:
        """(GPU- or job-) seconds in the slice over the window -> hours per hour at the site."""
        return Decimal(seconds) * scale / window

    if kept_nodes == 0:
        waited = sum(window - j.submit for j in internal_jobs)
        return Operations(
            slice_gpus, 0, Decimal(0), rate(offered), Decimal(0), Decimal(0), rate(waited),
            len(internal_jobs), 0, None, None, None,
        )  # fmt: skip
    o = scenario.spot
    spot_jobs = spot_buyers(kept, window, o.load, o.job_gpus, o.job_hours, scenario.seed) if resell_idle else []
    served = {INTERNAL: 0, SPOT: 0}
    first_start: dict[str, int] = {}
    preemptions = 0

    def on_run(job: Job, start: int, end: int, preempted: bool) -> None:
        nonlocal preemptions
        served[job.tenant] += job.gpus * max(0, min(end, window) - min(start, window))
        if job.tenant == INTERNAL:
            first_start[job.id] = min(start, first_start.get(job.id, start))
        elif preempted and end < window:
            preemptions += 1
            served[SPOT] += job.gpus * o.notice_s  # runs through its notice (billed), which delays the reclaimer

    config = EngineConfig(scenario.ordering, scenario.placement, scenario.seed)
    result = simulate(
        [*internal_jobs, *spot_jobs], Cluster.uniform(kept_nodes, scenario.node_gpus), config, None, on_run
    )
    waited = sum(min(first_start.get(j.id, window), window) - j.submit for j in internal_jobs)
    waited += preemptions * o.notice_s
    stats = result.per_tenant.get(INTERNAL)
    finished = stats.jobs if stats else 0
    return Operations(
        slice_gpus=slice_gpus,
        kept_slice_gpus=kept,
        kept_gpus=Decimal(kept) * scale,
        offered=rate(offered),
        internal=rate(served[INTERNAL]),
        spot=rate(served[SPOT]),
        queueing=rate(waited),
        jobs=len(internal_jobs),
        finished=finished,
        avg_jct_hours=stats.avg_jct / 3600 if stats else None,
        avg_queueing_hours=stats.avg_queueing / 3600 if stats else None,
        p99_queueing_hours=stats.p99_queueing / 3600 if stats else None,
        spot_preemptions=preemptions,
    )


Operate = Callable[[Decimal, bool, float], Operations]


Ask = tuple[Decimal, bool, float]  # what `operate` is asked: (rent fraction, resale, demand factor)


def operation_key(scenario: Scenario, ask: Ask) -> tuple[int, bool, float]:
    """What makes two asks the same simulation: the nodes kept, resale and the demand."""
    rent_fraction, resell_idle, demand_factor = ask
    return slice_nodes(scenario, rent_fraction, demand_factor)[1], resell_idle, demand_factor


def cached_operations(scenario: Scenario, known: dict[tuple[int, bool, float], Operations] | None = None) -> Operate:
    """`operate` for this scenario, each (kept nodes, resale, demand) simulated once; `known`: simulations
    already run (elsewhere, in parallel: adapters/scenario_parallel.py), by operation_key."""
    seen = dict(known or {})

    def run(rent_fraction: Decimal, resell_idle: bool, demand_factor: float) -> Operations:
        key = operation_key(scenario, (rent_fraction, resell_idle, demand_factor))
        if key not in seen:
            seen[key] = operate(scenario, rent_fraction, resell_idle, demand_factor)
        return seen[key]

    return run


def asks(scenario: Scenario, swing: float) -> list[Ask]:
    """Every simulation `run` asks for, one per operation_key, the longest first (more kept nodes, resale):
    the strategies' own and the site returned to its owner, at the demand as given and moved by the swing."""
    wanted: dict[tuple[int, bool, float], Ask] = {}
    moved = [float(Decimal(1) + sign * Decimal(str(swing))) for sign in (-1, 1)]  # as _tornado moves demand
    for demand in (1.0, *moved):
        strategies = scenario.strategies if demand == 1.0 else (KEEP_ALL, RENT_ALL)
        for s in strategies:
            for ask in ((s.rent_fraction, s.resell_idle, demand), (Decimal(0), s.resell_idle, demand)):
                wanted.setdefault(operation_key(scenario, ask), ask)
    return [wanted[k] for k in sorted(wanted, key=lambda k: (-k[0], not k[1], k[2]))]


class Priced:
    """A result priced month by month: its totals and present values."""

    __slots__ = ()
    months: tuple[MonthMoney, ...]

    def total(self, field_name: str) -> Decimal:
        return sum((getattr(m, field_name) for m in self.months), Decimal(0))

    def present_value(self, field_name: str, rate_per_year: Decimal) -> Decimal:
        return present_value([getattr(m, field_name) for m in self.months], rate_per_year)


@dataclass(frozen=True, slots=True)
class StrategyResult(Priced):
    strategy: Strategy
    operations: Operations  # while the lease is in force
    months: tuple[MonthMoney, ...]
    internal_gpu_hours: Decimal  # served over the horizon
    queueing_job_hours: Decimal


class Rates(Protocol):
    """What kept GPUs do per hour (Operations, or rates between two of them): `use` scales it to a month."""

    def use(self, hours: Decimal) -> MonthUse: ...


def price(
    scenario: Scenario,
    strategy: Strategy,
    leased: Operations,
    returned: Operations,
    lease_price_factor: Decimal = Decimal(1),
    prices: Prices | None = None,
) -> StrategyResult:
    """Price a strategy month by month: `leased` is what its kept GPUs do while the lease is in force,
    `returned` what the whole site does once it has ended. `lease_price_factor` scales what renting earns
    (the lease fee and the reserved price)."""
    lease = replace(scenario.lease, usd_per_month=scenario.lease.usd_per_month * lease_price_factor)
    prices = prices or scenario.prices
    prices = replace(prices, reserved_usd_per_gpu_hour=prices.reserved_usd_per_gpu_hour * lease_price_factor)
    months = len(scenario.months)
    money, served, waited = price_months(scenario, strategy, lease, [(leased, returned)] * months, [prices] * months)
    return StrategyResult(strategy, leased, money, served, waited)


def price_months(
    scenario: Scenario,
    strategy: Strategy,
    lease: Lease,
    rates: Sequence[tuple[Rates, Rates]],
    prices: Sequence[Prices],
) -> tuple[tuple[MonthMoney, ...], Decimal, Decimal]:
    """The money of each month of the horizon, the internal GPU-hours served and the job-hours waited, given
    each month's rates (while the lease is in force, and once it has ended) and prices."""
    months, served, waited = [], Decimal(0), Decimal(0)
    for i, key in enumerate(scenario.months):
        leased, returned = rates[i]
        hours = scenario.up_hours(key)
        share = lease.share_of(key) if strategy.rent_fraction > 0 else Decimal(0)
        during, after = leased.use(hours * share), returned.use(hours * (1 - share))
        use = MonthUse(*(getattr(during, f) + getattr(after, f) for f in MonthUse.__dataclass_fields__))
        served += use.gpu_hours_served
        waited += use.queueing_job_hours
        months.append(
            month_money(
                key,
                strategy,
                scenario.site_gpus,
                scenario.cost,
                lease,
                use,
                prices[i],
                capex=scenario.capex if i == 0 else Decimal(0),
                leased_availability=scenario.reliability.availability(key, scenario.node_gpus),
                sale=scenario.sale if i == len(rates) - 1 else None,
            )
        )
    return tuple(months), served, waited


def evaluate(
    scenario: Scenario,
    strategy: Strategy,
    operations: Operate,
    demand_factor: float = 1.0,
    lease_price_factor: Decimal = Decimal(1),
    prices: Prices | None = None,
) -> StrategyResult:
    leased = operations(strategy.rent_fraction, strategy.resell_idle, demand_factor)
    returned = operations(Decimal(0), strategy.resell_idle, demand_factor)
    return price(scenario, strategy, leased, returned, lease_price_factor, prices)


@dataclass(frozen=True, slots=True)
class Swing:
    """The decision (renting all's value over keeping all's) with one assumption moved down and up."""

    name: str
    low: str
    high: str
    at_low: Decimal
    at_high: Decimal


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    scenario: Scenario
    results: tuple[StrategyResult, ...]
    advantage_of_renting: Decimal  # rent-all's value less keep-all's, over the horizon
    breakeven_shadow_price: Decimal | None  # per GPU-hour; None when renting gives up no internal work
    tornado: tuple[Swing, ...] = field(default=())
    portfolio: PortfolioResult | None = None  # which of several sites to rent (sim/portfolio.py), when asked

    @property
    def best(self) -> StrategyResult:
        return max(self.results, key=lambda r: (r.total("value"), r.strategy.name))


def advantage(
    scenario: Scenario,
    operations: Operate,
    demand_factor: float = 1.0,
    lease_price_factor: Decimal = Decimal(1),
    prices: Prices | None = None,
) -> tuple[Decimal, StrategyResult, StrategyResult]:
    """Renting all's value less keeping all's, and the two results."""
    keep = evaluate(scenario, KEEP_ALL, operations, demand_factor, lease_price_factor, prices)
    rent = evaluate(scenario, RENT_ALL, operations, demand_factor, lease_price_factor, prices)
    return rent.total("value") - keep.total("value"), keep, rent


def run(
    scenario: Scenario,
    swing: float = 0.2,
    progress: Callable[[str], None] | None = None,
    operations: Operate | None = None,
) -> ScenarioResult:
    """Every strategy of the scenario on the same demand and seed, the breakeven shadow price between keeping
    all and renting all, and how the decision moves with each assumption moved by +-`swing`. `operations`:
    simulations run beforehand (asks(scenario, swing) lists them), else each is run here when first asked."""
    operations = operations or cached_operations(scenario)
    results = []
    for strategy in scenario.strategies:
        if progress:
            progress(strategy.name)
        results.append(evaluate(scenario, strategy, operations))
    if progress:
        progress("sensitivity")
    base, keep, rent = advantage(scenario, operations)
    try:
        breakeven: Decimal | None = breakeven_shadow_price(
            list(keep.months), list(rent.months), keep.internal_gpu_hours, rent.internal_gpu_hours
        )
    except InvalidInput:
        breakeven = None
    return ScenarioResult(scenario, tuple(results), base, breakeven, tuple(_tornado(scenario, operations, swing)))


def _tornado(scenario: Scenario, operations: Operate, swing: float) -> list[Swing]:
    low, high = Decimal(1) - Decimal(str(swing)), Decimal(1) + Decimal(str(swing))
    p = scenario.prices
    swings = []

    def moved(name: str, at: Callable[[Decimal], Decimal]) -> None:
        swings.append(Swing(name, f"-{swing:.0%}", f"+{swing:.0%}", at(low), at(high)))

    def price_moved(field_name: str) -> Callable[[Decimal], Decimal]:
        def at(f: Decimal) -> Decimal:
            return advantage(scenario, operations, prices=replace(p, **{field_name: getattr(p, field_name) * f}))[0]

        return at

    moved("lease price", lambda f: advantage(scenario, operations, lease_price_factor=f)[0])
    moved("internal demand", lambda f: advantage(scenario, operations, demand_factor=float(f))[0])
    moved("shadow price", price_moved("shadow_usd_per_gpu_hour"))
    if p.delay_usd_per_job_hour:
        moved("cost of delay", price_moved("delay_usd_per_job_hour"))
    return sorted(swings, key=lambda s: (-abs(s.at_high - s.at_low), s.name))


@dataclass(frozen=True, slots=True)
class SweepPoint:
    lease_price_factor: Decimal
    rent_fraction: Decimal
    demand_factor: float
    value: Decimal  # renting this share at this price, over the horizon
    keep_value: Decimal  # keeping all at the same demand
    utilization: float  # of the GPUs kept, while rented

    @property
    def advantage(self) -> Decimal:
        return self.value - self.keep_value


def sweep_cells(fractions: Sequence[Decimal], demands: Sequence[float]) -> list[tuple[Decimal, float]]:
    """The simulations a price x fraction x demand grid needs: each fraction (and keeping all) per demand;
    price only changes the money."""
    return sorted({(f, d) for d in demands for f in (Decimal(0), *fractions)})


def sweep_points(
    scenario: Scenario,
    operations: Mapping[tuple[Decimal, float], Operations],
    price_factors: Sequence[Decimal],
    fractions: Sequence[Decimal],
    demands: Sequence[float],
    offer: str = "lease",
) -> list[SweepPoint]:
    """Price every point of the grid from the simulations of `sweep_cells`."""
    points = []
    for d in demands:
        keep = operations[(Decimal(0), d)]
        keep_value = price(scenario, KEEP_ALL, keep, keep).total("value")
        for f in fractions:
            strategy = Strategy(f"rent-{f}", f, offer=offer)
            for p in price_factors:
                value = price(scenario, strategy, operations[(f, d)], keep, p).total("value")
                points.append(SweepPoint(p, f, d, value, keep_value, operations[(f, d)].utilization))
    return points
