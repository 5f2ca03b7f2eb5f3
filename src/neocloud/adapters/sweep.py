"""Scenario sweeps on Ray: each simulation a sweep needs runs as a Ray task (on this machine by default, on
a Ray cluster given its address); the driver prices the grid from their results."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from neocloud.adapters.extras import require_extra
from neocloud.adapters.scenario_spec import Sweep
from neocloud.core.errors import InvalidInput
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
    require_extra("scenario", "a scenario sweep", "ray")
    import ray  # heavy: imported only when a sweep runs

    started_here = not ray.is_initialized()
    if started_here:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
        if address is None:  # a Ray of our own, even where this machine runs a cluster already
            options["num_cpus"] = cpus
        try:
            ray.init(address=address or "local", **options)
        except (ConnectionError, ValueError) as exc:
            raise InvalidInput(f"cannot reach the Ray cluster at {address}: {exc}", ray_address=address) from None
    try:
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
    finally:
        if started_here:
            ray.shutdown()
    return sweep_points(
        scenario, results, sweep.lease_price_factors, sweep.rent_fractions, sweep.demand_factors, sweep.offer
    )
