"""A scenario run end to end: its simulations in parallel (scenario_parallel.py), the single future, and,
when possible futures are asked for, every path priced on Ray (locally by default, or on a cluster) and the
best mix solved over them (sim/mix.py, HiGHS)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from neocloud.adapters.ray_session import ray_session
from neocloud.adapters.scenario_parallel import parallel_operations
from neocloud.adapters.scenario_spec import LoadedScenario
from neocloud.core.scenario.paths import Path
from neocloud.sim.buyer import buyer_view
from neocloud.sim.mix import best_mix
from neocloud.sim.portfolio import portfolio_asks, portfolio_odds, price_portfolio
from neocloud.sim.scenario import ScenarioResult, run
from neocloud.sim.uncertainty import Outcome, Pricing, UncertainResult, plan, price_paths, run_paths

Progress = Callable[[str, int, int], None]  # (what, done, of)


def run_loaded(
    loaded: LoadedScenario,
    paths: int | None = None,
    cpus: int | None = None,
    ray_address: str | None = None,
    progress: Progress | None = None,
) -> tuple[ScenarioResult, UncertainResult | None]:
    """The single future (with its tornado and, with several sites, which to rent) and, with `paths`
    (default: the scenario's), that many possible futures."""
    scenario = loaded.scenario
    u = loaded.uncertainty if paths is None else replace(loaded.uncertainty, paths=paths)
    planned = plan(scenario, u) if u.paths else None
    portfolio = loaded.portfolio
    extra = [*(planned.asks if planned else ())]
    if portfolio is not None:
        extra += portfolio_asks(scenario, portfolio) + portfolio_asks(
            scenario, portfolio, planned.grid if planned else (1.0,)
        )
    operations = parallel_operations(
        scenario, loaded.swing, cpus, lambda done, of: progress and progress("simulated", done, of), extra
    )
    result = run(scenario, loaded.swing, operations=operations)
    if portfolio is not None:
        result = replace(result, portfolio=price_portfolio(scenario, portfolio, operations))
    if planned is None:
        return result, None

    def on_ray(pricing: Pricing, parts: Sequence[Sequence[Path]]) -> Iterator[list[dict[str, Outcome]]]:
        if progress is not None:
            progress("priced", 0, u.paths)
        with ray_session("possible futures", ray_address, cpus) as ray:
            task = ray.remote(price_paths)
            shared = [ray.put(x) for x in pricing]
            pending = [task.remote(*shared, part) for part in parts]
            for i, ref in enumerate(pending):  # in order: the result does not depend on which task ends first
                yield ray.get(ref)
                if progress is not None:
                    progress("priced", min((i + 1) * len(parts[0]), u.paths), u.paths)

    uncertain = run_paths(scenario, u, planned, operations, on_ray)
    if portfolio is not None:
        if progress is not None:
            progress("pricing the sites", u.paths, u.paths)
        sites = portfolio_odds(scenario, u, portfolio, operations, planned.grid, planned.paths)
        uncertain = replace(uncertain, portfolio=sites)
    if u.serving is not None and any(scenario.lease.share_of(k) > 0 for k in scenario.months):
        uncertain = replace(uncertain, buyer=buyer_view(scenario, u, planned.paths, u.serving))
    if u.mix is None:
        return result, uncertain
    if progress is not None:
        progress("solving the best mix", u.paths, u.paths)
    fixed = [(o.name, o.mean()) for o in uncertain.odds]
    mix = best_mix(scenario, u, u.mix, planned.paths, planned.grid, operations, fixed)
    return result, replace(uncertain, mix=mix)
