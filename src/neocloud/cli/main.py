"""`neocloud`: the capacity core from the command line. Every command takes --json."""

from __future__ import annotations

import os
import sys
import traceback
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Annotated

import typer

from neocloud import bootstrap
from neocloud.adapters.inventories import import_nodes
from neocloud.adapters.specs import DEFAULT_FLEET, load_fleet
from neocloud.app import billing, listings, services
from neocloud.app.pages import MAX_LIMIT
from neocloud.app.views import plain
from neocloud.bootstrap import wall_clock
from neocloud.cli.bench import bench_app
from neocloud.cli.billing import incident_app, invoice_app, revenue, usage_app
from neocloud.cli.commercial import agreement_app, limit_app
from neocloud.cli.context import command, settings
from neocloud.cli.output import console, emit_json, emit_page, fail, more, reported, table
from neocloud.cli.paging import DEFAULT_LIMIT, Cursor, Every, Limit, collect, remote_page
from neocloud.cli.remote import Remote, contract_of, hold_of, remote
from neocloud.cli.scenario import scenario_app
from neocloud.cli.serve import key_app, serve
from neocloud.cli.simulate import simulate_app
from neocloud.cli.timefmt import after, parse_duration, parse_end, parse_time, show_time
from neocloud.cli.workloads import workload_app
from neocloud.core.billing.invoice import BillingTerms
from neocloud.core.bounds import MAX_MONEY, MAX_RATE, PLACES, parse_decimal
from neocloud.core.contracts import Contract, ContractKind, Tenant, TenantKind
from neocloud.core.errors import InvalidInput, NotFound, quoted
from neocloud.core.fleet import Site
from neocloud.core.ledger import ProfileStep

app = typer.Typer(
    help="neocloud: a control plane for GPU data-center capacity.", no_args_is_help=True, pretty_exceptions_enable=False
)
fleet_app = typer.Typer(help="Sites, blocks, nodes and pools.", no_args_is_help=True)
tenant_app = typer.Typer(help="Internal teams and external customers.", no_args_is_help=True)
contract_app = typer.Typer(help="Reserved, on-demand, spot and internal contracts.", no_args_is_help=True)
capacity_app = typer.Typer(help="Free capacity, profiles and earliest starts from the ledger.", no_args_is_help=True)
maintenance_app = typer.Typer(help="Take GPUs out of service for a time.", no_args_is_help=True)
for sub, name in [
    (fleet_app, "fleet"),
    (tenant_app, "tenant"),
    (contract_app, "contract"),
    (capacity_app, "capacity"),
    (maintenance_app, "maintenance"),
    (bench_app, "bench"),
    (simulate_app, "simulate"),
    (usage_app, "usage"),
    (invoice_app, "invoice"),
    (incident_app, "incident"),
    (key_app, "key"),
    (workload_app, "workload"),
    (scenario_app, "scenario"),
    (agreement_app, "agreement"),
    (limit_app, "limit"),
]:
    app.add_typer(sub, name=name)

app.command("revenue")(revenue)
app.command("serve")(serve)
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _version(value: bool) -> None:
    if value:
        console.print(f"neocloud {metadata.version('neocloud')}")
        raise typer.Exit()


@app.callback()
def _main(
    db: Annotated[str | None, typer.Option(help="Store URL (default: $NEOCLOUD_DB_URL or a SQLite file).")] = None,
    catalog: Annotated[Path | None, typer.Option(help="YAML of GPU models to add or override.")] = None,
    server: Annotated[str | None, typer.Option(help="Talk to this neocloud server (or $NEOCLOUD_SERVER).")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key for --server (or $NEOCLOUD_API_KEY).")] = None,
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_version, help="Print the version and exit.")
    ] = False,
) -> None:
    settings["db"] = db
    settings["catalog"] = catalog
    settings["server"] = server
    settings["api_key"] = api_key


def _decimal(text: str | None, what: str, *, high: Decimal = MAX_RATE, places: int = PLACES) -> Decimal | None:
    return None if text is None else parse_decimal(text, what, high=high, places=places)


# init and fleet ---------------------------------------------------------------------------------------


@app.command()
def init(
    fleet: Annotated[str, typer.Option(help="A packaged fleet name or a fleet YAML file.")] = DEFAULT_FLEET,
    json: Json = False,
) -> None:
    """Create the store (or bring it up to date) and load a fleet into it."""
    with command(json) as ctx:
        sites = load_fleet(fleet, ctx.catalog)
        with ctx.uow() as uow:
            added = services.add_sites(uow, sites, ctx.catalog, skip_existing=True)
        result = {"store": ctx.url, "added": [s.name for s in added], "kept": [s.name for s in sites if s not in added]}
        if json:
            emit_json(result)
            return
        console.print(f"store: {ctx.url}")
        for site in sites:
            state = "added" if site in added else "already present"
            console.print(f"site {site.name}: {site.gpus:,} GPUs ({state})")


def _site_summary(site: Site, ctx: bootstrap.Context) -> dict[str, object]:
    demand = site.facility_power_mw(ctx.catalog)
    return {
        "site": site.name,
        "location": site.location,
        "gpus": site.gpus,
        "nodes": sum(g.nodes for g in site.blocks),
        "blocks": sum(g.count for g in site.blocks),
        "power_budget_mw": site.power_mw,
        "it_power_mw": (site.it_power_kw(ctx.catalog) / 1000).quantize(Decimal("0.001")),
        "pue": site.pue,
        "facility_power_mw": demand.quantize(Decimal("0.001")),
        "power_headroom_mw": None if site.power_mw is None else (site.power_mw - demand).quantize(Decimal("0.001")),
        "block_groups": site.blocks,
        "pools": site.pools(),
    }


@fleet_app.command("show")
def fleet_show(
    site: Annotated[str | None, typer.Argument(help="One site (default: all).")] = None, json: Json = False
) -> None:
    """Sites with their power budget, topology and pools (against a server: as its API shows them)."""
    api = remote()
    if api is not None:
        with reported(json):
            _remote_fleet(api, site, json)
        return
    with command(json) as ctx:
        with ctx.uow() as uow:
            sites = [s for s in uow.list_sites() if site is None or s.name == site]
        if site is not None and not sites:
            raise NotFound(f"unknown site {quoted(site)}", site=site)
        summaries = [_site_summary(s, ctx) for s in sites]
        if json:
            emit_json(summaries)
            return
        for s, summary in zip(sites, summaries, strict=True):
            budget = "not set" if s.power_mw is None else f"{s.power_mw} MW"
            console.print(
                f"[bold]{s.name}[/] {s.location}  {s.gpus:,} GPUs in {summary['nodes']:,} nodes,"
                f" {summary['blocks']} blocks\n  power: IT {summary['it_power_mw']} MW x PUE {s.pue}"
                f" = {summary['facility_power_mw']} MW of {budget}"
                + ("" if s.power_mw is None else f" (headroom {summary['power_headroom_mw']} MW)")
            )
            table(
                "block groups",
                ["group", "blocks", "racks/block", "nodes/rack", "GPU model", "GPUs/node", "GPUs"],
                [
                    (g.name, g.count, g.racks, g.nodes_per_rack, g.node.gpu_model, g.node.gpus, f"{g.gpus:,}")
                    for g in s.blocks
                ],
            )
            table("pools", ["pool", "GPU model", "GPUs"], [(p.name, p.gpu_model, f"{p.gpus:,}") for p in s.pools()])


def _remote_fleet(api: Remote, site: str | None, json: bool) -> None:
    every_site = collect(remote_page(api, "/sites", {}, dict), None, MAX_LIMIT, every=True).items
    sites = [s for s in every_site if site is None or s["name"] == site]
    if site is not None and not sites:
        raise NotFound(f"unknown site {quoted(site)}", site=site)
    pools = collect(remote_page(api, "/pools", {}, dict), None, MAX_LIMIT, every=True).items
    for s in sites:
        s["pools"] = [p for p in pools if p["site"] == s["name"]]
    if json:
        emit_json(sites)
        return
    for s in sites:
        console.print(
            f"[bold]{s['name']}[/] {s['location']}  {s['gpus']:,} GPUs; facility power {s['facility_power_mw']} MW"
            f" of {s['power_mw'] or 'no set budget'}"
        )
        table(
            "pools", ["pool", "GPU model", "GPUs"], [(p["name"], p["gpu_model"], f"{p['gpus']:,}") for p in s["pools"]]
        )


@fleet_app.command("import")
def fleet_import(
    file: Annotated[Path, typer.Argument(help="The node list.")],
    format: Annotated[str, typer.Option("--format", help="openb | pai | spot | muri")],
    name: Annotated[str | None, typer.Option(help="Site name (default: the format's name).")] = None,
    json: Json = False,
) -> None:
    """Import a real GPU inventory from a public cluster trace as a new site."""
    with command(json) as ctx:
        site = import_nodes(format, file, ctx.catalog, name or format)
        with ctx.uow() as uow:
            services.add_sites(uow, [site], ctx.catalog)
        if json:
            emit_json(_site_summary(site, ctx))
            return
        console.print(f"imported site {site.name}: {site.gpus:,} GPUs in {sum(g.nodes for g in site.blocks):,} nodes")
        table("pools", ["pool", "GPU model", "GPUs"], [(p.name, p.gpu_model, p.gpus) for p in site.pools()])


# tenants ----------------------------------------------------------------------------------------------


@tenant_app.command("add")
def tenant_add(
    name: str,
    internal: Annotated[bool, typer.Option("--internal", help="An internal team (default: external).")] = False,
    json: Json = False,
) -> None:
    """Add a tenant."""
    kind = TenantKind.INTERNAL if internal else TenantKind.EXTERNAL
    with reported(json):
        api = remote()
        if api is not None:
            tenant = Tenant(**api.call("POST", "/tenants", json={"name": name, "kind": kind.value}))
        else:
            with command(json) as ctx, ctx.uow() as uow:
                tenant = services.add_tenant(uow, name, kind, ctx.new_id)
        if json:
            emit_json(tenant)
        else:
            console.print(f"tenant {tenant.name} ({tenant.kind}) added as {tenant.id}")


@tenant_app.command("list")
def tenant_list(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT, every: Every = False, json: Json = False) -> None:
    """List tenants, by name."""
    with reported(json):
        api = remote()
        if api is not None:
            page = collect(remote_page(api, "/tenants", {}, lambda t: Tenant(**t)), cursor, limit, every)
        else:
            with command(json) as ctx, ctx.uow() as uow:
                fetch = listings.TENANTS.fetch
                page = collect(
                    lambda c, n: fetch(c, n, lambda a, k: uow.list_tenants(after=a, limit=k)), cursor, limit, every
                )
        if json:
            emit_page(page.items, page.next_cursor)
        else:
            table("tenants", ["id", "name", "kind"], [(t.id, t.name, t.kind) for t in page.items])
            more(page.next_cursor, json)


# contracts --------------------------------------------------------------------------------------------


def _contract_rows(contracts: list[Contract]) -> list[tuple[object, ...]]:
    return [
        (
            c.id,
            c.tenant_id,
            c.kind,
            c.pool,
            f"{c.gpus:,}" if c.gpus else "",
            show_time(c.start),
            show_time(c.end),
            format(c.price_per_gpu_hour.normalize(), "f"),
            c.status,
        )
        for c in contracts
    ]


CONTRACT_COLUMNS = ["id", "tenant", "kind", "pool", "GPUs", "start", "end", "$/GPU-h", "status"]


@contract_app.command("sign")
def contract_sign(
    tenant: Annotated[str, typer.Option(help="Tenant id or name.")],
    pool: Annotated[str, typer.Option(help="Pool, e.g. colossus-1/h100-sxm.")],
    start: Annotated[str, typer.Option(help="now, +7d, Unix seconds or ISO date (UTC).")],
    end: Annotated[str, typer.Option(help="Same forms as --start; +TERM counts from the start.")] = "",
    term: Annotated[str | None, typer.Option(help="Length instead of --end: 30d, 6mo, 3y (calendar).")] = None,
    kind: Annotated[ContractKind, typer.Option(help="reserved | on-demand | spot | internal")] = ContractKind.RESERVED,
    gpus: Annotated[int, typer.Option(help="Committed GPUs (reserved, internal).")] = 0,
    price: Annotated[str | None, typer.Option(help="$/GPU-hour (default: agreement, else rate card).")] = None,
    take_or_pay: Annotated[bool | None, typer.Option(help="Reserved: bill the commitment used or not.")] = None,
    notice_days: Annotated[int | None, typer.Option(help="Termination notice, days.")] = None,
    sla: Annotated[str | None, typer.Option(help="Monthly uptime commitment, e.g. 0.99.")] = None,
    overage_price: Annotated[str | None, typer.Option(help="Reserved: $/GPU-hour above the commitment.")] = None,
    preemption_notice: Annotated[int | None, typer.Option(help="Spot: preemption notice, seconds.")] = None,
    json: Json = False,
) -> None:
    """Sign a contract. Reserved and internal contracts book their GPUs in the ledger, or are refused.

    Terms not given come from the tenant's price agreement for the pool and kind, else from the rate card
    (against a server, only operator keys may give terms)."""
    with reported(json):
        now = wall_clock()
        start_s = parse_time(start, now)
        if term is not None:
            end_s = after(start_s, term)
        elif end:
            end_s = parse_end(end, start_s, now)
        else:
            raise InvalidInput("give --end or --term")
        request = services.ContractRequest(
            tenant=tenant,
            kind=kind,
            pool=pool,
            start=start_s,
            end=end_s,
            gpus=gpus,
            price_per_gpu_hour=_decimal(price, "--price"),
            take_or_pay=take_or_pay,
            termination_notice_days=notice_days,
            sla_uptime=_decimal(sla, "--sla", high=Decimal(1)),
            overage_per_gpu_hour=_decimal(overage_price, "--overage-price"),
            preemption_notice_s=preemption_notice,
        )
        api = remote()
        if api is not None:
            given = {k: v for k, v in plain(request).items() if v is not None}
            contract = contract_of(api.call("POST", "/contracts", json=given))
        else:
            with command(json) as ctx, ctx.uow() as uow:
                contract = services.sign_contract(uow, request, ctx.catalog, ctx.new_id, ctx.now())
        if json:
            emit_json(contract)
        else:
            table("contract signed", CONTRACT_COLUMNS, _contract_rows([contract]))


@contract_app.command("list")
def contract_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (id or name).")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    every: Every = False,
    json: Json = False,
) -> None:
    """List contracts, by start."""
    with reported(json):
        api = remote()
        if api is not None:
            page = collect(remote_page(api, "/contracts", {"tenant": tenant}, contract_of), cursor, limit, every)
        else:
            with command(json) as ctx, ctx.uow() as uow:
                tenant_id = services.get_tenant(uow, tenant).id if tenant else None
                page = collect(
                    lambda c, n: listings.CONTRACTS.fetch(
                        c, n, lambda a, k: uow.list_contracts(tenant_id, after=a, limit=k)
                    ),
                    cursor,
                    limit,
                    every,
                )
        if json:
            emit_page(page.items, page.next_cursor)
        else:
            table("contracts", CONTRACT_COLUMNS, _contract_rows(page.items))
            more(page.next_cursor, json)


@contract_app.command("cancel")
def contract_cancel(contract_id: str, json: Json = False) -> None:
    """Cancel a contract; its GPUs go back when the termination notice runs out."""
    with reported(json):
        api = remote()
        if api is not None:
            contract = contract_of(api.call("POST", f"/contracts/{contract_id}/cancel"))
        else:
            with command(json) as ctx, ctx.uow() as uow:
                contract = services.cancel_contract(uow, contract_id, ctx.now())
        if json:
            emit_json(contract)
        else:
            table("contract cancelled", CONTRACT_COLUMNS, _contract_rows([contract]))


@contract_app.command("extend")
def contract_extend(
    contract_id: str,
    end: Annotated[str, typer.Option(help="New end: ISO date, Unix seconds or +DURATION.")],
    json: Json = False,
) -> None:
    """Extend a contract's term; refused if its GPUs are not free for the extra time."""
    with reported(json):
        api = remote()
        if api is not None:
            current = contract_of(api.call("GET", f"/contracts/{contract_id}"))
            new_end = parse_end(end, current.end, wall_clock())
            contract = contract_of(api.call("POST", f"/contracts/{contract_id}/extend", json={"end": new_end}))
        else:
            with command(json) as ctx, ctx.uow() as uow:
                current = services.get_contract(uow, contract_id)
                new_end = parse_end(end, current.end, ctx.now())
                contract = services.extend_contract(uow, contract_id, new_end)
        if json:
            emit_json(contract)
        else:
            table("contract extended", CONTRACT_COLUMNS, _contract_rows([contract]))


@contract_app.command("terms")
def contract_terms(
    contract_id: str,
    minimum: Annotated[str, typer.Option(help="Minimum spend per month, USD.")] = "0",
    prepaid: Annotated[str, typer.Option(help="Prepaid balance to draw down, USD.")] = "0",
    json: Json = False,
) -> None:
    """Set a contract's money terms: a monthly minimum and a prepaid balance."""
    with reported(json):
        low = _decimal(minimum, "--minimum", high=MAX_MONEY, places=2) or Decimal(0)
        ahead = _decimal(prepaid, "--prepaid", high=MAX_MONEY, places=2) or Decimal(0)
        api = remote()
        if api is not None:
            body = {"minimum_per_period": str(low), "prepaid_balance": str(ahead)}
            got = api.call("PUT", f"/contracts/{contract_id}/terms", json=body)
            terms = BillingTerms(Decimal(got["minimum_per_period"]), Decimal(got["prepaid_balance"]))
        else:
            with command(json) as ctx, ctx.uow() as uow:
                terms = billing.set_billing_terms(uow, contract_id, low, ahead)
        if json:
            emit_json({"contract": contract_id, "terms": terms})
        else:
            console.print(
                f"contract {contract_id}: minimum ${terms.minimum_per_period:,}/month, "
                f"prepaid ${terms.prepaid_balance:,}"
            )


# capacity ---------------------------------------------------------------------------------------------


def _window(start: str, end: str, now: int) -> tuple[int, int]:
    s = parse_time(start, now)
    return s, parse_end(end, s, now)


@capacity_app.command("free")
def capacity_free(
    pool: str,
    start: Annotated[str, typer.Option()] = "now",
    end: Annotated[str, typer.Option()] = "+30d",
    json: Json = False,
) -> None:
    """GPUs free over the whole window (the minimum of the free profile)."""
    with reported(json):
        s, e = _window(start, end, wall_clock())
        api = remote()
        if api is not None:
            free = api.call("GET", "/capacity/free", params={"pool": pool, "start": s, "end": e})["free"]
        else:
            with command(json) as ctx, ctx.uow() as uow:
                free = services.free_capacity(uow, pool, s, e)
        if json:
            emit_json({"pool": pool, "start": s, "end": e, "free": free})
        else:
            console.print(f"{pool}: {free:,} GPUs free from {show_time(s)} to {show_time(e)}")


@capacity_app.command("profile")
def capacity_profile(
    pool: str,
    start: Annotated[str, typer.Option()] = "now",
    end: Annotated[str, typer.Option()] = "+365d",
    json: Json = False,
) -> None:
    """The pool's capacity step function: installed, in maintenance, held and free, step by step."""
    with reported(json):
        s, e = _window(start, end, wall_clock())
        api = remote()
        if api is not None:
            fetch = remote_page(
                api,
                "/capacity/profile",
                {"pool": pool, "start": s, "end": e},
                lambda p: ProfileStep(**{k: v for k, v in p.items() if k != "free"}),
            )
            steps = collect(fetch, None, MAX_LIMIT, every=True).items  # the window bounds the steps
        else:
            with command(json) as ctx, ctx.uow() as uow:
                steps = services.capacity_profile(uow, pool, s, e)
        if json:
            emit_json(
                [
                    {
                        **{k: getattr(p, k) for k in ("start", "end", "installed", "maintenance", "held")},
                        "capacity": p.capacity,
                        "free": p.free,
                    }
                    for p in steps
                ]
            )
        else:
            table(
                f"capacity profile of {pool}",
                ["from", "to", "installed", "maintenance", "held", "free"],
                [
                    (
                        show_time(p.start),
                        show_time(p.end),
                        f"{p.installed:,}",
                        f"{p.maintenance:,}",
                        f"{p.held:,}",
                        f"{p.free:,}",
                    )
                    for p in steps
                ],
            )


@capacity_app.command("earliest")
def capacity_earliest(
    pool: str,
    gpus: Annotated[int, typer.Option()],
    duration: Annotated[str, typer.Option(help="e.g. 7d, 4h")],
    not_before: Annotated[str, typer.Option()] = "now",
    json: Json = False,
) -> None:
    """The earliest time `gpus` GPUs are free for `duration`."""
    with reported(json):
        t0, d = parse_time(not_before, wall_clock()), parse_duration(duration)
        api = remote()
        if api is not None:
            params = {"pool": pool, "gpus": gpus, "duration": d, "not_before": t0}
            t = api.call("GET", "/capacity/earliest", params=params)["start"]
        else:
            with command(json) as ctx, ctx.uow() as uow:
                t = services.earliest_start(uow, pool, gpus, d, t0)
        if json:
            emit_json({"pool": pool, "gpus": gpus, "duration": d, "not_before": t0, "start": t, "end": t + d})
        else:
            console.print(f"{pool}: {gpus:,} GPUs for {duration} can start at {show_time(t)}")


# maintenance ------------------------------------------------------------------------------------------


@maintenance_app.command("add")
def maintenance_add(
    pool: str,
    gpus: Annotated[int, typer.Option()],
    start: Annotated[str, typer.Option()],
    end: Annotated[str, typer.Option()],
    json: Json = False,
) -> None:
    """Take GPUs out of service; refused where they are already sold."""
    with reported(json):
        s, e = _window(start, end, wall_clock())
        api = remote()
        if api is not None:
            hold = hold_of(api.call("POST", "/maintenance", json={"pool": pool, "gpus": gpus, "start": s, "end": e}))
        else:
            with command(json) as ctx, ctx.uow() as uow:
                hold = services.schedule_maintenance(uow, pool, gpus, s, e, ctx.new_id)
        if json:
            emit_json(hold)
        else:
            console.print(f"maintenance {hold.id}: {gpus:,} GPUs of {pool} from {show_time(s)} to {show_time(e)}")


@maintenance_app.command("list")
def maintenance_list(
    pool: str, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT, every: Every = False, json: Json = False
) -> None:
    """All holds on a pool, maintenance and contracts, by start."""
    with reported(json):
        api = remote()
        if api is not None:
            page = collect(remote_page(api, "/holds", {"pool": pool}, hold_of), cursor, limit, every)
        else:
            with command(json) as ctx, ctx.uow() as uow:
                holds = services.list_holds(uow, pool)
            page = collect(lambda c, n: listings.HOLDS.of(c, n, holds), cursor, limit, every)
        if json:
            emit_page(page.items, page.next_cursor)
        else:
            table(
                f"holds on {pool}",
                ["id", "kind", "GPUs", "start", "end", "contract"],
                [
                    (h.id, h.kind, f"{h.gpus:,}", show_time(h.start), show_time(h.end), h.contract_id)
                    for h in page.items
                ],
            )
            more(page.next_cursor, json)


@maintenance_app.command("cancel")
def maintenance_cancel(pool: str, hold_id: str, json: Json = False) -> None:
    """Put GPUs back in service."""
    with reported(json):
        api = remote()
        if api is not None:
            hold = hold_of(api.call("POST", f"/maintenance/{hold_id}/cancel", params={"pool": pool}))
        else:
            with command(json) as ctx, ctx.uow() as uow:
                hold = services.cancel_maintenance(uow, pool, hold_id)
        if json:
            emit_json(hold)
        else:
            console.print(f"maintenance {hold.id} cancelled")


def main() -> None:
    """The `neocloud` command. Every error is one line on standard error (`error[code]: message`), or one JSON
    object on standard output with --json; never a traceback (NEOCLOUD_DEBUG=1 adds one, for us)."""
    as_json = "--json" in sys.argv[1:]
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        fail("aborted", "aborted", as_json)
        code = 130
    except typer.TyperException as exc:  # a usage error: an unknown option, a missing or malformed value
        if exc.format_message():  # empty after a group's help, shown for a missing command
            fail("invalid_input", f"{exc.format_message()} (see --help)", as_json)
        code = 2
    except Exception as exc:  # a fault of ours: say what, in one line
        if os.environ.get("NEOCLOUD_DEBUG") == "1":
            traceback.print_exc()
        fail("internal", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", as_json)
        code = 1
    sys.exit(code if isinstance(code, int) else 0)
