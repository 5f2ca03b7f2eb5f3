"""`neocloud simulate`: replay a trace through the engine, one policy or several side by side."""

import csv
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from neocloud.cli.args import Caps, Json, Kind, group, parse_names
from neocloud.cli.output import caps_said, emit_json, err, out, reported, table
from neocloud.cli.tree import help_of
from neocloud.core.errors import InvalidInput

if TYPE_CHECKING:
    from neocloud.core.engine.config import EngineConfig
    from neocloud.core.power import PowerBudget
    from neocloud.core.workload import Job
    from neocloud.sim.metrics import SimResult

simulate_app = group(help=help_of("simulate"))

Trace = Annotated[
    str,
    typer.Option(
        help="FORMAT:PATH (muri, tiresias, philly, gavel, openb), muri:PATH,overhead=muri, "
        "pai:PATH[,estimate=COLUMN][,per_minute=N], sacct:PATH[,tenant=account|user|partition] (sacct --json or -P), "
        "csv:PATH[,FIELD=COLUMN,...] (a CSV of jobs) or synthetic:N[,seed=S,gpus=G,load=L]."
    ),
]
Fleet = Annotated[
    str,
    typer.Option(
        help="uniform:NODESxGPUS, pooled:GPUS[,cpus=N] (no nodes: placement pooled), muri:PATH, openb:NODES.csv "
        "(GPU-sharing: placements random, dotprod, gpuclustering, gpupacking, bestfit, fgd), a fleet YAML, or a "
        "packaged fleet."
    ),
]
Speedup = Annotated[
    float, typer.Option(help="Divide the time between submissions by this to raise the load; durations stay.")
]
PLACEMENT_HELP = "Placement policy (`neocloud simulate policies` lists them)."
SkipBad = Annotated[bool, typer.Option(help="Count and report malformed rows instead of stopping at the first.")]
Queues = Annotated[
    str,
    typer.Option(help="Tiresias: queue thresholds in GPU-seconds, rising, comma-separated (N thresholds, N+1 queues)."),
]
Starvation = Annotated[
    float,
    typer.Option(
        help="Tiresias: a job that waits this many times as long as it ran goes back to the top queue; 0 never."
    ),
]


def _columns(unit: str) -> list[str]:
    times = [f"{t} {unit}" for t in ("avg JCT", "p50 JCT", "p99 JCT", "avg wait", "makespan")]
    return ["policy", "placement", "jobs", "finished", *times, "util", "frag", "preemptions"]


def _unit(results: "list[SimResult]") -> tuple[str, int]:
    """Hours, or seconds for runs that last less than an hour (a short history of one's own cluster)."""
    return ("s", 1) if all(r.makespan < 3600 for r in results) else ("h", 3600)


def _row(r: "SimResult", per: int) -> list[str]:
    o = r.overall
    digits = 2 if per > 1 else 0
    return [
        r.ordering,
        r.placement,
        f"{r.jobs:,}",
        f"{r.finished:,}",
        *(f"{t / per:,.{digits}f}" for t in (o.avg_jct, o.median_jct, o.p99_jct, o.avg_queueing)),
        f"{r.makespan / per:,.{digits - 1 if digits else 0}f}",
        f"{r.utilization:.1%}",
        f"{r.fragmentation:.1%}",
        f"{r.preemptions:,}",
    ]


def _load(trace: str, skip_bad_rows: bool, speedup: float = 1.0) -> "tuple[list[Job], dict[str, object]]":
    from neocloud.adapters.traces.loader import load_trace

    if not 0 < speedup < 1e9:
        raise InvalidInput(f"--speedup must be a positive number, got {speedup}")
    read = load_trace(trace, skip_bad_rows=skip_bad_rows)
    if read.skipped:
        err().print(
            f"skipped {len(read.skipped)} malformed rows; first: line {read.skipped[0][0]}: {read.skipped[0][1]}",
            highlight=False,
        )
    if read.left_out:
        said = ", ".join(f"{n:,} {why}" for why, n in sorted(read.left_out.items()))
        err().print(f"left out {sum(read.left_out.values()):,} jobs that cannot be replayed: {said}", highlight=False)
    jobs = read.jobs
    if speedup != 1:
        start = min((j.submit for j in jobs), default=0)
        jobs = [replace(j, submit=start + int((j.submit - start) / speedup)) for j in jobs]
    return jobs, {"skipped_rows": len(read.skipped), "left_out": read.left_out}


def _config(policy: str, placement: str, seed: int, queues: str, starvation: float) -> "EngineConfig":
    from neocloud.core.engine.config import EngineConfig
    from neocloud.core.engine.tiresias import Tiresias, thresholds

    return EngineConfig(policy, placement, seed, tiresias=Tiresias(thresholds(queues), starvation))


def _run(
    jobs: "list[Job]", fleet: str, config: "EngineConfig", quiet: bool, power: "PowerBudget | None" = None
) -> "SimResult":
    from neocloud.adapters.clusters import load_cluster
    from neocloud.adapters.specs import load_catalog
    from neocloud.sim.simulator import simulate

    cluster = load_cluster(fleet, load_catalog(), seed=config.seed)
    from rich.progress import Progress

    with Progress(console=out(), transient=True, disable=quiet or not out().is_terminal) as progress:
        task = progress.add_task(f"{config.ordering}/{config.placement}", total=len(jobs))
        return simulate(jobs, cluster, config, progress=lambda done: progress.update(task, completed=done), power=power)


def _write_csv(path: Path, results: "list[SimResult]") -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "policy",
                "placement",
                "scope",
                "jobs",
                "avg_jct_s",
                "median_jct_s",
                "p99_jct_s",
                "avg_queueing_s",
                "p99_queueing_s",
                "gpu_hours",
            ]
        )
        for r in results:
            for scope, s in [("all", r.overall), *sorted(r.per_tenant.items())]:
                writer.writerow(
                    [
                        r.ordering,
                        r.placement,
                        scope,
                        s.jobs,
                        round(s.avg_jct, 3),
                        s.median_jct,
                        s.p99_jct,
                        round(s.avg_queueing, 3),
                        s.p99_queueing,
                        round(s.gpu_hours, 3),
                    ]
                )


def _report(
    results: "list[SimResult]", json: bool, csv_path: Path | None, read: dict[str, object], timeline: bool
) -> None:
    if csv_path is not None:
        _write_csv(csv_path, results)
    if json:
        emit_json({**read, "results": [r.to_dict(timeline=timeline) for r in results]})
        return
    unit, per = _unit(results)
    table("simulation", _columns(unit), [_row(r, per) for r in results])
    if len(results) == 1 and len(results[0].per_tenant) > 1:
        r = results[0]
        table(
            "per tenant",
            ["tenant", "jobs", "avg JCT (h)", "avg queueing (h)", "GPU-hours"],
            [
                (t, f"{s.jobs:,}", f"{s.avg_jct / 3600:.2f}", f"{s.avg_queueing / 3600:.2f}", f"{s.gpu_hours:,.0f}")
                for t, s in sorted(r.per_tenant.items())
            ],
        )


Curtail = Annotated[
    list[str] | None,
    typer.Option(
        "--curtail",
        help="DEPTH@START+SECONDS: cut the site's power budget by DEPTH (a share) from START seconds after the"
        " first submission, for SECONDS (repeat); implies --power.",
    ),
]
PowerFlag = Annotated[
    bool, typer.Option("--power", help="Keep the fleet's site power budget: never run more GPUs than it feeds.")
]
CapsFlag = Annotated[
    bool,
    typer.Option(
        "--capping/--no-capping",
        help="Meet a shrinking budget by capping running GPUs before stopping work (the default), or by stopping"
        " work only.",
    ),
]
RampOption = Annotated[
    str | None,
    typer.Option(
        "--ramp",
        help="MW a second: the fastest the site's draw may rise (default: the fleet's ramp_mw_per_s); implies --power.",
    ),
]
FallOption = Annotated[
    str | None,
    typer.Option(
        "--fall",
        help="MW a second: the fastest the site's draw may fall, the GPUs' power floors holding what ends (default:"
        " the fleet's fall_mw_per_s); implies --power.",
    ),
]


def _budget(
    jobs: "list[Job]",
    fleet: str,
    caps: list[str],
    cuts: list[str],
    rates: tuple[str | None, str | None],
    kind: str,
    capping_on: bool,
) -> "tuple[PowerBudget, dict[str, Any]]":
    """The fleet's one site's budget over the replay (adapters/replay_power.py), from the options: each
    curtailment as DEPTH@START+SECONDS, its draw rising and falling no faster than `rates` (MW a second, else
    the site's own limits)."""
    from neocloud.adapters.replay_power import ReplayPower, parse_curtailment, parse_rate, replay_budget
    from neocloud.adapters.specs import load_catalog
    from neocloud.core.power import parse_caps

    asked = ReplayPower(
        tuple(parse_curtailment(text) for text in cuts),
        ramp_mw_per_s=parse_rate(rates[0], "--ramp"),
        fall_mw_per_s=parse_rate(rates[1], "--fall"),
        capping=capping_on,
        caps=parse_caps(caps),
        kind=kind,
    )
    return replay_budget(jobs, fleet, load_catalog(), asked)


def _show_budget(shown: dict[str, Any]) -> None:
    out().print(
        f"power: site {shown['site']}, {shown['budget_kw']} kW, {shown['kw_per_gpu']} kW a GPU; peak draw"
        f" {shown['peak_kw']} kW; budget exceeded: {', '.join(map(str, shown['exceeded_at'])) or 'never'}",
        highlight=False,
    )
    if shown["ramp_mw_per_s"] is not None:
        out().print(
            f"ramp: the draw rises at most {shown['ramp_mw_per_s']} MW a second; {shown['ramp_waits']:,} decisions"
            " waited for started work to come up",
            highlight=False,
        )
    if shown["fall_mw_per_s"] is not None:
        out().print(
            f"fall: the draw falls at most {shown['fall_mw_per_s']} MW a second; the GPUs' power floors burned"
            f" {shown['floor_kwh']} kWh holding what ended",
            highlight=False,
        )
    table(
        "the budget's changes",
        ["at s", "budget kW", "GPUs fed", "GPUs dark", "jobs capped", "jobs stopped", "shortfall GPUs"],
        [
            (
                f"{c['at']:,}",
                c["budget_kw"],
                f"{c['gpus']:,}",
                f"{c['dark_gpus']:,}",
                f"{c['capped']:,}",
                f"{c['preempted']:,}",
                f"{c['shortfall_gpus']:,}",
            )
            for c in shown["changes"]
        ],
    )


def _capped(jobs: "list[Job]", fleet: str, caps: list[str], kind: str) -> "tuple[list[Job], dict[str, Any]]":
    """The jobs slowed by the caps, and what the caps mean (adapters/replay_power.py)."""
    from neocloud.adapters.replay_power import capped
    from neocloud.adapters.specs import load_catalog
    from neocloud.core.power import parse_caps

    return capped(jobs, fleet, load_catalog(), parse_caps(caps), kind)


@simulate_app.callback(invoke_without_command=True)
def simulate_one(
    ctx: typer.Context,
    trace: Trace = "",
    fleet: Fleet = "uniform:8x8",
    policy: Annotated[str, typer.Option(help="Ordering policy (`neocloud simulate policies` lists them).")] = "fifo",
    placement: Annotated[str, typer.Option(help=PLACEMENT_HELP)] = "bestfit",
    seed: Annotated[int, typer.Option(help="Seed for random choices.")] = 0,
    speedup: Speedup = 1.0,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Also write metrics as CSV here.")] = None,
    skip_bad_rows: SkipBad = False,
    timeline: Annotated[bool, typer.Option(help="With --json: GPU allocation after every change.")] = False,
    queues: Queues = "3250,7200",
    starvation: Starvation = 0.0,
    cap: Caps = None,
    kind: Kind = "training",
    keep_power: PowerFlag = False,
    curtail: Curtail = None,
    ramp: RampOption = None,
    fall: FallOption = None,
    capping: CapsFlag = True,
    json: Json = False,
) -> None:
    """Replay a trace with one ordering and placement policy (and its GPUs under power caps, within its site's
    power budget, through curtailments, under its ramp limits)."""
    if ctx.invoked_subcommand is not None:
        return
    with reported(json):
        if not trace:
            raise InvalidInput("give --trace FORMAT:PATH")
        from neocloud.core.engine.ordering import ORDERINGS

        parse_names(policy, ORDERINGS, "ordering policy")
        config = _config(policy, placement, seed, queues, starvation)
        jobs, read = _load(trace, skip_bad_rows, speedup)
        power: dict[str, Any] = {}
        if cap:
            jobs, power = _capped(jobs, fleet, cap, kind)
            read["power"] = power
        budget, kept = None, dict[str, Any]()
        if keep_power or curtail or ramp is not None or fall is not None:
            budget, kept = _budget(jobs, fleet, cap or [], curtail or [], (ramp, fall), kind, capping)
        result = _run(jobs, fleet, config, json, budget)
        if budget is not None:
            from neocloud.adapters.replay_power import budget_kept

            read["budget"] = kept = kept | budget_kept(result, budget)
        _report([result], json, csv_out, read, timeline)
        if budget is not None and not json:
            _show_budget(kept)
        if power and not json:
            out().print(caps_said(power), highlight=False)


@simulate_app.command("compare")
def simulate_compare(
    trace: Trace,
    fleet: Fleet = "uniform:8x8",
    policies: Annotated[str, typer.Option(help="Ordering policies, comma-separated.")] = "fifo,sjf,srtf",
    placements: Annotated[str, typer.Option(help="Placement policies, comma-separated. " + PLACEMENT_HELP)] = "bestfit",
    seed: Annotated[int, typer.Option()] = 0,
    speedup: Speedup = 1.0,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Also write metrics as CSV here.")] = None,
    skip_bad_rows: SkipBad = False,
    queues: Queues = "3250,7200",
    starvation: Starvation = 0.0,
    json: Json = False,
) -> None:
    """Several ordering and placement policies side by side on the same trace, cluster and seed."""
    with reported(json):
        from neocloud.core.engine.ordering import ORDERINGS

        names = parse_names(policies, ORDERINGS, "ordering policy")
        places = [p.strip() for p in placements.split(",") if p.strip()]
        configs = [_config(name, place, seed, queues, starvation) for name in names for place in places]
        jobs, read = _load(trace, skip_bad_rows, speedup)
        results = [_run(jobs, fleet, config, json) for config in configs]
        _report(results, json, csv_out, read, False)


@simulate_app.command("policies")
def simulate_policies(json: Json = False) -> None:
    """The ordering and placement policies the engine knows, with what each does."""
    from neocloud.core.engine.ordering import ORDERINGS
    from neocloud.core.engine.placement import PLACEMENTS
    from neocloud.core.engine.pooled import POOLED, pooled_fit
    from neocloud.core.engine.sharing import SHARING_PLACEMENTS

    rows = [("ordering", name, o.doc) for name, o in ORDERINGS.items()]
    rows += [("placement", name, _first_line(p.__doc__)) for name, p in PLACEMENTS.items()]
    rows += [("placement on shared GPUs (openb: fleets; bench fgd)", name, "") for name in SHARING_PLACEMENTS]
    rows += [("placement on a pooled cluster (pooled: fleets)", POOLED, _first_line(pooled_fit.__doc__))]
    if json:
        emit_json([{"kind": k, "name": n, "what": w} for k, n, w in rows])
    else:
        table("policies", ["kind", "name", "what it does"], rows)


def _first_line(doc: str | None) -> str:
    return doc.strip().splitlines()[0] if doc and doc.strip() else ""
