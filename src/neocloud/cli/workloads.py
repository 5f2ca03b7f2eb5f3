"""`neocloud workload`: work under contracts, placed and run by the live engine. A server's engine runs it;
on the local store, `workload step` runs one step of the same engine."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from neocloud.cli.answers import answer, owned_list
from neocloud.cli.args import Json, group
from neocloud.cli.context import store
from neocloud.cli.output import emit_json, out, span, table
from neocloud.cli.timefmt import parse_duration, show_time
from neocloud.cli.tree import help_of
from neocloud.core.bounds import finite_seconds, parse_seconds_list

workload_app = group(help=help_of("workload"))
COLUMNS = [
    "id", "tenant", "contract", "GPUs", "duration", "status", "submitted", "started", "finished", "preemptions",
    "capped to W", "sharing (pace)",
]  # fmt: skip


def _rows(workloads: list[Any], tenants: dict[str, str]) -> list[tuple[object, ...]]:
    return [
        (
            w.id,
            tenants.get(w.tenant_id, w.tenant_id),
            w.contract_id,
            f"{w.gpus:,}",
            span(w.duration),
            w.status,
            show_time(w.submit),
            show_time(w.first_start) if w.first_start is not None else "",
            show_time(w.finished) if w.finished is not None else "",
            w.preemptions,
            "" if w.cap_w is None else w.cap_w,
            f"{len(w.group)} ({w.pace:.2f})" if w.group else "",
        )
        for w in workloads
    ]


@workload_app.command("submit")
def workload_submit(
    ctx: typer.Context,
    contract: Annotated[str, typer.Option(help="The contract it runs (and is billed) under.")],
    duration: Annotated[str, typer.Option(help="How long it runs, e.g. 90m, 6h, 2d.")],
    gpus_per_task: Annotated[int, typer.Option(help="GPUs per task.")] = 1,
    tasks: Annotated[int, typer.Option(help="Tasks in the gang (they start and stop together).")] = 1,
    command: Annotated[str | None, typer.Option(help="What it runs on a real executor (Slurm): a shell line.")] = None,
    env: Annotated[list[str] | None, typer.Option(help="NAME=VALUE for its environment (repeatable).")] = None,
    workdir: Annotated[str, typer.Option(help="Its working directory (absolute).")] = "",
    output: Annotated[str, typer.Option(help="File for its output (absolute).")] = "",
    stages: Annotated[
        str | None,
        typer.Option(
            help="Seconds each stage of one training iteration takes alone, e.g. 0.2,0.6,1.4 (storage, CPU, GPU):"
            " an interleaving ordering (muri-s, muri-l) may share its GPUs with work whose bottleneck differs."
        ),
    ] = None,
    iteration: Annotated[
        float | None, typer.Option(help="Seconds one iteration takes alone, with --stages (default: their sum).")
    ] = None,
    json: Json = False,
) -> None:
    """Queue work under a contract."""
    variables = dict(pair.partition("=")[::2] for pair in env or [])
    run = None if command is None else {"run": command, "env": variables, "workdir": workdir, "output": output}
    answer(
        ctx,
        json,
        lambda api: api.workloads.submit(
            contract,
            parse_duration(duration),
            gpus_per_task,
            tasks,
            run,
            None if stages is None else parse_seconds_list(stages, "stage times"),
            None if iteration is None else finite_seconds(iteration, "iteration time"),
        ),
        _shown,
        names=True,
    )


owned_list(
    workload_app,
    "Workloads, newest last.",
    lambda api: api.workloads.list,
    lambda workloads, shown: table("workloads", COLUMNS, _rows(workloads, shown)),
)


@workload_app.command("show")
def workload_show(ctx: typer.Context, workload_id: str, json: Json = False) -> None:
    """One workload."""
    answer(ctx, json, lambda api: api.workloads.get(workload_id), _shown, names=True)


@workload_app.command("cancel")
def workload_cancel(ctx: typer.Context, workload_id: str, json: Json = False) -> None:
    """Stop a workload (metered up to now) or drop it from the queue."""
    answer(ctx, json, lambda api: api.workloads.cancel(workload_id), _shown, names=True)


def _shown(workload: Any, shown: dict[str, str]) -> None:
    table(f"workload {workload.id}", COLUMNS, _rows([workload], shown))


@workload_app.command("step")
def workload_step(ctx: typer.Context, json: Json = False) -> None:
    """Run one step of the live engine on the store now (a server does this every second by itself)."""
    with store(ctx, json) as built:
        engine = built.live_engine()
        with built.uow() as uow:
            counts = engine.reconcile(uow, built.now())
    if json:
        emit_json(counts)
    else:
        out().print(", ".join(f"{n} {what}" for what, n in counts.items()))
