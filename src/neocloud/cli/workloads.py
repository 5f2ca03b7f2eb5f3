"""`neocloud workload`: work under contracts, placed and run by the live engine. A server's engine runs it;
on the local store, `workload step` runs one step of the same engine."""

from typing import Annotated, Any

import typer

from neocloud.cli.args import PAGE, Cursor, Every, Json, Limit, OnlyTenant, collect, group
from neocloud.cli.context import connect, store
from neocloud.cli.output import emit_json, emit_page, more, names_of, out, span, table
from neocloud.cli.timefmt import parse_duration, show_time

workload_app = group(help="Work under contracts, placed and run by the live engine.")
COLUMNS = ["id", "tenant", "contract", "GPUs", "duration", "status", "submitted", "started", "finished", "preemptions"]


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
    json: Json = False,
) -> None:
    """Queue work under a contract."""
    with connect(ctx, json) as api:
        workload = api.workloads.submit(contract, parse_duration(duration), gpus_per_task, tasks)
        shown = names_of(api) if not json else {}
    if json:
        emit_json(workload)
    else:
        table(f"workload {workload.id}", COLUMNS, _rows([workload], shown))


@workload_app.command("list")
def workload_list(
    ctx: typer.Context,
    tenant: OnlyTenant = None,
    cursor: Cursor = None,
    limit: Limit = PAGE,
    every: Every = False,
    json: Json = False,
) -> None:
    """Workloads, newest last."""
    with connect(ctx, json) as api:
        workloads, next_cursor = collect(api.workloads.list, cursor, limit, every, tenant=tenant)
        shown = names_of(api) if not json else {}
    if json:
        emit_page(workloads, next_cursor)
        return
    table("workloads", COLUMNS, _rows(workloads, shown))
    more(next_cursor, json)


@workload_app.command("show")
def workload_show(ctx: typer.Context, workload_id: str, json: Json = False) -> None:
    """One workload."""
    with connect(ctx, json) as api:
        workload = api.workloads.get(workload_id)
        shown = names_of(api) if not json else {}
    if json:
        emit_json(workload)
    else:
        table(f"workload {workload_id}", COLUMNS, _rows([workload], shown))


@workload_app.command("cancel")
def workload_cancel(ctx: typer.Context, workload_id: str, json: Json = False) -> None:
    """Stop a workload (metered up to now) or drop it from the queue."""
    with connect(ctx, json) as api:
        workload = api.workloads.cancel(workload_id)
        shown = names_of(api) if not json else {}
    if json:
        emit_json(workload)
    else:
        table(f"workload {workload_id}", COLUMNS, _rows([workload], shown))


@workload_app.command("step")
def workload_step(ctx: typer.Context, json: Json = False) -> None:
    """Run one step of the live engine on the store now (a server does this every second by itself)."""
    with store(ctx, json) as built:
        from neocloud.app import live

        engine = live.LiveEngine(built.catalog, built.settings.engine, policy=built.settings.policy)
        with built.uow() as uow:
            counts = engine.reconcile(uow, built.now())
    if json:
        emit_json(counts)
    else:
        out().print(", ".join(f"{n} {what}" for what, n in counts.items()))
