"""`neocloud bench`: the published reference experiments, on any input of the same format."""

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from neocloud.cli.args import group, parse_names, parse_seeds
from neocloud.cli.output import emit_json, out, reported, table
from neocloud.cli.tree import help_of
from neocloud.core.errors import InvalidInput, quoted

if TYPE_CHECKING:
    from neocloud.sim.packing import PackingResult

bench_app = group(help=help_of("bench"))


@bench_app.command("fgd")
def bench_fgd(
    nodes: Annotated[Path, typer.Option(help="openb node list CSV (sn,cpu_milli,memory_mib,gpu,model).")],
    pods: Annotated[Path, typer.Option(help="openb pod list CSV.")],
    policy: Annotated[
        str, typer.Option(help="Packing policies, comma-separated (`neocloud simulate policies` lists them).")
    ] = "fgd",
    seeds: Annotated[str, typer.Option(help="42, 42-51 or 1,5,9.")] = "42-51",
    ratio: Annotated[float, typer.Option(help="Top the workload up to this x GPU capacity.")] = 1.3,
    json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """GPU allocation % against arrived GPU demand %, as in the FGD paper (ATC'23), mean over seeds."""
    with reported(json):
        from neocloud.adapters.traces.openb import read_nodes, read_pods
        from neocloud.core.gpushare.policies import POLICIES
        from neocloud.sim.packing import SeedSweep, sweep_seeds

        names = parse_names(policy, POLICIES, "placement policy")
        seed_list = parse_seeds(seeds)
        node_list, pod_list = read_nodes(nodes), read_pods(pods)
        sweeps: list[SeedSweep] = []
        from rich.progress import Progress

        with Progress(console=out(), transient=True, disable=json or not out().is_terminal) as progress:
            task = progress.add_task("packing", total=len(names) * len(seed_list))
            for name in names:
                runs: list[PackingResult] = []
                for seed in seed_list:
                    runs.extend(sweep_seeds(node_list, pod_list, name, [seed], ratio).runs)
                    progress.advance(task)
                sweeps.append(SeedSweep(name, tuple(runs)))
        if json:
            emit_json(
                [
                    {
                        "policy": s.policy,
                        "seeds": seed_list,
                        "allocation_at_100": round(s.mean_allocation_at(100), 4),
                        f"allocation_at_{round(ratio * 100)}": round(s.mean_allocation_at(round(ratio * 100)), 4),
                        "allocation_by_arrived_pct": s.curve,
                        "runs": [
                            {
                                "seed": r.seed,
                                "pods": r.pods,
                                "placed": r.placed,
                                "allocation_pct": round(r.allocation_pct, 4),
                                "fragmentation_ratio": round(r.final_fragmentation_ratio, 4),
                                "dropped": dict(r.dropped),
                            }
                            for r in s.runs
                        ],
                    }
                    for s in sweeps
                ]
            )
            return
        marks = list(range(10, round(ratio * 100) + 1, 10))
        table(
            f"GPU allocation % by arrived % (mean of {len(seed_list)} seeds, {sum(n.gpu_count for n in node_list):,}"
            " GPUs)",
            ["policy", *[f"{m}%" for m in marks]],
            [(s.policy, *[f"{s.mean_allocation_at(m):.2f}" for m in marks]) for s in sweeps],
        )


@bench_app.command("philly")
def bench_philly(
    jobs: Annotated[Path, typer.Option(help="Pollux philly.csv (timestamp,duration,num_gpus,gpu_time,cluster).")],
    vcs: Annotated[Path, typer.Option(help="Helios philly_vc.csv (vc,node num).")],
    policy: Annotated[str, typer.Option(help="Ordering policies, comma-separated.")] = "fifo,sjf,srtf",
    since: Annotated[str, typer.Option(help="First submission day (UTC).")] = "2017-10-01",
    until: Annotated[str, typer.Option(help="Day after the last submission day (UTC).")] = "2017-12-01",
    gpus_per_node: Annotated[int, typer.Option()] = 8,
    json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Philly per virtual cluster: each VC its own cluster of 8-GPU nodes, consolidated placement."""
    with reported(json):
        from neocloud.adapters.traces.jobs import read_philly, read_philly_vcs
        from neocloud.core.engine.cluster import Cluster
        from neocloud.core.engine.config import EngineConfig
        from neocloud.core.engine.ordering import ORDERINGS
        from neocloud.sim.simulator import simulate_partitioned

        names = parse_names(policy, ORDERINGS, "ordering policy")
        try:
            start, end = (datetime.fromisoformat(d).replace(tzinfo=UTC) for d in (since, until))
        except ValueError:
            raise InvalidInput(f"bad --since/--until {quoted(since)}/{quoted(until)}: use YYYY-MM-DD") from None
        read = read_philly(jobs, since=start, until=end)
        sizes = read_philly_vcs(vcs)
        report: dict[str, object] = {"jobs": len(read.jobs), "policies": {}}
        rows = []
        for name in names:
            clusters = {vc: Cluster.uniform(n, gpus_per_node) for vc, n in sizes.items()}
            results, orphans = simulate_partitioned(read.jobs, clusters, EngineConfig(name, "bestfit"))
            finished = sum(r.finished for r in results.values())
            overall_jct = sum(r.overall.avg_jct * r.finished for r in results.values()) / max(1, finished)
            overall_wait = sum(r.overall.avg_queueing * r.finished for r in results.values()) / max(1, finished)
            report["policies"][name] = {  # type: ignore[index]
                "avg_jct_s": round(overall_jct, 3),
                "avg_queueing_s": round(overall_wait, 3),
                "finished": finished,
                "unschedulable": sum(r.unfinished for r in results.values()),
                "jobs_without_vc": len(orphans),
                "per_vc": {
                    vc: {
                        "jobs": r.jobs,
                        "avg_jct_s": round(r.overall.avg_jct, 3),
                        "avg_queueing_s": round(r.overall.avg_queueing, 3),
                    }
                    for vc, r in results.items()
                },
            }
            rows.append((name, f"{finished:,}", f"{overall_jct:,.0f}", f"{overall_wait:,.0f}", f"{len(orphans)}"))
        if json:
            emit_json(report)
            return
        table(
            f"Philly {since} to {until}, {len(read.jobs):,} jobs in {len(sizes)} VCs",
            ["policy", "finished", "avg JCT (s)", "avg queueing (s)", "jobs in no VC"],
            rows,
        )
