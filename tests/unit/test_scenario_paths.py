"""Possible futures: the demand and market paths, their calibration, the exit rules and present values, each
hand-worked, and the paths' reproducibility and spread checked over many draws."""

from __future__ import annotations

import math
import random
import statistics
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neocloud.adapters.scenario_spec import price_history
from neocloud.core.errors import InvalidInput
from neocloud.core.scenario.exits import owner_notice, tenant_notice
from neocloud.core.scenario.paths import (
    DemandModel,
    Deviation,
    MarketModel,
    PricePoint,
    fit_price_trend,
    paths,
)
from neocloud.core.scenario.strategies import present_value

D = Decimal
ONE_MODEL = MarketModel({"h100-sxm": 1.0})


def test_with_nothing_uncertain_every_month_is_the_single_future_exactly() -> None:
    market = MarketModel({"h100-sxm": 450_048.0, "h200-sxm": 190_668.8, "gb200-nvl72": 144_115.2})
    for p in paths(5, 36, DemandModel(), market, seed=1):
        assert set(p.demand) == {1.0}
        assert set(p.market) == {1.0}


def test_trend_and_cycle_by_hand() -> None:
    rng = random.Random(0)
    grows = DemandModel(growth_per_year=0.2).path(25, rng)
    assert grows[12] == pytest.approx(1.2)
    assert grows[24] == pytest.approx(1.44)
    assert grows[6] == pytest.approx(1.2**0.5)
    cycles = DemandModel(cycle_amplitude=0.1, cycle_months=12).path(12, rng)
    assert [cycles[0], cycles[3], cycles[9]] == pytest.approx([1.0, 1.1, 0.9])


def test_the_fleets_market_weighs_each_model_by_what_it_rents_for() -> None:
    # One model worth 1 halves in a year, another worth 3 holds: (1 x 0.5 + 3 x 1) / 4 after twelve months.
    market = MarketModel({"old": 1.0, "new": 3.0}, {"old": 0.5})
    index = market.path(13, random.Random(0))
    assert index[12] == pytest.approx(0.875)
    assert index[6] == pytest.approx((math.sqrt(0.5) + 3) / 4)


def test_same_seed_same_paths_and_a_path_does_not_depend_on_how_many_are_drawn() -> None:
    demand = DemandModel(cycle_amplitude=0.1, shocks_per_year=2, shock_size=0.3, deviation=Deviation(0.2))
    market = MarketModel({"h100-sxm": 1.0}, {"h100-sxm": 0.2}, Deviation(0.4))
    ten = paths(10, 24, demand, market, seed=7)
    assert ten == paths(10, 24, demand, market, seed=7)
    assert ten[:3] == paths(3, 24, demand, market, seed=7)
    assert ten != paths(10, 24, demand, market, seed=8)
    assert len({p.demand for p in ten}) == 10  # every path its own


def test_a_deviation_spreads_as_its_long_run_sd_and_reverts_at_its_half_life() -> None:
    deviation = Deviation(sd=0.3, half_life_months=6)
    walks = [deviation.walk(61, random.Random(i)) for i in range(4000)]
    late = [w[60] for w in walks]
    assert statistics.fmean(late) == pytest.approx(0.0, abs=0.02)
    assert statistics.stdev(late) == pytest.approx(0.3, rel=0.05)
    # After six months a deviation has halved on average: the regression of x(t+6) on x(t) has slope 1/2.
    x, y = np.array([w[30] for w in walks]), np.array([w[36] for w in walks])
    assert float(np.polyfit(x, y, 1)[0]) == pytest.approx(0.5, abs=0.05)
    assert deviation.walk(3, random.Random(0))[0] == 0.0  # today is known


def test_shocks_move_demand_for_good_and_only_within_their_size() -> None:
    demand = DemandModel(shocks_per_year=12, shock_size=0.3)
    for p in paths(50, 24, demand, ONE_MODEL, seed=3):
        steps = [b / a for a, b in zip(p.demand, p.demand[1:], strict=False)]
        assert all(0.7 <= s <= 1.3 for s in steps)
        assert any(s != 1.0 for s in steps)


def test_fit_recovers_a_known_trend_with_one_level_per_series() -> None:
    # Two series 20 % apart, both falling exactly 25 % a year: the fit finds the decline and no spread.
    history = [PricePoint(2020 + k / 4, 4 * 0.75 ** (k / 4), "on-demand") for k in range(6)]
    history += [PricePoint(2020.1 + k / 3, 3.2 * 0.75 ** ((k / 3) + 0.1), "one-year") for k in range(4)]
    decline, sd = fit_price_trend(history)
    assert decline == pytest.approx(0.25)
    assert sd == pytest.approx(0.0, abs=1e-9)


def test_the_packaged_history_fits_as_a_least_squares_solver_does() -> None:
    history = price_history()
    decline, sd = fit_price_trend(history)
    series = sorted({p.series for p in history})
    rows = np.array([[p.series == s for s in series] + [p.years] for p in history], dtype=float)
    logs = np.log([p.usd_per_gpu_hour for p in history])
    solution, *_ = np.linalg.lstsq(rows, logs, rcond=None)
    residuals = logs - rows @ solution
    assert decline == pytest.approx(-math.expm1(solution[-1]))
    assert sd == pytest.approx(float(np.sqrt(residuals @ residuals / (len(history) - len(series) - 1))))
    assert 0 < decline < 1  # the history falls: $8 in 2023 to under $3 in 2026


def test_a_history_too_short_to_fit_is_refused() -> None:
    with pytest.raises(InvalidInput, match="more points than series"):
        fit_price_trend([PricePoint(2024, 3, "a"), PricePoint(2025, 2, "a")])
    with pytest.raises(InvalidInput, match="positive, finite"):
        fit_price_trend([PricePoint(2024, 3, "a"), PricePoint(2025, float("nan"), "a"), PricePoint(2026, 1, "a")])


def test_the_tenant_leaves_once_the_market_has_fallen_by_its_drop() -> None:
    market = [1.0, 0.9, 0.75, 0.7, 0.6]
    assert tenant_notice(market, range(5), 0.3) == 3  # 0.7 <= (1 - 0.3) x 1.0
    assert tenant_notice(market, range(1, 5), 0.3) == 4  # from 0.9 at the lease's start: 0.6 <= 0.63
    assert tenant_notice(market, range(3), 0.3) is None  # the lease is over before the market falls that far
    assert tenant_notice(market, range(0), 0.3) is None


def test_the_owner_takes_back_when_demand_surges_and_its_work_is_worth_more() -> None:
    demand = [1.0, 1.6, 1.6, 1.7]
    shadow = [D(3), D(2), D(4), D(4)]
    assert owner_notice(demand, shadow, D("2.5"), range(4), 0.5) == 2  # month 1 surges but earns more rented
    assert owner_notice(demand, shadow, D(5), range(4), 0.5) is None
    assert owner_notice(demand, shadow, D("2.5"), range(4), 0.65) == 3


def test_present_value_by_hand() -> None:
    # $110 at the end of the twelfth month, at 10 % a year, is worth $100 today; $0 discounts to $0.
    assert present_value([D(0)] * 11 + [D(110)], D("0.10")).quantize(D("0.000001")) == D(100)
    assert present_value([D(5)] * 3, D(0)) == D(15)
    with pytest.raises(InvalidInput):
        present_value([D(1)], D(-1))


@given(st.sampled_from([float("nan"), float("inf"), -float("inf"), -1.0]), st.integers(0, 5))
def test_models_refuse_numbers_they_cannot_use(x: float, which: int) -> None:
    builders = (
        lambda: Deviation(sd=x),
        lambda: Deviation(half_life_months=x),
        lambda: DemandModel(growth_per_year=x),
        lambda: DemandModel(cycle_amplitude=x),
        lambda: MarketModel({"m": x}),
        lambda: MarketModel({"m": 1.0}, {"m": x}),
    )
    with pytest.raises(InvalidInput):
        builders[which]()


def test_huge_spreads_and_growth_are_refused_before_they_overflow() -> None:
    for build in (lambda: Deviation(sd=1e308), lambda: DemandModel(growth_per_year=1e308)):
        with pytest.raises(InvalidInput):
            build()
    assert len(paths(2, 600, DemandModel(10.0, deviation=Deviation(10)), ONE_MODEL, 0)[0].demand) == 600
