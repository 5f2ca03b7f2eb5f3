"""Month-by-month money of one strategy for a site: lease income less SLA credits, spot resale, the value
of internal work less the cost of its delays, what owning the GPUs costs, the margin and the cash.

A strategy leases out a share of the site's GPUs (under one lease) and keeps the rest for internal work;
with resale, the kept GPUs' idle hours are offered as spot (and taken back when internal work needs them).
What the kept GPUs did in a month (internal GPU-hours served, spot GPU-hours sold, job-hours internal work
waited) comes from the simulator; this module only prices it. Margin counts depreciation; cash counts what
is paid: the capex leaves once, in the first month, and depreciation is not a payment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from neocloud.core.billing.periods import month
from neocloud.core.billing.rating import sla_credit_percent
from neocloud.core.errors import InvalidInput
from neocloud.core.scenario.costs import HourlyCost

SECONDS_PER_HOUR = Decimal(3600)
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, slots=True)
class Lease:
    """One tenant takes GPUs of the site for a fixed fee per month, from `start` up to `end` (months,
    YYYY-MM, end excluded). The fee is for the whole site; leasing a share earns that share of it. Either side
    may end it early: `notice_at` (UTC seconds) is when notice is given, and the lease ends `notice_days`
    later, in the middle of a month if so (that month's fee is prorated by the second)."""

    usd_per_month: Decimal
    start: str
    end: str
    notice_days: int = 90
    notice_at: int | None = None
    sla_uptime: Decimal | None = None  # monthly availability promised on the leased GPUs; None: no SLA

    def __post_init__(self) -> None:
        if self.usd_per_month < 0:
            raise InvalidInput(f"a lease fee cannot be negative, got {self.usd_per_month}")
        if month(self.end).start <= month(self.start).start:
            raise InvalidInput(f"the lease ends ({self.end}) before it starts ({self.start})")
        if self.notice_days < 0:
            raise InvalidInput(f"a notice period cannot be negative, got {self.notice_days} days")

    @property
    def ends_at(self) -> int:
        """When the lease really ends: its last month, or notice_days after notice is given."""
        end = month(self.end).start
        return end if self.notice_at is None else min(end, self.notice_at + self.notice_days * SECONDS_PER_DAY)

    def share_of(self, key: str) -> Decimal:
        """The share of month `key` the lease is in force."""
        period = month(key)
        return Decimal(period.overlap(month(self.start).start, self.ends_at)) / period.seconds


@dataclass(frozen=True, slots=True)
class Strategy:
    name: str
    rent_fraction: Decimal = Decimal(0)  # share of the site's GPUs rented out
    resell_idle: bool = False  # offer the kept GPUs' idle hours as spot
    offer: str = "lease"  # rent under the site lease (that share of its fee), or as "reserved" blocks at market

    def __post_init__(self) -> None:
        if not 0 <= self.rent_fraction <= 1:
            raise InvalidInput(f"strategy {self.name}: rent_fraction must be in [0, 1], got {self.rent_fraction}")
        if self.offer not in OFFERS:
            raise InvalidInput(f"strategy {self.name}: offer must be one of {', '.join(OFFERS)}, got {self.offer!r}")


OFFERS = ("lease", "reserved")


STRATEGIES = (
    Strategy("keep-all"),
    Strategy("rent-all", Decimal(1)),
    Strategy("rent-half", Decimal("0.5"), offer="reserved"),
    Strategy("rent-with-reclaim", Decimal(0), resell_idle=True),
)
"""The strategies compared by default: keep everything, lease everything, rent half as reserved blocks at the
market price, or keep everything and resell its idle hours as spot."""


@dataclass(frozen=True, slots=True)
class MonthUse:
    """What the kept GPUs did in one month, site-wide (from the simulator)."""

    gpu_hours_served: Decimal  # internal work
    spot_gpu_hours: Decimal = Decimal(0)  # sold as spot
    queueing_job_hours: Decimal = Decimal(0)  # hours internal jobs waited to start, summed over jobs


@dataclass(frozen=True, slots=True)
class Prices:
    shadow_usd_per_gpu_hour: Decimal  # what a GPU-hour of internal work is worth to the owner
    spot_usd_per_gpu_hour: Decimal  # what a GPU-hour sold as spot fetches
    reserved_usd_per_gpu_hour: Decimal = Decimal(0)  # market price of reserved blocks
    delay_usd_per_job_hour: Decimal = Decimal(0)  # what an hour an internal job waits costs the owner


@dataclass(frozen=True, slots=True)
class Sale:
    """The GPUs sold at the horizon's end: what they fetch, and their book value then (capex less the
    depreciation counted so far). The difference is a gain (or loss) in that month's margin."""

    proceeds: Decimal
    book_value: Decimal

    def __post_init__(self) -> None:
        if self.proceeds < 0 or self.book_value < 0:
            raise InvalidInput("a sale's proceeds and book value cannot be negative")


@dataclass(frozen=True, slots=True)
class MonthMoney:
    month: str
    lease_revenue: Decimal
    sla_credits: Decimal  # owed to the lessee for availability below its SLA (reduces revenue)
    spot_revenue: Decimal
    internal_value: Decimal  # not cash: internal work priced at the shadow price
    delay_cost: Decimal  # not cash: internal jobs' waiting priced at the cost of delay
    costs: Decimal  # every cost of owning the GPUs, depreciation included
    cash_out: Decimal  # what is paid: running costs, plus the capex in the first month
    sale_proceeds: Decimal = Decimal(0)  # the GPUs sold (at the horizon's end): cash in
    sale_gain: Decimal = Decimal(0)  # their proceeds less their book value: in the margin

    @property
    def revenue(self) -> Decimal:
        return self.lease_revenue - self.sla_credits + self.spot_revenue

    @property
    def margin(self) -> Decimal:
        """Revenue less costs (and any gain on selling the GPUs): what the month earns before valuing
        internal work."""
        return self.revenue - self.costs + self.sale_gain

    @property
    def value(self) -> Decimal:
        """Margin plus internal work's value less its delays: what the strategy is worth to the owner."""
        return self.margin + self.internal_value - self.delay_cost

    @property
    def cash(self) -> Decimal:
        return self.revenue - self.cash_out + self.sale_proceeds


def month_money(
    key: str,
    strategy: Strategy,
    gpus: int,
    cost: HourlyCost,
    lease: Lease | None,
    use: MonthUse,
    prices: Prices,
    capex: Decimal = Decimal(0),
    leased_availability: Decimal = Decimal(1),
    sale: Sale | None = None,
) -> MonthMoney:
    """The money of `strategy` in month `key` for a site of `gpus` GPUs costing `cost` per GPU-hour. Reserved
    blocks are rented over the lease's months, under its SLA.
    `capex` is paid in this month (the first of the horizon). `leased_availability` is the share of the
    leased GPU-time in service; below the lease's SLA it earns the lessee a credit on the month's fee. `sale`:
    the GPUs are sold at this month's end (the horizon's last)."""
    hours = Decimal(month(key).seconds) / SECONDS_PER_HOUR
    lease_revenue = credits = Decimal(0)
    if lease is not None and strategy.rent_fraction > 0:
        if strategy.offer == "reserved":
            rented_hours = gpus * strategy.rent_fraction * hours * lease.share_of(key)
            lease_revenue = rented_hours * prices.reserved_usd_per_gpu_hour
        else:
            lease_revenue = lease.usd_per_month * strategy.rent_fraction * lease.share_of(key)
        credits = lease_revenue * (1 - kept_after_credit(lease, leased_availability))
    owned = cost.times(gpus * hours)
    return MonthMoney(
        month=key,
        lease_revenue=lease_revenue,
        sla_credits=credits,
        spot_revenue=use.spot_gpu_hours * prices.spot_usd_per_gpu_hour if strategy.resell_idle else Decimal(0),
        internal_value=use.gpu_hours_served * prices.shadow_usd_per_gpu_hour,
        delay_cost=use.queueing_job_hours * prices.delay_usd_per_job_hour,
        costs=owned.total,
        cash_out=owned.total - owned.depreciation + capex,
        sale_proceeds=sale.proceeds if sale else Decimal(0),
        sale_gain=sale.proceeds - sale.book_value if sale else Decimal(0),
    )


def kept_after_credit(lease: Lease, availability: Decimal) -> Decimal:
    """The share of a month's lease revenue the owner keeps after the SLA credit owed at `availability` (the
    rating code's credit ladder, at most the whole fee)."""
    if lease.sla_uptime is None:
        return Decimal(1)
    return 1 - min(Decimal(100), sla_credit_percent(availability, lease.sla_uptime)) / 100


def breakeven_shadow_price(
    keep: list[MonthMoney], rent: list[MonthMoney], keep_served: Decimal, rent_served: Decimal
) -> Decimal:
    """The shadow price per internal GPU-hour above which `keep` is worth more than `rent` over the same
    months: what renting adds (margin, less the cost of the delays it causes), spread over the internal
    GPU-hours it gives up."""
    given_up = keep_served - rent_served
    if given_up <= 0:
        raise InvalidInput("renting gives up no internal GPU-hours: there is no breakeven shadow price")

    def without_internal_value(months: list[MonthMoney]) -> Decimal:
        return sum((m.margin - m.delay_cost for m in months), Decimal(0))

    return (without_internal_value(rent) - without_internal_value(keep)) / given_up


def present_value(monthly: Sequence[Decimal], rate_per_year: Decimal) -> Decimal:
    """What amounts received at the end of successive months are worth at the start of the first, discounted
    at `rate_per_year` (compounded: a month's factor is (1 + rate) ** (1/12))."""
    if rate_per_year <= -1:
        raise InvalidInput(f"a discount rate must be above -100 %, got {rate_per_year}")
    month_factor = (1 + rate_per_year) ** (Decimal(1) / 12)
    total, factor = Decimal(0), Decimal(1)
    for amount in monthly:
        factor /= month_factor
        total += amount * factor
    return total
