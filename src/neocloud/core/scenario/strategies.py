"""Month-by-month money of one strategy for a site: lease income, spot resale, the value of internal work,
what owning the GPUs costs, the margin and the cash.

A strategy leases out a share of the site's GPUs (under one lease) and keeps the rest for internal work;
with resale, the kept GPUs' idle hours are sold as spot (and taken back when internal work needs them).
What internal work did on the kept GPUs (GPU-hours served, idle GPU-hours) comes from the simulator; this
module only prices it. Margin counts depreciation; cash counts what is paid: the capex leaves once, in the
first month, and depreciation is not a payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from neocloud.core.billing.periods import month
from neocloud.core.errors import InvalidInput
from neocloud.core.scenario.costs import HourlyCost

SECONDS_PER_HOUR = Decimal(3600)


@dataclass(frozen=True, slots=True)
class Lease:
    """One tenant takes GPUs of the site for a fixed fee per month, from `start` up to `end` (months,
    YYYY-MM, end excluded). The fee is for the whole site; leasing a share earns that share of it."""

    usd_per_month: Decimal
    start: str
    end: str
    notice_days: int = 90

    def __post_init__(self) -> None:
        if self.usd_per_month < 0:
            raise InvalidInput(f"a lease fee cannot be negative, got {self.usd_per_month}")
        if month(self.end).start <= month(self.start).start:
            raise InvalidInput(f"the lease ends ({self.end}) before it starts ({self.start})")

    def active(self, key: str) -> bool:
        return month(self.start).start <= month(key).start < month(self.end).start


@dataclass(frozen=True, slots=True)
class Strategy:
    name: str
    rent_fraction: Decimal = Decimal(0)  # share of the site's GPUs leased out
    resell_idle: bool = False  # sell the kept GPUs' idle hours as spot

    def __post_init__(self) -> None:
        if not 0 <= self.rent_fraction <= 1:
            raise InvalidInput(f"strategy {self.name}: rent_fraction must be in [0, 1], got {self.rent_fraction}")


STRATEGIES = (
    Strategy("keep-all"),
    Strategy("rent-all", Decimal(1)),
    Strategy("rent-half", Decimal("0.5")),
    Strategy("rent-with-reclaim", Decimal(0), resell_idle=True),
)
"""The strategies compared by default: keep everything, lease everything, lease half, or keep everything and
resell its idle hours as spot."""


@dataclass(frozen=True, slots=True)
class InternalMonth:
    """What internal work did on the kept GPUs in one month (from the simulator)."""

    gpu_hours_served: Decimal
    idle_gpu_hours: Decimal


@dataclass(frozen=True, slots=True)
class Prices:
    shadow_usd_per_gpu_hour: Decimal  # what a GPU-hour of internal work is worth to the owner
    spot_usd_per_gpu_hour: Decimal  # what an idle GPU-hour fetches as spot
    spot_sell_through: Decimal = Decimal(1)  # share of idle hours spot buyers take


@dataclass(frozen=True, slots=True)
class MonthMoney:
    month: str
    lease_revenue: Decimal
    spot_revenue: Decimal
    internal_value: Decimal  # not cash: internal work priced at the shadow price
    costs: Decimal  # every cost of owning the GPUs, depreciation included
    cash_out: Decimal  # what is paid: running costs, plus the capex in the first month

    @property
    def revenue(self) -> Decimal:
        return self.lease_revenue + self.spot_revenue

    @property
    def margin(self) -> Decimal:
        """Revenue less costs: what the month earns before valuing internal work."""
        return self.revenue - self.costs

    @property
    def value(self) -> Decimal:
        """Margin plus the value of internal work: what the strategy is worth to the owner."""
        return self.margin + self.internal_value

    @property
    def cash(self) -> Decimal:
        return self.revenue - self.cash_out


def month_money(
    key: str,
    strategy: Strategy,
    gpus: int,
    cost: HourlyCost,
    lease: Lease | None,
    internal: InternalMonth,
    prices: Prices,
    capex: Decimal = Decimal(0),
) -> MonthMoney:
    """The money of `strategy` in month `key` for a site of `gpus` GPUs costing `cost` per GPU-hour.
    `capex` is paid in this month (the first of the horizon)."""
    hours = Decimal(month(key).seconds) / SECONDS_PER_HOUR
    leased = lease is not None and lease.active(key) and strategy.rent_fraction > 0
    lease_revenue = lease.usd_per_month * strategy.rent_fraction if leased and lease else Decimal(0)
    spot = internal.idle_gpu_hours * prices.spot_sell_through * prices.spot_usd_per_gpu_hour
    owned = cost.times(gpus * hours)
    return MonthMoney(
        month=key,
        lease_revenue=lease_revenue,
        spot_revenue=spot if strategy.resell_idle else Decimal(0),
        internal_value=internal.gpu_hours_served * prices.shadow_usd_per_gpu_hour,
        costs=owned.total,
        cash_out=owned.total - owned.depreciation + capex,
    )


def breakeven_shadow_price(
    keep: list[MonthMoney], rent: list[MonthMoney], keep_served: Decimal, rent_served: Decimal
) -> Decimal:
    """The shadow price per internal GPU-hour above which `keep` is worth more than `rent` over the same
    months: the margin renting adds, spread over the internal GPU-hours it gives up."""
    given_up = keep_served - rent_served
    if given_up <= 0:
        raise InvalidInput("renting gives up no internal GPU-hours: there is no breakeven shadow price")
    extra_margin = sum((r.margin for r in rent), Decimal(0)) - sum((k.margin for k in keep), Decimal(0))
    return extra_margin / given_up
