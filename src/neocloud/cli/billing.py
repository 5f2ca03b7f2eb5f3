"""`neocloud usage`, `neocloud invoice`, `neocloud revenue`: metering, invoices and the operator's views."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from neocloud.adapters import invoice_export
from neocloud.adapters.traces.csvrows import Row, integer, read_rows
from neocloud.app import billing, listings, services
from neocloud.app.pages import MAX_LIMIT, Page
from neocloud.app.ports import Incident
from neocloud.app.views import invoice_view
from neocloud.bootstrap import wall_clock
from neocloud.cli.context import command
from neocloud.cli.output import console, emit_json, emit_page, more, reported, table
from neocloud.cli.paging import DEFAULT_LIMIT, Cursor, Every, Limit, collect, remote_page
from neocloud.cli.remote import remote
from neocloud.cli.timefmt import parse_end, parse_time, show_time
from neocloud.core.billing.metering import UsageRecord
from neocloud.core.billing.periods import month
from neocloud.core.billing.rating import Outage
from neocloud.core.errors import InvalidInput, quoted

usage_app = typer.Typer(help="Metered GPU usage.", no_args_is_help=True)
invoice_app = typer.Typer(help="Invoices per tenant per calendar month.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
USAGE_COLUMNS = ["contract", "job", "milli_gpus", "start", "end"]  # optional: preempted


@usage_app.command("add")
def usage_add(
    contract: Annotated[str, typer.Option(help="Contract id.")],
    job: Annotated[str, typer.Option(help="Job id (with the start, the record's idempotency key).")],
    gpus: Annotated[int, typer.Option(help="Whole GPUs (or use --milli-gpus).")] = 0,
    milli_gpus: Annotated[int, typer.Option(help="Milli-GPUs, for shared GPUs.")] = 0,
    start: Annotated[str, typer.Option(help="ISO time, Unix seconds or now.")] = "",
    end: Annotated[str, typer.Option()] = "",
    preempted: Annotated[bool, typer.Option(help="The run ended in preemption.")] = False,
    json: Json = False,
) -> None:
    """Record one run of a job; sending the same run again records nothing."""
    with reported(json):
        if not start or not end:
            raise InvalidInput("give --start and --end")
        now = wall_clock()
        t0, t1 = parse_time(start, now), parse_time(end, now)
        run: dict[str, Any] = {"contract_id": contract, "job": job, "milli_gpus": milli_gpus or gpus * 1000}
        run |= {"start": t0, "end": t1, "preempted": preempted}
        added = _ingest([run], json)
        if json:
            emit_json({"added": added, "run": run})
        else:
            console.print(
                f"usage of {job} from {show_time(t0)}: "
                + ("recorded" if added else "already recorded, nothing changed")
            )


@usage_app.command("import")
def usage_import(
    file: Annotated[Path, typer.Argument(help="CSV: contract,job,milli_gpus,start,end[,preempted] (Unix seconds).")],
    json: Json = False,
) -> None:
    """Record many runs at once: all of them, or none if any row is bad."""

    def parse(row: Row, line: int) -> dict[str, Any]:
        flag = (row.get("preempted") or "").strip().lower()
        if flag not in ("", "0", "1", "true", "false"):
            raise ValueError(f"preempted must be true or false, got {quoted(flag)}")
        return {
            "contract_id": row["contract"].strip(),
            "job": row["job"].strip(),
            "milli_gpus": integer(row, "milli_gpus"),
            "start": integer(row, "start"),
            "end": integer(row, "end"),
            "preempted": flag in ("1", "true"),
        }

    with reported(json):
        runs, _ = read_rows(file, USAGE_COLUMNS, parse)
        added = _ingest(runs, json)
        if json:
            emit_json({"rows": len(runs), "added": added})
        else:
            console.print(f"{len(runs):,} rows read, {added:,} new usage records")


def _ingest(runs: list[dict[str, Any]], json: bool) -> int:
    """Record runs on the server or the store: all or none; returns how many were new."""
    api = remote()
    if api is not None:
        return int(api.call("POST", "/usage", json={"records": runs})["added"])
    with command(json) as ctx, ctx.uow() as uow:
        records = [
            billing.run_record(uow, r["contract_id"], r["job"], r["milli_gpus"], r["start"], r["end"], r["preempted"])
            for r in runs
        ]
        return len(billing.ingest_usage(uow, records))


@usage_app.command("list")
def usage_list(
    period: Annotated[str, typer.Option(help="YYYY-MM.")],
    tenant: Annotated[str | None, typer.Option(help="Tenant id or name.")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    every: Every = False,
    json: Json = False,
) -> None:
    """Usage records overlapping a billing period, by start."""
    with reported(json):
        span = month(period)
        api = remote()
        if api is not None:
            fetch = remote_page(api, "/usage", {"period": period, "tenant": tenant}, lambda r: UsageRecord(**r))
            page = collect(fetch, cursor, limit, every)
        else:
            with command(json) as ctx, ctx.uow() as uow:
                tenant_id = services.get_tenant(uow, tenant).id if tenant else None
                page = collect(
                    lambda c, n: listings.USAGE.fetch(
                        c, n, lambda a, k: uow.usage_between(span.start, span.end, tenant_id, after=a, limit=k)
                    ),
                    cursor,
                    limit,
                    every,
                )
        records = page.items
        if json:
            emit_page(records, page.next_cursor)
        else:
            table(
                f"usage overlapping {period}",
                ["key", "tenant", "contract", "GPUs", "start", "end", "preempted"],
                [
                    (
                        r.key,
                        r.tenant_id,
                        r.contract_id,
                        r.milli_gpus / 1000,
                        show_time(r.start),
                        show_time(r.end),
                        "yes" if r.preempted else "",
                    )
                    for r in records
                ],
            )
            more(page.next_cursor, json)


def _show_invoice(view: dict[str, Any], json: bool) -> None:
    """An invoice view (app/views.invoice_view, as the API returns it) as JSON or line by line."""
    if json:
        emit_json(view)
        return
    columns = ["contract_id", "kind", "description", "quantity", "unit", "unit_price", "amount"]
    table(
        f"invoice {view['id']}: {view['tenant_id']}, {view['period']}",
        ["contract", "kind", "description", "quantity", "unit", "unit price", "amount"],
        [tuple(line[c] for c in columns) for line in view["lines"]],
    )
    console.print(f"total: ${Decimal(view['total']):,}")


@invoice_app.command("generate")
def invoice_generate(
    tenant: Annotated[str, typer.Option(help="Tenant id or name.")],
    period: Annotated[str, typer.Option(help="YYYY-MM (a month that has ended).")],
    json: Json = False,
) -> None:
    """Rate the tenant's month and issue its invoice; the month then takes no more usage."""
    with reported(json):
        api = remote()
        if api is not None:
            view = api.call("POST", "/invoices", json={"tenant": tenant, "period": period})
        else:
            with command(json) as ctx, ctx.uow() as uow:
                view = invoice_view(billing.generate_invoice(uow, tenant, period, ctx.now(), ctx.new_id))
        _show_invoice(view, json)


@invoice_app.command("list")
def invoice_list(
    tenant: Annotated[str | None, typer.Option(help="Tenant id or name.")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    every: Every = False,
    json: Json = False,
) -> None:
    """Issued invoices, by period."""
    with reported(json):
        api = remote()
        if api is not None:
            page = collect(remote_page(api, "/invoices", {"tenant": tenant}, dict), cursor, limit, every)
        else:
            with command(json) as ctx, ctx.uow() as uow:
                tenant_id = services.get_tenant(uow, tenant).id if tenant else None
                stored = collect(
                    lambda c, n: listings.INVOICES.fetch(
                        c, n, lambda a, k: uow.list_invoices(tenant_id, after=a, limit=k)
                    ),
                    cursor,
                    limit,
                    every,
                )
                page = Page([invoice_view(i) for i in stored.items], stored.next_cursor)
        views = page.items
        if json:
            emit_page([{k: v[k] for k in ("id", "tenant_id", "period", "total")} for v in views], page.next_cursor)
        else:
            table(
                "invoices",
                ["id", "tenant", "period", "total"],
                [(v["id"], v["tenant_id"], v["period"], f"${Decimal(v['total']):,}") for v in views],
            )
            more(page.next_cursor, json)


@invoice_app.command("show")
def invoice_show(invoice_id: str, json: Json = False) -> None:
    """One invoice, line by line."""
    with reported(json):
        api = remote()
        if api is not None:
            view = api.call("GET", f"/invoices/{invoice_id}")
        else:
            with command(json) as ctx, ctx.uow() as uow:
                view = invoice_view(billing.get_invoice(uow, invoice_id))
        _show_invoice(view, json)


@invoice_app.command("export")
def invoice_export_cmd(
    invoice_id: str,
    format: Annotated[str, typer.Option("--format", help="json | csv | html")] = "html",
    output: Annotated[Path | None, typer.Option(help="File to write (default: standard output).")] = None,
) -> None:
    """Export an invoice as JSON, CSV or a printable HTML page."""
    with reported(False):
        api = remote()
        if api is not None:
            if format not in invoice_export.FORMATS:
                raise InvalidInput(f"unknown format {quoted(format)}: use json, csv or html", format=format)
            text = api.text("GET", f"/invoices/{invoice_id}/export", params={"format": format})
        else:
            with command(False) as ctx, ctx.uow() as uow:
                invoice = billing.get_invoice(uow, invoice_id)
                tenant = services.get_tenant(uow, invoice.tenant_id).name
            text, _ = invoice_export.render(invoice, format, tenant)
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text)
            console.print(f"wrote {output}")


AMOUNTS = ("amount", "committed_gpu_hours", "used_gpu_hours", "idle_gpu_hours", "idle_spot_value")


def _decimals(row: dict[str, Any]) -> dict[str, Any]:
    """An API row with its amounts (decimal strings) as Decimals again."""
    return {k: Decimal(v) if k in AMOUNTS else v for k, v in row.items()}


def revenue(
    period: Annotated[str | None, typer.Option(help="YYYY-MM (default: every invoiced month).")] = None,
    capacity: Annotated[bool, typer.Option(help="Also sold vs used reserved capacity for --period.")] = False,
    json: Json = False,
) -> None:
    """Invoiced revenue by period, tenant, contract and pool; with --capacity, idle reserved capacity (every
    page of both)."""
    with reported(json):
        if capacity and period is None:
            raise InvalidInput("--capacity needs --period")
        if period is not None:
            month(period)
        api = remote()
        if api is not None:
            fetch = remote_page(api, "/revenue", {"period": period}, lambda r: billing.RevenueRow(**_decimals(r)))
            rows = collect(fetch, None, MAX_LIMIT, every=True).items
            use = []
            if capacity:
                fetch_use = remote_page(
                    api, "/revenue/capacity", {"period": period}, lambda u: billing.CapacityUse(**_decimals(u))
                )
                use = collect(fetch_use, None, MAX_LIMIT, every=True).items
        else:
            with command(json) as ctx, ctx.uow() as uow:
                rows = billing.revenue(uow, period)
                prices = billing.spot_prices(uow, ctx.catalog)
                use = billing.sold_versus_used(uow, period, prices) if capacity and period else []
        if json:
            emit_json({"revenue": rows, "capacity": use})
            return
        table(
            "revenue",
            ["period", "tenant", "contract", "pool", "amount"],
            [(r.period, r.tenant_id, r.contract_id, r.pool, f"${r.amount:,}") for r in rows],
        )
        if capacity:
            table(
                f"reserved capacity, {period}",
                ["contract", "tenant", "committed GPU-h", "used GPU-h", "idle GPU-h", "idle at spot price"],
                [
                    (
                        u.contract_id,
                        u.tenant_id,
                        f"{u.committed_gpu_hours:,}",
                        f"{u.used_gpu_hours:,}",
                        f"{u.idle_gpu_hours:,}",
                        f"${u.idle_spot_value:,}",
                    )
                    for u in use
                ],
            )


incident_app = typer.Typer(
    help="GPUs out of service by failure: they count against SLA availability.", no_args_is_help=True
)


@incident_app.command("add")
def incident_add(
    pool: str,
    start: Annotated[str, typer.Option(help="ISO time, Unix seconds or now.")],
    end: Annotated[str, typer.Option(help="Same forms; +4h counts from the start.")],
    gpus: Annotated[int | None, typer.Option(help="GPUs down (default: all of the contracts hit).")] = None,
    contract: Annotated[str | None, typer.Option(help="Only this contract's GPUs (default: the pool).")] = None,
    description: Annotated[str, typer.Option()] = "",
    json: Json = False,
) -> None:
    """Record GPUs out of service."""
    with reported(json):
        now = wall_clock()
        start_s = parse_time(start, now)
        end_s = parse_end(end, start_s, now)
        api = remote()
        if api is not None:
            body = {"pool": pool, "start": start_s, "end": end_s, "gpus": gpus, "contract_id": contract}
            outage = Outage(**api.call("POST", "/incidents", json={**body, "description": description}))
        else:
            with command(json) as ctx, ctx.uow() as uow:
                outage = billing.record_incident(
                    uow, pool, start_s, end_s, ctx.new_id, gpus=gpus, contract_id=contract, description=description
                )
        if json:
            emit_json(outage)
        else:
            console.print(f"incident on {pool}: {show_time(outage.start)} to {show_time(outage.end)}")


@incident_app.command("list")
def incident_list(
    period: Annotated[str, typer.Option(help="YYYY-MM.")],
    pool: Annotated[list[str] | None, typer.Option(help="Pools (default: all).")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    every: Every = False,
    json: Json = False,
) -> None:
    """Incidents overlapping a month, by start."""
    with reported(json):
        span = month(period)
        api = remote()
        if api is not None:
            fetch = remote_page(api, "/incidents", {"period": period, "pool": pool or []}, lambda o: Incident(**o))
            page = collect(fetch, cursor, limit, every)
        else:
            with command(json) as ctx, ctx.uow() as uow:
                pools = pool or [p.name for p in uow.list_pools()]
                page = collect(
                    lambda c, n: listings.INCIDENTS.fetch(
                        c, n, lambda a, k: uow.list_incidents(pools, span.start, span.end, after=a, limit=k)
                    ),
                    cursor,
                    limit,
                    every,
                )
        outages = page.items
        if json:
            emit_page(outages, page.next_cursor)
        else:
            table(
                f"incidents in {period}",
                ["pool", "start", "end", "GPUs", "contract"],
                [(o.pool, show_time(o.start), show_time(o.end), o.gpus or "all", o.contract_id or "") for o in outages],
            )
            more(page.next_cursor, json)
