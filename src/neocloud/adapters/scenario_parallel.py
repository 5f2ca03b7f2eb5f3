"""A scenario's simulations in parallel: each one `run` will ask for (sim.scenario.asks) in a process of its
own, forked from this one so that the scenario, its demand's jobs included, is shared rather than copied;
only the results come back. The default scenario's five simulations take 36 CPU-seconds one after another.
Results are the same as run one by one: each simulation is deterministic for its seed."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from neocloud.sim.scenario import Ask, Operate, Operations, Scenario, asks, cached_operations, operate, operation_key

_shared: Scenario | None = None  # the scenario the forked workers simulate (set only while they run)


def _simulate(ask: Ask) -> Operations:
    assert _shared is not None
    return operate(_shared, *ask)


def parallel_operations(
    scenario: Scenario,
    swing: float,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    extra: Sequence[Ask] = (),
) -> Operate:
    """`operate` for `run(scenario, swing, operations=...)`, every simulation it asks for (and the `extra`
    ones, e.g. possible futures' demands) run beforehand on `workers` processes (default: one per core)."""
    global _shared
    by_key = {operation_key(scenario, a): a for a in (*asks(scenario, swing), *extra)}
    wanted = [by_key[k] for k in sorted(by_key, key=lambda k: (-k[0], not k[1], k[2]))]  # the longest first
    workers = min(workers or os.cpu_count() or 1, len(wanted))
    if workers < 2:
        return cached_operations(scenario)
    known: dict[tuple[int, bool, float], Operations] = {}
    _shared = scenario
    try:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            running = {pool.submit(_simulate, ask): ask for ask in wanted}
            for done in as_completed(running):
                known[operation_key(scenario, running[done])] = done.result()
                if progress is not None:
                    progress(len(known), len(wanted))
    finally:
        _shared = None
    return cached_operations(scenario, known)
