"""Scenario sweeps on Ray: each simulation a sweep needs runs as a Ray task (on this machine by default, on
a Ray cluster given its address); the driver prices the grid from their results."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from neocloud.adapters.ray_session import ray_session
from neocloud.adapters.scenario_spec import Sweep
from neocloud.sim.scenario import Operations, Scenario, SweepPoint, operate, sweep_cells, sweep_points


def _operate(scenario: Scenario, rent_fraction: Decimal, demand_factor: float) -> Operations:
    return operate(scenario, rent_fraction, False, demand_factor)


def run_sweep(
    scenario: Scenario,
    sweep: Sweep,
    address: str | None = None,
    cpus: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[SweepPoint]:
    """Every point of `sweep` (lease price x share rented x demand). `address` is a Ray cluster's ("auto" for
    the one this machine belongs to, "ray://HOST:10001" for a remote one); without one, a Ray of this run's own
    starts locally with `cpus` workers (default: all)."""
    with ray_session("a scenario sweep", address, cpus) as ray:
        task = ray.remote(_operate)
        shared = ray.put(scenario)
        cells = sweep_cells(sweep.rent_fractions, sweep.demand_factors)
        pending = {task.remote(shared, f, d): (f, d) for f, d in cells}
        results: dict[tuple[Decimal, float], Operations] = {}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                results[pending.pop(ref)] = ray.get(ref)
            if progress is not None:
                progress(len(results), len(cells))
    return sweep_points(
        scenario, results, sweep.lease_price_factors, sweep.rent_fractions, sweep.demand_factors, sweep.offer
    )
