"""Scenario engine: the default scenario (colossus-1, Philly scaled to 220,208 GPUs, four strategies and the
tornado) end to end, and its 100-point sweep on a local Ray.

Targets (issue 6): the default scenario <= 2 minutes on 2 cores; a 100-point sweep <= 10 minutes locally.

    python -m benchmarks.scenario_bench [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from benchmarks.machine import describe
from neocloud.adapters.scenario_report import render_html
from neocloud.adapters.scenario_spec import load_scenario
from neocloud.adapters.sweep import run_sweep
from neocloud.sim.scenario import run


def default_run() -> float:
    """Seconds for what `neocloud scenario run` does: load (trace included), simulate, price, draw."""
    started = time.perf_counter()
    loaded = load_scenario()
    render_html(loaded, run(loaded.scenario, loaded.swing))
    return time.perf_counter() - started


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
    runs = [default_run() for _ in range(args.runs)]
    out = {
        "machine": describe(),
        "default_scenario_seconds": round(statistics.median(runs), 1),
        "default_scenario_runs": [round(r, 1) for r in runs],
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
        f"({out['default_scenario_seconds'] / 120:.2f} of the 120 s target)"
    )
    s = out["sweep"]
    print(
        f"sweep: {s['points']} points in {s['seconds']} s on local Ray ({s['seconds'] / 600:.3f} of the 600 s target)"
    )


if __name__ == "__main__":
    main()
