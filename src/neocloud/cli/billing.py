"""`neocloud usage`, `invoice`, `incident` and `revenue`: metering, invoices and the operator's views."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from neocloud.cli.answers import answer, answer_page, owned_list
from neocloud.cli.args import PAGE, Cursor, Every, Json, Limit, OnlyTenant, group
from neocloud.cli.context import connect
from neocloud.cli.output import emit_json, names_of, out, table
from neocloud.cli.timefmt import parse_end, parse_time, show_time
from neocloud.cli.tree import help_of
from neocloud.core.errors import InvalidInput

usage_app = group(help=help_of("usage"))
invoice_app = group(help=help_of("invoice"))
incident_app = group(help=help_of("incident"))
Period = Annotated[str, typer.Option(help="YYYY-MM.")]
USAGE_COLUMNS = ["contract", "job", "milli_gpus", "start", "end"]  # optional: preempted


@usage_app.command("add")
def usage_add(
    ctx: typer.Context,
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
    with connect(ctx, json) as api:
        from neocloud.bootstrap import wall_clock

        if not start or not end:
            raise InvalidInput("give --start and --end")
        now = wall_clock()
        t0, t1 = parse_time(start, now), parse_time(end, now)
        run = {"contract_id": contract, "job": job, "milli_gpus": milli_gpus or gpus * 1000}
        added = api.usage.add([run | {"start": t0, "end": t1, "preempted": preempted}])
    if json:
        emit_json(added)
    else:
        out().print(
            f"usage of {job} from {show_time(t0)}: "
            + ("recorded" if added.added else "already recorded, nothing changed")
        )


@usage_app.command("import")
def usage_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV: contract,job,milli_gpus,start,end[,preempted] (Unix seconds).")],
    json: Json = False,
) -> None:
    """Record many runs at once (up to 10,000): all of them, or none if any row is bad."""
    with connect(ctx, json) as api:
        from neocloud.adapters.traces.csvrows import Row, integer, read_rows

        def parse(row: Row, line: int) -> dict[str, Any]:
            flag = (row.get("preempted") or "").strip().lower()
            if flag not in ("", "0", "1", "true", "false"):
                raise ValueError(f"preempted must be true or false, got {flag[:20]!r}")
            return {
                "contract_id": row["contract"].strip(),
                "job": row["job"].strip(),
                "milli_gpus": integer(row, "milli_gpus"),
                "start": integer(row, "start"),
                "end": integer(row, "end"),
                "preempted": flag in ("1", "true"),
            }

        runs, _ = read_rows(file, USAGE_COLUMNS, parse)
        added = api.usage.add(runs)
    if json:
        emit_json(added)
    else:
        out().print(f"{added.rows:,} rows read, {added.added:,} new usage records")


@usage_app.command("list")
def usage_list(
    ctx: typer.Context,
    period: Period,
    tenant: OnlyTenant = None,
    cursor: Cursor = None,
    limit: Limit = PAGE,
    every: Every = False,
    json: Json = False,
) -> None:
    """Usage records overlapping a billing period, by start."""
    answer_page(
        ctx,
        json,
        lambda api: api.usage.list,
        (cursor, limit, every),
        lambda records, shown: table(
            f"usage overlapping {period}",
            ["key", "tenant", "contract", "GPUs", "start", "end", "preempted"],
            [
                (
                    r.key,
                    shown.get(r.tenant_id, r.tenant_id),
                    r.contract_id,
                    r.milli_gpus / 1000,
                    show_time(r.start),
                    show_time(r.end),
                    "yes" if r.preempted else "",
                )
                for r in records
            ],
        ),
        names=True,
        period=period,
        tenant=tenant,
    )


def _lines(title: str, lines: Any) -> None:
    table(
        title,
        ["contract", "kind", "description", "quantity", "unit", "unit price", "amount"],
        [(li.contract_id, li.kind, li.description, li.quantity, li.unit, li.unit_price, li.amount) for li in lines],
    )


def _show_invoice(invoice: Any, tenants: dict[str, str]) -> None:
    _lines(
        f"invoice {invoice.id}: {tenants.get(invoice.tenant_id, invoice.tenant_id)}, {invoice.period}", invoice.lines
    )
    out().print(f"total: ${Decimal(invoice.total):,}")


@invoice_app.command("generate")
def invoice_generate(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option(help="Tenant id or name.")],
    period: Annotated[str, typer.Option(help="YYYY-MM (a month that has ended).")],
    json: Json = False,
) -> None:
    """Rate the tenant's month and issue its invoice; the month then takes no more changes."""
    answer(ctx, json, lambda api: api.invoices.generate(tenant, period), _show_invoice, names=True)


owned_list(
    invoice_app,
    "Issued invoices, by period.",
    lambda api: api.invoices.list,
    lambda invoices, shown: table(
        "invoices",
        ["id", "tenant", "period", "total"],
        [(i.id, shown.get(i.tenant_id, i.tenant_id), i.period, f"${Decimal(i.total):,}") for i in invoices],
    ),
)


@invoice_app.command("show")
def invoice_show(ctx: typer.Context, invoice_id: str, json: Json = False) -> None:
    """One invoice, line by line."""
    answer(ctx, json, lambda api: api.invoices.get(invoice_id), _show_invoice, names=True)


@invoice_app.command("to-date")
def invoice_to_date(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="Tenant id or name (operators; a tenant key: its own).")] = None,
    json: Json = False,
) -> None:
    """The running bill: this month rated up to now (runs still going count up to now), before its invoice."""

    def show(bill: Any, tenants: dict[str, str]) -> None:
        _lines(f"{tenants.get(bill.tenant_id, bill.tenant_id)}, {bill.period} to {show_time(bill.end)}", bill.lines)
        out().print(f"to date: ${Decimal(bill.total):,} (the minimum-spend true-up, if any, comes with the invoice)")

    answer(ctx, json, lambda api: api.invoices.to_date(tenant), show, names=True)


@invoice_app.command("export")
def invoice_export(
    ctx: typer.Context,
    invoice_id: str,
    format: Annotated[str, typer.Option("--format", help="json | csv | html")] = "html",
    output: Annotated[Path | None, typer.Option(help="File to write (default: standard output).")] = None,
) -> None:
    """Export an invoice as JSON, CSV or a printable HTML page."""
    with connect(ctx, False) as api:
        text = api.invoices.export(invoice_id, format)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        out().print(f"wrote {output}")


def revenue(
    ctx: typer.Context,
    period: Annotated[str | None, typer.Option(help="YYYY-MM (default: every invoiced month).")] = None,
    capacity: Annotated[bool, typer.Option(help="Also sold vs used reserved capacity for --period.")] = False,
    json: Json = False,
) -> None:
    """Invoiced revenue by period, tenant, contract and pool; with --capacity, idle reserved capacity (every
    page of both)."""
    with connect(ctx, json) as api:
        if capacity and period is None:
            raise InvalidInput("--capacity needs --period")
        rows = list(api.pages(api.revenue.list, period=period, limit=1000))
        use = list(api.pages(api.revenue.capacity, period=period, limit=1000)) if capacity and period else []
        shown = names_of(api) if not json else {}
    if json:
        emit_json({"revenue": rows, "capacity": use})
        return
    table(
        "revenue",
        ["period", "tenant", "contract", "pool", "amount"],
        [
            (r.period, shown.get(r.tenant_id, r.tenant_id), r.contract_id, r.pool, f"${Decimal(r.amount):,}")
            for r in rows
        ],
    )
    if capacity:
        table(
            f"reserved capacity, {period}",
            ["contract", "tenant", "committed GPU-h", "used GPU-h", "idle GPU-h", "idle at spot price"],
            [
                (
                    u.contract_id,
                    shown.get(u.tenant_id, u.tenant_id),
                    f"{Decimal(u.committed_gpu_hours):,}",
                    f"{Decimal(u.used_gpu_hours):,}",
                    f"{Decimal(u.idle_gpu_hours):,}",
                    f"${Decimal(u.idle_spot_value):,}",
                )
                for u in use
            ],
        )


@incident_app.command("add")
def incident_add(
    ctx: typer.Context,
    pool: str,
    start: Annotated[str, typer.Option(help="ISO time, Unix seconds or now.")],
    end: Annotated[str, typer.Option(help="Same forms; +4h counts from the start.")],
    gpus: Annotated[int | None, typer.Option(help="GPUs down (default: all of the contracts hit).")] = None,
    contract: Annotated[str | None, typer.Option(help="Only this contract's GPUs (default: the pool).")] = None,
    description: Annotated[str, typer.Option()] = "",
    json: Json = False,
) -> None:
    """Record GPUs out of service."""
    with connect(ctx, json) as api:
        from neocloud.bootstrap import wall_clock

        now = wall_clock()
        start_s = parse_time(start, now)
        outage = api.incidents.add(
            pool=pool,
            start=start_s,
            end=parse_end(end, start_s, now),
            gpus=gpus,
            contract_id=contract,
            description=description,
        )
    if json:
        emit_json(outage)
    else:
        out().print(f"incident on {pool}: {show_time(outage.start)} to {show_time(outage.end)}")


@incident_app.command("availability")
def incident_availability(ctx: typer.Context, period: Period, json: Json = False) -> None:
    """Each contract with an SLA: its measured availability in the month (to now, this month) against the
    uptime it promises (every page)."""
    with connect(ctx, json) as api:
        rows = list(api.pages(api.revenue.availability, period=period, limit=1000))
        shown = names_of(api) if not json else {}
    if json:
        emit_json(rows)
        return
    table(
        f"SLA availability, {period}",
        ["contract", "tenant", "pool", "GPUs", "promised", "measured", "met"],
        [
            (
                a.contract_id,
                shown.get(a.tenant_id, a.tenant_id),
                a.pool,
                f"{a.gpus:,}",
                f"{Decimal(a.promised):.3%}",
                f"{Decimal(a.measured):.3%}",
                "yes" if a.met else "no",
            )
            for a in rows
        ],
    )


@incident_app.command("list")
def incident_list(
    ctx: typer.Context,
    period: Period,
    pool: Annotated[list[str] | None, typer.Option(help="Pools (default: all).")] = None,
    cursor: Cursor = None,
    limit: Limit = PAGE,
    every: Every = False,
    json: Json = False,
) -> None:
    """Incidents overlapping a month, by start."""
    answer_page(
        ctx,
        json,
        lambda api: api.incidents.list,
        (cursor, limit, every),
        lambda incidents, _: table(
            f"incidents in {period}",
            ["pool", "start", "end", "GPUs", "contract"],
            [(o.pool, show_time(o.start), show_time(o.end), o.gpus or "all", o.contract_id or "") for o in incidents],
        ),
        period=period,
        pools=pool,
    )
