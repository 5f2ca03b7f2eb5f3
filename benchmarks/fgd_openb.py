"""FGD on Alibaba openb: our allocation % next to the FGD artifact's, per pod list and policy.

Rules (issue 3): cluster = openb_node_list_gpu_node.csv; pods sorted by name, shuffled by the seed, topped up
with pods drawn with replacement until GPU requests would pass 1.3 x capacity; scheduled one by one, never
leaving; a pod that does not fit is dropped. Mean allocation % at 100 % and 130 % arrived over seeds 42..51.

    python -m benchmarks.fgd_openb                # the default pod list, all six policies, seeds 42-51
    python -m benchmarks.fgd_openb --all          # every openb pod list in shared/traces
    python -m benchmarks.fgd_openb --json
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from multiprocessing import Pool
from pathlib import Path

from benchmarks.machine import describe
from neocloud.adapters.traces.fgd_reference import POLICY_DIRS, read_reference
from neocloud.adapters.traces.openb import read_nodes, read_pods
from neocloud.sim.packing import sweep_seeds

TRACES = Path(__file__).resolve().parents[2] / "shared" / "traces"
POLICIES = list(POLICY_DIRS)


def run_one(task: tuple[Path, Path, str, list[int]]) -> dict[str, object]:
    nodes_csv, pods_csv, policy, seeds = task
    nodes, pods = read_nodes(nodes_csv), read_pods(pods_csv)
    started = time.process_time()  # CPU seconds: this runs in a worker process of its own
    sweep = sweep_seeds(nodes, pods, policy, seeds)
    seconds = time.process_time() - started
    return {
        "workload": pods_csv.stem,
        "policy": policy,
        "at100": sweep.mean_allocation_at(100),
        "at130": sweep.mean_allocation_at(130),
        "seconds_per_run": seconds / len(seeds),
        "pods_per_run": statistics.mean(r.pods for r in sweep.runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--traces", type=Path, default=TRACES)
    parser.add_argument("--all", action="store_true", help="every openb pod list, not only the default")
    parser.add_argument("--seeds", default="42-51")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    low, _, high = args.seeds.partition("-")
    seeds = list(range(int(low), int(high or low) + 1))
    csv_dir = args.traces / "alibaba-openb-gpu-v2023" / "csv"
    pod_lists = sorted(csv_dir.glob("openb_pod_list_*.csv")) if args.all else [csv_dir / "openb_pod_list_default.csv"]
    nodes_csv = csv_dir / "openb_node_list_gpu_node.csv"
    reference_csv = args.traces / "fgd-kss-expected-results" / "analysis_allo_discrete.csv"

    started = time.perf_counter()
    tasks = [(nodes_csv, pods, policy, seeds) for pods in pod_lists for policy in POLICIES]
    results = []
    with Pool(args.jobs) as pool:
        for done, result in enumerate(pool.imap_unordered(run_one, tasks), start=1):
            results.append(result)
            if not args.json:
                print(
                    f"[{done}/{len(tasks)}] {result['workload']} {result['policy']}: {result['at100']:.2f} "
                    f"{result['at130']:.2f} ({result['seconds_per_run']:.1f} s/run)",
                    flush=True,
                )
    order = {(p.stem, policy): i for i, (_, p, policy, _) in enumerate(tasks)}
    results.sort(key=lambda r: order[(str(r["workload"]), str(r["policy"]))])
    wall = time.perf_counter() - started

    rows = []
    for pods_csv in pod_lists:
        reference = read_reference(reference_csv, pods_csv.stem)
        for r in (r for r in results if r["workload"] == pods_csv.stem):
            ref = reference.get(str(r["policy"]), {})
            rows.append({**r, "ref100": ref.get(100), "ref130": ref.get(130)})
    summary = {
        "machine": describe(),
        "seeds": f"{seeds[0]}-{seeds[-1]}",
        "runs": len(tasks) * len(seeds),
        "wall_s": round(wall, 1),
        "median_seconds_per_run": round(statistics.median(float(r["seconds_per_run"]) for r in rows), 2),
        "peak_rss_mib_per_worker": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "within_1pp": sum(
            1
            for r in rows
            if r["ref100"] is not None and abs(r["at100"] - r["ref100"]) <= 1 and abs(r["at130"] - r["ref130"]) <= 1
        ),
        "compared": sum(1 for r in rows if r["ref100"] is not None),
        "rows": rows,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(
        f"machine: {summary['machine']}; seeds {summary['seeds']}; {summary['runs']} runs in {wall:.0f} s "
        f"(median {summary['median_seconds_per_run']} s per run, {args.jobs} workers)"
    )
    print(
        f"{'pod list':<28} {'policy':<14} {'ours@100':>9} {'ref@100':>8} {'diff':>6} {'ours@130':>9} "
        f"{'ref@130':>8} {'diff':>6}"
    )
    for r in rows:
        ref100, ref130 = r["ref100"], r["ref130"]
        d100 = f"{r['at100'] - ref100:+.2f}" if ref100 is not None else "n/a"
        d130 = f"{r['at130'] - ref130:+.2f}" if ref130 is not None else "n/a"
        print(
            f"{r['workload']:<28} {r['policy']:<14} {r['at100']:>9.2f} {ref100 or float('nan'):>8.2f} {d100:>6} "
            f"{r['at130']:>9.2f} {ref130 or float('nan'):>8.2f} {d130:>6}"
        )
    for pods_csv in pod_lists:
        mine = [r for r in rows if r["workload"] == pods_csv.stem]
        ours = [str(r["policy"]) for r in sorted(mine, key=lambda r: -float(r["at130"]))]
        refs = [str(r["policy"]) for r in sorted(mine, key=lambda r: -float(r["ref130"] or 0))]
        print(f"{pods_csv.stem}: order at 130 %: ours {' > '.join(ours)}; reference {' > '.join(refs)}")
    print(f"within 1 point at both 100 % and 130 %: {summary['within_1pp']} of {summary['compared']}")


if __name__ == "__main__":
    main()
