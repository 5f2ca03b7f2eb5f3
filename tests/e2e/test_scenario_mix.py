"""The best mix (a linear program solved by HiGHS): hand-worked on one pool over two months, and never worth
less than the best fixed strategy on the same paths (property-tested on small sites)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neocloud.core.errors import InvalidInput
from neocloud.core.scenario.paths import DemandModel, MarketModel
from neocloud.core.scenario.paths import Path as Futures
from neocloud.core.scenario.strategies import Lease, Prices, Strategy
from neocloud.core.workload import Job
from neocloud.sim.demand import InternalDemand
from neocloud.sim.mix import best_mix
from neocloud.sim.scenario import KEEP_ALL, RENT_ALL, Reliability, Scenario, cached_operations
from neocloud.sim.uncertainty import MixOptions, Uncertainty, knots, price_path, tables

from .test_scenario import DAY, HOUR, one_node

D = Decimal
# Four 8-GPU nodes; four 8-GPU jobs of 12 h, all at once, in a window of a day. One node serves 8 GPU-h per
# hour (two jobs in the day), two nodes or more serve all 16: keeping half the site loses nothing.
FOUR_JOBS = InternalDemand(tuple(Job(f"j{i}", 0, 12 * HOUR, 8, tenant="internal") for i in range(4)), DAY, 32)
RENT_HALF = Strategy("rent-half", D("0.5"), offer="reserved")


def four_nodes(**changes: object) -> Scenario:
    """April and May 2027 on 32 GPUs costing $2 per GPU-hour; a lease of April only, $20,000 for the site."""
    base: dict[str, object] = {
        "site_gpus": 32,
        "demand": FOUR_JOBS,
        "end": "2027-06",
        "lease": Lease(D(20_000), "2027-04", "2027-05", notice_days=0),
        "prices": Prices(shadow_usd_per_gpu_hour=D(4), spot_usd_per_gpu_hour=D(1), reserved_usd_per_gpu_hour=D("2.5")),
        "strategies": (KEEP_ALL, RENT_ALL, RENT_HALF),
    }
    return one_node(**{**base, **changes})


def fixed_values(scenario: Scenario, u: Uncertainty, drawn: list[Futures], grid: tuple[float, ...]) -> dict[str, D]:
    ops = tables(scenario, grid, cached_operations(scenario))
    return {
        s.name: sum((price_path(scenario, u, ops, grid, s, p).value for p in drawn), D(0)) / len(drawn)
        for s in scenario.strategies
    }


STEADY = Futures((1.0, 1.0), (1.0, 1.0))
NO_EXITS = Uncertainty(1, DemandModel(), MarketModel({"h100-sxm": 1.0}))


def test_the_best_mix_by_hand() -> None:
    scenario = four_nodes()
    assert knots(scenario, MixOptions()) == [(D(k), False) for k in ("0", "0.25", "0.5", "0.75", "1")]
    fixed = fixed_values(scenario, NO_EXITS, [STEADY], (1.0,))
    mix = best_mix(scenario, NO_EXITS, MixOptions(block_terms=(1,)), [STEADY], (1.0,), cached_operations(scenario))
    # Per hour: owning costs 32 x $2 = $64; 16 GPU-h of internal work at $4 = $64 on half the site or more;
    # half the site as reserved blocks at $2.50 = $40. A quarter more rented earns $20 and loses 8 GPU-h ($32).
    hours = 720 + 744
    assert mix.value == 40 * hours
    assert mix.kept == (0.5, 0.5)
    assert mix.lease_share == 0  # $20,000 for April is $27.8 an hour for the site, less than the blocks earn
    # The fixed strategies: keeping all earns nothing over its costs; renting half (under the lease, April only)
    # earns $40 an hour in April; renting all earns the fee and then runs the work in May.
    assert fixed == {"keep-all": 0, "rent-all": 20_000 - 64 * 720, "rent-half": 40 * 720}
    assert mix.value > max(fixed.values())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shadow=st.decimals(0, 10, places=2),
    spot=st.decimals(0, 3, places=2),
    reserved=st.decimals(0, 5, places=2),
    fee=st.integers(0, 200_000),
    markets=st.lists(
        st.tuples(st.sampled_from([1.0, 0.9, 0.6]), st.sampled_from([1.0, 0.8, 0.5])), min_size=1, max_size=3
    ),
    demands=st.lists(st.tuples(st.sampled_from([1.0, 0.5]), st.sampled_from([1.0, 2.0])), min_size=1, max_size=3),
    resale=st.booleans(),
    exits=st.booleans(),
    curtailed_hours=st.sampled_from([D(0), D("876.6")]),
)
def test_the_mix_is_never_worth_less_than_the_best_fixed_strategy(
    shadow: D,
    spot: D,
    reserved: D,
    fee: int,
    markets: list[tuple[float, float]],
    demands: list[tuple[float, float]],
    resale: bool,
    exits: bool,
    curtailed_hours: D,
) -> None:
    strategies = (KEEP_ALL, RENT_ALL, RENT_HALF, Strategy("reclaim", D(0), resell_idle=resale))
    scenario = four_nodes(
        prices=Prices(shadow, spot, reserved, delay_usd_per_job_hour=D(1)),
        lease=Lease(D(fee), "2027-04", "2027-06", notice_days=10),
        strategies=strategies,
        reliability=Reliability(D(0), curtailed_hours_per_year=curtailed_hours, curtailment_depth=D(1)),
    )
    drawn = [Futures(d, m) for d, m in zip(demands, markets, strict=False)] or [STEADY]
    u = Uncertainty(len(drawn), DemandModel(), MarketModel({"h100-sxm": 1.0}),
                    tenant_exit_drop=0.3 if exits else None, owner_exit_surge=0.5 if exits else None)  # fmt: skip
    grid = tuple(sorted({1.0} | {d for p in drawn for d in p.demand}))
    fixed = fixed_values(scenario, u, drawn, grid)
    mix = best_mix(scenario, u, MixOptions(), drawn, grid, cached_operations(scenario))
    assert mix.value >= max(fixed.values()) - D("0.01")


def test_a_service_level_keeps_enough_gpus_by_hand() -> None:
    scenario = four_nodes()
    # Mean wait to start, from the simulations: 3 of 4 nodes kept, one job waits 12 h (3 h a job); 2 of 4, two
    # jobs do (6 h a job). Within 4 h a job the program keeps at most a third of the month's weight on half
    # the site: 2/3 of it kept (waits interpolated between the two), 1/3 sold as blocks at $80 an hour.
    options = MixOptions(block_terms=(1,), max_queueing_hours=4.0)
    mix = best_mix(scenario, NO_EXITS, options, [STEADY], (1.0,), cached_operations(scenario))
    assert mix.kept == pytest.approx((2 / 3, 2 / 3))
    assert float(mix.value) == pytest.approx((720 + 744) * 80 / 3)
    # Five jobs on four nodes: one always waits, so no mix keeps the wait at zero.
    crowded = four_nodes(
        demand=InternalDemand((*FOUR_JOBS.jobs, Job("j4", 0, 12 * HOUR, 8, tenant="internal")), DAY, 32)
    )
    with pytest.raises(InvalidInput, match=r"no mix keeps internal jobs waiting 0\.0 h"):
        best_mix(
            crowded, NO_EXITS, replace(options, max_queueing_hours=0.0), [STEADY], (1.0,), cached_operations(crowded)
        )
