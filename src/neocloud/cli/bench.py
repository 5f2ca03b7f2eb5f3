"""`neocloud bench`: the published reference experiments, on any input of the same format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from neocloud.adapters.traces.openb import read_nodes, read_pods
from neocloud.cli.output import console, emit_json, reported, table
from neocloud.core.errors import InvalidInput
from neocloud.core.gpushare.policies import POLICIES
from neocloud.sim.packing import PackingResult, SeedSweep, sweep_seeds

bench_app = typer.Typer(help="Reference experiments from published papers.", no_args_is_help=True)


def parse_seeds(text: str) -> list[int]:
    """`42`, `42-51` or `1,5,9`."""
    try:
        if "-" in text:
            low, high = (int(part) for part in text.split("-", 1))
            seeds = list(range(low, high + 1))
        else:
            seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise InvalidInput(f"bad seeds {text!r}: use 42, 42-51 or 1,5,9", value=text) from None
    if not seeds:
        raise InvalidInput(f"no seeds in {text!r}", value=text)
    return seeds


@bench_app.command("fgd")
def bench_fgd(
    nodes: Annotated[Path, typer.Option(help="openb node list CSV (sn,cpu_milli,memory_mib,gpu,model).")],
    pods: Annotated[Path, typer.Option(help="openb pod list CSV.")],
    policy: Annotated[str, typer.Option(help=f"One or more of {', '.join(POLICIES)}, comma-separated.")] = "fgd",
    seeds: Annotated[str, typer.Option(help="42, 42-51 or 1,5,9.")] = "42-51",
    ratio: Annotated[float, typer.Option(help="Top the workload up to this x GPU capacity.")] = 1.3,
    json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """GPU allocation % against arrived GPU demand %, as in the FGD paper (ATC'23), mean over seeds."""
    with reported(json):
        names = [p.strip() for p in policy.split(",") if p.strip()]
        unknown = [n for n in names if n not in POLICIES]
        if unknown or not names:
            raise InvalidInput(f"unknown policy {unknown or policy!r}; known: {', '.join(POLICIES)}")
        seed_list = parse_seeds(seeds)
        node_list, pod_list = read_nodes(nodes), read_pods(pods)
        sweeps: list[SeedSweep] = []
        with Progress(console=console, transient=True, disable=json) as progress:
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
