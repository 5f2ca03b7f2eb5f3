"""Strategy money on one GPU and one month, worked by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from neocloud.core.billing.periods import month
from neocloud.core.engine.cluster import Cluster
from neocloud.core.errors import InvalidInput
from neocloud.core.scenario.costs import HourlyCost
from neocloud.core.scenario.strategies import (
    STRATEGIES,
    InternalMonth,
    Lease,
    Prices,
    Strategy,
    breakeven_shadow_price,
    month_money,
)
from neocloud.core.workload import Job
from neocloud.sim.months import use_by_month
from neocloud.sim.simulator import SimConfig, simulate

D = Decimal
COST = HourlyCost(depreciation=D(1), capital=D("0.25"), facility=D("0.5"), energy=D("0.1"), operations=D("0.15"))
LEASE = Lease(D(3000), "2027-04", "2027-06")  # April and May
PRICES = Prices(shadow_usd_per_gpu_hour=D(4), spot_usd_per_gpu_hour=D("1.2"), spot_sell_through=D("0.5"))
KEPT = InternalMonth(gpu_hours_served=D(500), idle_gpu_hours=D(220))  # April: 720 h on the one kept GPU
NONE_KEPT = InternalMonth(D(0), D(0))
BY_NAME = {s.name: s for s in STRATEGIES}


def test_one_gpu_one_month_by_hand() -> None:
    # April has 720 h: owning the GPU costs 720 x $2.00 = $1,440, of which $720 is depreciation (not paid).
    keep = month_money("2027-04", BY_NAME["keep-all"], 1, COST, LEASE, KEPT, PRICES)
    assert (keep.revenue, keep.costs, keep.margin, keep.cash) == (0, 1440, -1440, -720)
    assert (keep.internal_value, keep.value) == (2000, 560)  # 500 GPU-h x $4
    rent = month_money("2027-04", BY_NAME["rent-all"], 1, COST, LEASE, NONE_KEPT, PRICES)
    assert (rent.lease_revenue, rent.margin, rent.value, rent.cash) == (3000, 1560, 1560, 2280)
    resell = month_money("2027-04", BY_NAME["rent-with-reclaim"], 1, COST, LEASE, KEPT, PRICES)
    assert resell.spot_revenue == D(132)  # 220 idle h x 50 % sold x $1.20
    assert resell.value == D(692)
    half = month_money("2027-04", BY_NAME["rent-half"], 1, COST, LEASE, KEPT, PRICES)
    assert half.lease_revenue == D(1500)
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


def test_gpu_use_is_cut_at_month_boundaries() -> None:
    may = month("2027-05").start
    # 4 GPUs; 2 busy from before the horizon, 3 busy from 00:30 on May 1; horizon April 30 23:00 - May 1 01:00.
    timeline = [(may - 7200, 2000, 0), (may + 1800, 3000, 0)]
    months = use_by_month(timeline, 4000, may - 3600, may + 3600)
    assert months["2027-04"] == InternalMonth(D(2), D(2))  # 1 h x 2 busy, 1 h x 2 idle
    assert months["2027-05"] == InternalMonth(D("2.5"), D("1.5"))  # 0.5 h x 2 + 0.5 h x 3 busy
    with pytest.raises(InvalidInput, match="ends"):
        use_by_month(timeline, 4000, may, may)


def test_a_simulated_run_priced_by_month() -> None:
    # One 2-GPU job of 1 h submitted at the start of April on 4 GPUs: April serves 2 GPU-h of 4 x 720.
    april = month("2027-04")
    run = simulate([Job("j", april.start, 3600, 2)], Cluster.uniform(1, 4), SimConfig())
    months = use_by_month(run.allocation_timeline, 4000, april.start, april.end)
    assert months == {"2027-04": InternalMonth(D(2), D(4 * 720 - 2))}
