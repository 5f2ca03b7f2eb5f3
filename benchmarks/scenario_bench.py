"""Scenario engine: the default scenario (colossus-1, Philly scaled to 220,208 GPUs, four strategies and the
tornado) end to end, and its 100-point sweep on a local Ray.

Targets (issue 6): the default scenario <= 2 minutes on 2 cores; a 100-point sweep <= 10 minutes locally.
Issue 17: the default scenario in <= 15 CPU-seconds of the main process, and <= 60 % of the wall time of its
simulations run one after another; both ways are run, alternating, and compared.

    python -m benchmarks.scenario_bench [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from benchmarks.machine import describe
from neocloud.adapters.scenario_parallel import parallel_operations
from neocloud.adapters.scenario_report import render_html
from neocloud.adapters.scenario_spec import load_scenario
from neocloud.adapters.sweep import run_sweep
from neocloud.sim.scenario import run


def default_run(parallel: bool) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for what `neocloud scenario run` does: load (trace
    included), simulate (in parallel, or one after another), price, draw."""
    started, cpu = time.perf_counter(), time.process_time()
    loaded = load_scenario()
    operations = parallel_operations(loaded.scenario, loaded.swing) if parallel else None
    render_html(loaded, run(loaded.scenario, loaded.swing, operations=operations))
    return time.perf_counter() - started, time.process_time() - cpu


def sweep() -> dict[str, Any]:
    loaded = load_scenario()
    started = time.perf_counter()
    points = run_sweep(loaded.scenario, loaded.sweep)
    seconds = time.perf_counter() - started
    return {"points": len(points), "seconds": round(seconds, 1), "points_per_minute": round(60 * len(points) / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs of the default scenario (median reported)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = {"parallel": [], "one by one": []}
    for _ in range(args.runs):  # alternating
        for way in runs:
            runs[way].append(default_run(way == "parallel"))
    wall = {way: statistics.median(w for w, _ in found) for way, found in runs.items()}
    out = {
        "machine": describe(),
        "default_scenario_seconds": round(wall["parallel"], 1),
        "default_scenario_main_cpu_seconds": round(statistics.median(c for _, c in runs["parallel"]), 1),
        "one_by_one_seconds": round(wall["one by one"], 1),
        "parallel_over_one_by_one": round(wall["parallel"] / wall["one by one"], 2),
        "default_target_seconds": 120,
        "sweep": sweep(),
        "sweep_target_seconds": 600,
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"machine: {out['machine']}")
    print(
        f"default scenario: {out['default_scenario_seconds']} s median of {args.runs} "
        f"({out['default_scenario_seconds'] / 120:.2f} of the 120 s target), "
        f"{out['default_scenario_main_cpu_seconds']} CPU-s in the main process; one by one "
        f"{out['one_by_one_seconds']} s: {out['parallel_over_one_by_one']:.2f} of it"
    )
    s = out["sweep"]
    print(
        f"sweep: {s['points']} points in {s['seconds']} s on local Ray ({s['seconds'] / 600:.3f} of the 600 s target)"
    )


if __name__ == "__main__":
    main()
