"""Strategy money on one GPU and one month, worked by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from neocloud.core.billing.periods import month
from neocloud.core.errors import InvalidInput
from neocloud.core.scenario.costs import HourlyCost
from neocloud.core.scenario.strategies import (
    STRATEGIES,
    Lease,
    MonthUse,
    Prices,
    Strategy,
    breakeven_shadow_price,
    month_money,
)

D = Decimal
COST = HourlyCost(depreciation=D(1), capital=D("0.25"), facility=D("0.5"), energy=D("0.1"), operations=D("0.15"))
LEASE = Lease(D(3000), "2027-04", "2027-06")  # April and May
PRICES = Prices(shadow_usd_per_gpu_hour=D(4), spot_usd_per_gpu_hour=D("1.2"), reserved_usd_per_gpu_hour=D(3))
KEPT = MonthUse(gpu_hours_served=D(500), spot_gpu_hours=D(110))  # April: 720 h on the one kept GPU
NONE_KEPT = MonthUse(D(0))
BY_NAME = {s.name: s for s in STRATEGIES}


def test_one_gpu_one_month_by_hand() -> None:
    # April has 720 h: owning the GPU costs 720 x $2.00 = $1,440, of which $720 is depreciation (not paid).
    keep = month_money("2027-04", BY_NAME["keep-all"], 1, COST, LEASE, KEPT, PRICES)
    assert (keep.revenue, keep.costs, keep.margin, keep.cash) == (0, 1440, -1440, -720)
    assert (keep.internal_value, keep.value) == (2000, 560)  # 500 GPU-h x $4
    rent = month_money("2027-04", BY_NAME["rent-all"], 1, COST, LEASE, NONE_KEPT, PRICES)
    assert (rent.lease_revenue, rent.margin, rent.value, rent.cash) == (3000, 1560, 1560, 2280)
    resell = month_money("2027-04", BY_NAME["rent-with-reclaim"], 1, COST, LEASE, KEPT, PRICES)
    assert resell.spot_revenue == D(132)  # 110 spot h x $1.20
    assert resell.value == D(692)
    half = month_money("2027-04", Strategy("half", D("0.5")), 1, COST, LEASE, KEPT, PRICES)
    assert half.lease_revenue == D(1500)
    reserved = month_money("2027-04", BY_NAME["rent-half"], 1, COST, LEASE, KEPT, PRICES)
    assert reserved.lease_revenue == D(1080)  # half the GPU x 720 h x $3 reserved
    # The capex is paid once, in the first month.
    first = month_money("2027-04", BY_NAME["keep-all"], 1, COST, LEASE, KEPT, PRICES, capex=D(45_000))
    assert first.cash == D(-45_720)


def test_no_lease_income_outside_the_lease() -> None:
    june = month_money("2027-06", BY_NAME["rent-all"], 1, COST, LEASE, NONE_KEPT, PRICES)
    assert june.lease_revenue == 0
    assert june.costs == D(1440)  # June has 30 days too


def test_breakeven_shadow_price() -> None:
    keep = month_money("2027-04", BY_NAME["keep-all"], 1, COST, LEASE, KEPT, PRICES)
    rent = month_money("2027-04", BY_NAME["rent-all"], 1, COST, LEASE, NONE_KEPT, PRICES)
    # Renting adds $3,000 of margin and gives up 500 internal GPU-h: keeping wins above $6 per GPU-h.
    price = breakeven_shadow_price([keep], [rent], D(500), D(0))
    assert price == D(6)
    assert keep.margin + D(500) * price == rent.value
    with pytest.raises(InvalidInput, match="gives up no internal GPU-hours"):
        breakeven_shadow_price([keep], [rent], D(0), D(0))


def test_bad_offers_and_strategies_are_refused() -> None:
    with pytest.raises(InvalidInput, match=r"ends \(2027-04\) before it starts \(2027-05\)"):
        Lease(D(1), "2027-05", "2027-04")
    with pytest.raises(InvalidInput, match="cannot be negative"):
        Lease(D(-1), "2027-04", "2027-05")
    with pytest.raises(InvalidInput, match="rent_fraction must be in"):
        Strategy("too-much", D("1.5"))
    with pytest.raises(InvalidInput, match="offer must be one of lease, reserved"):
        Strategy("odd", D("0.5"), offer="barter")


def test_a_lease_ended_by_notice_is_prorated_and_credited_below_its_sla() -> None:
    april = month("2027-04")
    # Notice on April 1 with 15 days: the lease ends on April 16 00:00, after half of April's 30 days.
    lease = Lease(D(3000), "2027-04", "2027-06", notice_days=15, notice_at=april.start, sla_uptime=D("0.99"))
    assert lease.share_of("2027-04") == D("0.5")
    assert lease.share_of("2027-05") == 0
    rent = month_money("2027-04", BY_NAME["rent-all"], 1, COST, lease, NONE_KEPT, PRICES)
    assert rent.lease_revenue == D(1500)
    # 97 % available: below 99 %, above 95 %, so the first tier: 10 % of the month's fee.
    hit = month_money("2027-04", BY_NAME["rent-all"], 1, COST, lease, NONE_KEPT, PRICES, leased_availability=D("0.97"))
    assert (hit.sla_credits, hit.revenue) == (D(150), D(1350))
    worst = month_money("2027-04", BY_NAME["rent-all"], 1, COST, lease, NONE_KEPT, PRICES, leased_availability=D("0.5"))
    assert worst.sla_credits == D(1500)  # 100 %, capped at the fee


def test_waiting_internal_work_costs_its_delay() -> None:
    prices = Prices(D(4), D("1.2"), delay_usd_per_job_hour=D(10))
    keep = month_money("2027-04", BY_NAME["keep-all"], 1, COST, LEASE, MonthUse(D(500), D(0), D(12)), prices)
    assert keep.delay_cost == D(120)
    assert keep.value == D(2000) - D(1440) - D(120)
