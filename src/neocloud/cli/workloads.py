"""`neocloud workload`: work under contracts, placed and run by the live engine. Against a server (--server)
the server's engine runs it; locally, `workload step` runs one engine step on the store."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from neocloud.app import listings, live, services
from neocloud.app.pages import Page
from neocloud.app.views import workload_view
from neocloud.cli.context import command
from neocloud.cli.output import console, emit_json, emit_page, more, reported, table
from neocloud.cli.paging import DEFAULT_LIMIT, Cursor, Every, Limit, collect, remote_page
from neocloud.cli.remote import remote
from neocloud.cli.timefmt import parse_duration, show_time
from neocloud.core.errors import NotFound, quoted

workload_app = typer.Typer(help="Work under contracts, placed and run by the live engine.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _show(views: list[dict[str, Any]], json: bool, title: str = "workloads", next_cursor: str | None = None) -> None:
    if json and title == "workloads":
        emit_page(views, next_cursor)
    elif json:
        emit_json(views[0])
    if json:
        return
    table(
        title,
        ["id", "tenant", "contract", "GPUs", "duration", "status", "submitted", "started", "finished", "preemptions"],
        [
            (
                v["id"],
                v["tenant_id"],
                v["contract_id"],
                f"{v['gpus']:,}",
                f"{v['duration'] / 3600:.2f} h",
                v["status"],
                show_time(v["submit"]),
                show_time(v["first_start"]) if v["first_start"] is not None else "",
                show_time(v["finished"]) if v["finished"] is not None else "",
                v["preemptions"],
            )
            for v in views
        ],
    )
    more(next_cursor, json)


@workload_app.command("submit")
def workload_submit(
    contract: Annotated[str, typer.Option(help="The contract it runs (and is billed) under.")],
    duration: Annotated[str, typer.Option(help="How long it runs, e.g. 90m, 6h, 2d.")],
    gpus_per_task: Annotated[int, typer.Option(help="GPUs per task.")] = 1,
    tasks: Annotated[int, typer.Option(help="Tasks in the gang (they start and stop together).")] = 1,
    json: Json = False,
) -> None:
    """Queue work under a contract."""
    with reported(json):
        seconds = parse_duration(duration)
        api = remote()
        if api is not None:
            body = {"contract_id": contract, "gpus_per_task": gpus_per_task, "tasks": tasks, "duration": seconds}
            view = api.call("POST", "/workloads", json=body)
        else:
            with command(json) as ctx, ctx.uow() as uow:
                stored = live.submit_workload(
                    uow, contract, gpus_per_task, tasks, seconds, ctx.now(), ctx.new_id, policy=ctx.settings.policy
                )
                view = workload_view(stored)
        _show([view], json, f"workload {view['id']}")


@workload_app.command("list")
def workload_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (id or name).")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    every: Every = False,
    json: Json = False,
) -> None:
    """Workloads, newest last."""
    with reported(json):
        api = remote()
        if api is not None:
            page = collect(remote_page(api, "/workloads", {"tenant": tenant}, dict), cursor, limit, every)
        else:
            with command(json) as ctx, ctx.uow() as uow:
                tenant_id = services.get_tenant(uow, tenant).id if tenant else None
                stored = collect(
                    lambda c, n: listings.WORKLOADS.fetch(
                        c, n, lambda a, k: uow.list_workloads(tenant_id, after=a, limit=k)
                    ),
                    cursor,
                    limit,
                    every,
                )
                page = Page([workload_view(w) for w in stored.items], stored.next_cursor)
        _show(page.items, json, next_cursor=page.next_cursor)


@workload_app.command("show")
def workload_show(workload_id: str, json: Json = False) -> None:
    """One workload."""
    with reported(json):
        api = remote()
        if api is not None:
            view = api.call("GET", f"/workloads/{workload_id}")
        else:
            with command(json) as ctx, ctx.uow() as uow:
                stored = uow.get_workload(workload_id)
                if stored is None:
                    raise NotFound(f"unknown workload {quoted(workload_id)}", workload=workload_id)
                view = workload_view(stored)
        _show([view], json, f"workload {workload_id}")


@workload_app.command("cancel")
def workload_cancel(workload_id: str, json: Json = False) -> None:
    """Stop a workload (metered up to now) or drop it from the queue."""
    with reported(json):
        api = remote()
        if api is not None:
            view = api.call("POST", f"/workloads/{workload_id}/cancel")
        else:
            with command(json) as ctx, ctx.uow() as uow:
                view = workload_view(live.cancel_workload(uow, workload_id, ctx.now()))
        _show([view], json, f"workload {workload_id}")


@workload_app.command("step")
def workload_step(json: Json = False) -> None:
    """Run one step of the live engine on the store now (a server does this every second by itself)."""
    with command(json) as ctx, ctx.uow() as uow:
        counts = live.LiveEngine(ctx.catalog, policy=ctx.settings.policy).reconcile(uow, ctx.now())
    if json:
        emit_json(counts)
    else:
        console.print(", ".join(f"{n} {what}" for what, n in counts.items()))
