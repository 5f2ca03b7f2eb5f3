"""Scenario engine: the default scenario (colossus-1, Philly scaled to 220,208 GPUs, four strategies and the
tornado) end to end, and its 100-point sweep on a local Ray.

Targets (issue 6): the default scenario <= 2 minutes on 2 cores; a 100-point sweep <= 10 minutes locally.
Issue 17: the default scenario in <= 15 CPU-seconds of the main process, and <= 60 % of the wall time of its
simulations run one after another; both ways are run, alternating, and compared.
Issue 19: the default scenario over 1,000 possible futures (four strategies, each side's exit option) in
<= 10 minutes with local Ray.

    python -m benchmarks.scenario_bench [--runs N] [--paths N] [--only default|sweep|futures] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from benchmarks.machine import describe
from neocloud.adapters.scenario_paths import run_loaded
from neocloud.adapters.scenario_report import render_html
from neocloud.adapters.scenario_spec import load_scenario
from neocloud.adapters.sweep import run_sweep


def default_run(parallel: bool) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for what `neocloud scenario run` does: load (trace
    included), simulate (in parallel, or one after another), price, draw."""
    started, cpu = time.perf_counter(), time.process_time()
    loaded = load_scenario()
    result, _ = run_loaded(loaded, 0, cpus=None if parallel else 1)  # and which of its two sites to rent
    render_html(loaded, result)
    return time.perf_counter() - started, time.process_time() - cpu


def futures(paths: int) -> dict[str, Any]:
    """What `neocloud scenario run --paths N` does, end to end: load, simulate the single future and the
    futures' demands (and the best mix's kept shares), price every path on a local Ray, solve the best mix,
    draw the report; with the wall time of each stage."""
    started, cpu = time.perf_counter(), time.process_time()
    marks: dict[str, float] = {}

    def progress(what: str, done: int, of: int) -> None:
        marks.setdefault(what, time.perf_counter())  # when each stage began (its first report)

    loaded = load_scenario()
    result, odds = run_loaded(loaded, paths, progress=progress)
    solved = time.perf_counter()
    render_html(loaded, result, uncertain=odds)
    assert odds is not None
    assert odds.mix is not None
    priced_from = marks.get("priced", solved)
    return {
        "paths": paths,
        "seconds": round(time.perf_counter() - started, 1),
        "main_cpu_seconds": round(time.process_time() - cpu, 1),
        "simulating_seconds": round(priced_from - started, 1),
        "pricing_seconds": round(marks.get("pricing the sites", solved) - priced_from, 1),
        "sites_seconds": round(marks.get("solving the best mix", solved) - marks.get("pricing the sites", solved), 1),
        "mix_seconds": round(solved - marks.get("solving the best mix", solved), 1),
        "demand_grid": list(odds.grid),
        "mix_over_best_fixed_usd": str(odds.mix.value - max(v for _, v in odds.mix.fixed)),
    }


def sweep() -> dict[str, Any]:
    loaded = load_scenario()
    started = time.perf_counter()
    points = run_sweep(loaded.scenario, loaded.sweep)
    seconds = time.perf_counter() - started
    return {"points": len(points), "seconds": round(seconds, 1), "points_per_minute": round(60 * len(points) / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs of the default scenario (median reported)")
    parser.add_argument("--paths", type=int, default=1000, help="possible futures to price")
    parser.add_argument("--only", choices=("default", "sweep", "futures"), help="one measure only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out: dict[str, Any] = {"machine": describe()}
    if args.only in (None, "default"):
        runs: dict[str, list[tuple[float, float]]] = {"parallel": [], "one by one": []}
        for _ in range(args.runs):  # alternating
            for way in runs:
                runs[way].append(default_run(way == "parallel"))
        wall = {way: statistics.median(w for w, _ in found) for way, found in runs.items()}
        out |= {
            "default_scenario_seconds": round(wall["parallel"], 1),
            "default_scenario_main_cpu_seconds": round(statistics.median(c for _, c in runs["parallel"]), 1),
            "one_by_one_seconds": round(wall["one by one"], 1),
            "parallel_over_one_by_one": round(wall["parallel"] / wall["one by one"], 2),
            "default_target_seconds": 120,
        }
    if args.only in (None, "sweep"):
        out |= {"sweep": sweep(), "sweep_target_seconds": 600}
    if args.only in (None, "futures"):
        out |= {"futures": futures(args.paths), "futures_target_seconds": 600}
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"machine: {out['machine']}")
    if "default_scenario_seconds" in out:
        print(
            f"default scenario: {out['default_scenario_seconds']} s median of {args.runs} "
            f"({out['default_scenario_seconds'] / 120:.2f} of the 120 s target), "
            f"{out['default_scenario_main_cpu_seconds']} CPU-s in the main process; one by one "
            f"{out['one_by_one_seconds']} s: {out['parallel_over_one_by_one']:.2f} of it"
        )
    if "sweep" in out:
        s = out["sweep"]
        print(
            f"sweep: {s['points']} points in {s['seconds']} s on local Ray "
            f"({s['seconds'] / 600:.3f} of the 600 s target)"
        )
    if "futures" in out:
        f = out["futures"]
        print(
            f"{f['paths']:,} possible futures: {f['seconds']} s end to end ({f['seconds'] / 600:.2f} of the 600 s "
            f"target), {f['main_cpu_seconds']} CPU-s in the main process (simulating {f['simulating_seconds']} s, "
            f"pricing {f['pricing_seconds']} s, the sites {f['sites_seconds']} s, the best mix {f['mix_seconds']} s); "
            f"demand simulated at {f['demand_grid']}"
        )


if __name__ == "__main__":
    main()
