"""Which of several sites to rent and which to keep (core/scenario/portfolio.py): every choice priced month by
month over the scenario's horizon.

What the kept sites do with the internal work comes from the scenario's own simulations: kept GPUs C running
work that asks for T GPUs are the scenario's slice at the demand factor (T / C) / its load (to 3 places),
kept whole, with its rates scaled from the scenario's site to C GPUs. Below the factor 0.25 the simulation
at 0.25 stands in, internal work and waiting shrunk in proportion (as for possible futures). Internal work is
worth, per GPU-hour, the kept sites' shadow prices weighted by their GPUs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal

from neocloud.core.billing.periods import month
from neocloud.core.scenario.portfolio import Portfolio, Regime, moved_gpus, regimes
from neocloud.core.scenario.strategies import SECONDS_PER_HOUR, MonthMoney, MonthUse, Prices, Strategy, month_money
from neocloud.sim.scenario import Ask, Operate, Priced, Scenario
from neocloud.sim.uncertainty import FLOOR, to_decimal

NOBODY = (Decimal(1), False, 1.0)  # the scenario's site rented whole: its work waits, none is served


def regime_ask(scenario: Scenario, portfolio: Portfolio, r: Regime) -> Ask | None:
    """The simulation that says what the kept sites of `r` do with its work (None: there is no work)."""
    work, capacity = r.work(portfolio.sites), r.capacity(portfolio.sites)
    if work <= 0:
        return None
    if capacity == 0:
        return NOBODY
    return (Decimal(0), False, max(FLOOR, round(work / capacity / scenario.demand.load, 3)))


def regime_use(scenario: Scenario, portfolio: Portfolio, r: Regime, hours: Decimal, operations: Operate) -> MonthUse:
    """What the kept sites of `r` do with its work over `hours`."""
    ask = regime_ask(scenario, portfolio, r)
    if ask is None:
        return MonthUse(Decimal(0))
    site_work = Decimal(scenario.demand.load * scenario.site_gpus)
    if ask == NOBODY:
        scale = to_decimal(r.work(portfolio.sites)) / site_work
        internal_scale = scale
    else:
        scale = Decimal(r.capacity(portfolio.sites)) / scenario.site_gpus
        wanted = r.work(portfolio.sites) / r.capacity(portfolio.sites) / scenario.demand.load
        internal_scale = scale * to_decimal(wanted / FLOOR) if wanted < FLOOR else scale  # in proportion
    use = operations(*ask).use(hours)
    return MonthUse(use.gpu_hours_served * internal_scale, Decimal(0), use.queueing_job_hours * internal_scale)


def portfolio_asks(scenario: Scenario, portfolio: Portfolio) -> list[Ask]:
    """Every simulation pricing the portfolio asks for."""
    found: dict[Ask, None] = {}
    for choice in portfolio.choices():
        for key in scenario.months:
            for r in regimes(portfolio, choice, scenario.lease, key):
                ask = regime_ask(scenario, portfolio, r)
                if ask is not None:
                    found.setdefault(ask)
    return list(found)


@dataclass(frozen=True, slots=True)
class ChoiceResult(Priced):
    name: str
    rented: tuple[bool, ...]  # per site, as the portfolio lists them
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
    return PortfolioResult(
        portfolio, tuple(price_choice(scenario, portfolio, c, operations) for c in portfolio.choices())
    )


def price_choice(
    scenario: Scenario, portfolio: Portfolio, choice: tuple[bool, ...], operations: Operate
) -> ChoiceResult:
    sites, lease = portfolio.sites, scenario.lease
    moved = moved_gpus(portfolio, choice, lease.start) if lease.start in scenario.months else Decimal(0)
    months, served, waited = [], Decimal(0), Decimal(0)
    for i, key in enumerate(scenario.months):
        hours = Decimal(month(key).seconds) / SECONDS_PER_HOUR
        availability = scenario.reliability.availability(key, scenario.node_gpus)
        parts = []
        for s, rented in zip(sites, choice, strict=True):
            if not s.online_in(key):
                continue
            first = key == s.online or (i == 0 and month(s.online).start < month(key).start)
            offer = "lease" if s.rent_usd_per_gpu_hour is None else "reserved"
            strategy = Strategy(s.name, Decimal(rented), offer=offer)
            prices = Prices(Decimal(0), Decimal(0), s.rent_usd_per_gpu_hour or Decimal(0))
            capex = s.capex if first else Decimal(0)
            nothing = MonthUse(Decimal(0))
            sale = s.sale if i == len(scenario.months) - 1 else None
            parts.append(month_money(key, strategy, s.gpus, s.cost, lease, nothing, prices, capex, availability, sale))
        internal = delay = Decimal(0)
        for r in regimes(portfolio, choice, lease, key):
            use = regime_use(scenario, portfolio, r, hours * r.share, operations)
            served += use.gpu_hours_served
            waited += use.queueing_job_hours
            internal += use.gpu_hours_served * _shadow(portfolio, r)
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
