"""`neocloud`: the control plane from the command line. Every command takes --json.

Each command that the API serves talks to it through the client (neocloud.client): to a server with
--server, else to the local store in this process. `init`, `fleet import`, `workload step`, `serve`,
operator keys and the offline tools (simulate, bench, scenario) work on the store or on files directly.
Modules import what is heavy inside their commands, so `--help` stays quick.
"""

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer._click.exceptions import NoArgsIsHelpError

from neocloud.cli.args import Json, group
from neocloud.cli.context import Options, connect, store
from neocloud.cli.output import emit_json, fail, out, table
from neocloud.cli.tree import Root, help_of

if TYPE_CHECKING:
    from neocloud import bootstrap
    from neocloud.core.fleet import Site

app = group(help="neocloud: a control plane for GPU data-center capacity.", cls=Root)
fleet_app = group(help=help_of("fleet"))


def _version(value: bool) -> None:
    if value:
        from neocloud import __version__

        out().print(f"neocloud {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option(help="Store URL (default: $NEOCLOUD_DB_URL or a SQLite file).")] = None,
    catalog: Annotated[Path | None, typer.Option(help="YAML of GPU models to add or override.")] = None,
    server: Annotated[
        str | None, typer.Option(envvar="NEOCLOUD_SERVER", help="Talk to this neocloud server, not the local store.")
    ] = None,
    api_key: Annotated[str | None, typer.Option(envvar="NEOCLOUD_API_KEY", help="API key for --server.")] = None,
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_version, help="Print the version and exit.")
    ] = False,
) -> None:
    ctx.obj = Options(db, catalog, server, api_key)


@app.command()
def init(
    ctx: typer.Context,
    fleet: Annotated[str, typer.Option(help="A packaged fleet name or a fleet YAML file.")] = "colossus-1",
    json: Json = False,
) -> None:
    """Create the store (or bring it up to date) and load a fleet into it."""
    with store(ctx, json) as built:
        from neocloud.adapters.specs import load_fleet
        from neocloud.app import services

        sites = load_fleet(fleet, built.catalog)
        with built.uow() as uow:
            added = services.add_sites(uow, sites, built.catalog, skip_existing=True)
        result = {
            "store": built.url,
            "added": [s.name for s in added],
            "kept": [s.name for s in sites if s not in added],
        }
    if json:
        emit_json(result)
        return
    out().print(f"store: {result['store']}")
    for site in sites:
        out().print(f"site {site.name}: {site.gpus:,} GPUs ({'added' if site in added else 'already present'})")


@fleet_app.command("show")
def fleet_show(
    ctx: typer.Context,
    site: Annotated[str | None, typer.Argument(help="One site (default: all).")] = None,
    json: Json = False,
) -> None:
    """Sites with their power budget, topology and pools."""
    with connect(ctx, json) as api:
        from neocloud.core.errors import NotFound, quoted

        sites = [s for s in api.pages(api.fleet.sites, limit=1000) if site is None or s.name == site]
        if site is not None and not sites:
            raise NotFound(f"unknown site {quoted(site)}", site=site)
    if json:
        emit_json(sites)
        return
    for s in sites:
        budget = "not set" if s.power_budget_mw is None else f"{s.power_budget_mw} MW"
        headroom = "" if s.power_headroom_mw is None else f" (headroom {s.power_headroom_mw} MW)"
        policy = "" if s.oversubscription == "1" else f"; sold up to {s.oversubscription} x its limits"
        ramp = "" if s.ramp_mw_per_s is None else f"; its draw rises at most {s.ramp_mw_per_s} MW a second"
        ramp += "" if s.fall_mw_per_s is None else f"; falls at most {s.fall_mw_per_s} MW a second"
        out().print(
            f"[bold]{s.name}[/] {s.location}  {s.gpus:,} GPUs in {s.nodes:,} nodes, {s.blocks} blocks\n"
            f"  power: IT {s.it_power_mw} MW x PUE {s.pue} = {s.facility_power_mw} MW of {budget}{headroom}"
            f"{policy}{ramp}"
        )
        table(
            "block groups",
            ["group", "blocks", "racks/block", "nodes/rack", "GPU model", "GPUs/node", "GPUs"],
            [
                (g.name, g.count, g.racks, g.nodes_per_rack, g.gpu_model, g.gpus_per_node, f"{g.gpus:,}")
                for g in s.block_groups
            ],
        )
        table("pools", ["pool", "GPU model", "GPUs"], [(p.name, p.gpu_model, f"{p.gpus:,}") for p in s.pools])


@fleet_app.command("power")
def fleet_power(
    ctx: typer.Context,
    site: Annotated[str, typer.Argument(help="The site.")],
    cap: Annotated[
        list[str] | None, typer.Option("--cap", help="MODEL=WATTS: run that GPU model under this cap (repeat).")
    ] = None,
    mw: Annotated[str | None, typer.Option("--mw", help="Also: the GPUs a contract of this many MW books.")] = None,
    kind: Annotated[str, typer.Option(help="The kind of work the throughput is for: training or inference.")] = (
        "training"
    ),
    json: Json = False,
) -> None:
    """Power under caps: per GPU model what a GPU draws, how fast it runs, how many GPUs the site's budget
    (and a contract of --mw megawatts) holds, and whether the site's GPUs fit its budget at their caps."""
    with connect(ctx, json) as api:
        from neocloud.core.power import parse_caps

        shown = api.fleet.power(site, parse_caps(cap or []), mw, kind)
    if json:
        emit_json(shown)
        return
    budget = "not set" if shown.power_budget_mw is None else f"{shown.power_budget_mw} MW"
    headroom = "" if shown.power_headroom_mw is None else f", headroom {shown.power_headroom_mw} MW"
    out().print(
        f"[bold]{shown.site}[/]: at these caps its GPUs may draw {shown.facility_power_mw} MW (PUE {shown.pue}) "
        f"of {budget}{headroom}"
    )
    columns = ["GPU model", "GPUs", "cap W", "range W", "IT kW/GPU", "facility kW/GPU", "MW", f"{shown.kind} speed"]
    columns += ["GPUs in the budget"] + ([f"GPUs in {shown.contract_mw} MW"] if shown.contract_mw else [])
    rows = [
        [
            m.gpu_model, f"{m.gpus:,}", m.cap_w, f"{m.cap_range_w[0]}-{m.cap_range_w[1]}", m.it_kw_per_gpu,
            m.facility_kw_per_gpu, m.facility_power_mw, m.throughput,
            "-" if m.gpus_in_budget is None else f"{m.gpus_in_budget:,}",
            *([f"{m.gpus_for_contract:,}"] if m.gpus_for_contract is not None else []),
        ]
        for m in shown.models
    ]  # fmt: skip
    table("by GPU model", columns, rows)
    tree = [
        [n.kind, n.name, n.limit_kw, n.draw_kw, n.headroom_kw, "OVER" if n.over else "ok", n.note] for n in shown.tree
    ]
    if tree:
        table("power tree at these caps", ["level", "name", "limit kW", "draw kW", "headroom kW", "", "note"], tree)


@fleet_app.command("discover")
def fleet_discover(
    ctx: typer.Context,
    slurm_conf: Annotated[str, typer.Option("--slurm-conf", help="The Slurm cluster's slurm.conf.")],
    name: Annotated[str, typer.Option(help="Site name.")] = "slurm",
    model: Annotated[
        list[str] | None, typer.Option("--model", help="TYPE=MODEL: Slurm's GPU type as a catalog model (repeat).")
    ] = None,
    power_mw: Annotated[str | None, typer.Option("--power-mw", help="The site's power budget, MW.")] = None,
    yaml_out: Annotated[bool, typer.Option("--yaml", help="Print the site as a fleet spec; add nothing.")] = False,
    json: Json = False,
) -> None:
    """A new site from a Slurm cluster's nodes, under Slurm's names (its topology: slurm.md)."""
    with store(ctx, json) as built:
        from neocloud.adapters.slurm.discover import discover

        site = discover(slurm_conf, name, built.catalog, model or [], power_mw)
        if yaml_out:
            import yaml

            from neocloud.adapters.slurm.discover import spec_of

            sys.stdout.write(yaml.safe_dump(spec_of(site), sort_keys=False, width=120))
            return
        _add_site(built, site, "discovered", json)


@fleet_app.command("import")
def fleet_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The node list.")],
    format: Annotated[str, typer.Option("--format", help="openb | pai | spot | muri")],
    name: Annotated[str | None, typer.Option(help="Site name (default: the format's name).")] = None,
    json: Json = False,
) -> None:
    """Import a real GPU inventory from a public cluster trace as a new site."""
    with store(ctx, json) as built:
        from neocloud.adapters.inventories import import_nodes

        _add_site(built, import_nodes(format, file, built.catalog, name or format), "imported", json)


def _add_site(built: "bootstrap.Context", site: "Site", how: str, json: bool) -> None:
    """A new site into the store, and what it holds printed."""
    from neocloud.app import services
    from neocloud.app.views import site_view

    with built.uow() as uow:
        services.add_sites(uow, [site], built.catalog)
    view = site_view(site, built.catalog)
    if json:
        emit_json(view)
        return
    out().print(f"{how} site {site.name}: {site.gpus:,} GPUs in {view['nodes']:,} nodes")
    table("pools", ["pool", "GPU model", "GPUs"], [(p["name"], p["gpu_model"], p["gpus"]) for p in view["pools"]])


def main() -> None:
    """The `neocloud` command. Every error is one line on standard error (`error[code]: message`), or one JSON
    object on standard output with --json; never a traceback (NEOCLOUD_DEBUG=1 adds one, for us)."""
    as_json = "--json" in sys.argv[1:]
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        fail("aborted", "aborted", as_json)
        code = 130
    except NoArgsIsHelpError as exc:  # a group without its command: its help, as --help would show it
        out().print(exc.format_message(), highlight=False, markup=False, soft_wrap=True)
        code = 2
    except typer.TyperException as exc:  # a usage error: an unknown option, a missing or malformed value
        if exc.format_message():
            fail("invalid_input", f"{exc.format_message()} (see --help)", as_json)
        code = 2
    except Exception as exc:  # a fault of ours: say what, in one line
        if os.environ.get("NEOCLOUD_DEBUG") == "1":
            import traceback

            traceback.print_exc()
        fail("internal", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", as_json)
        code = 1
    sys.exit(code if isinstance(code, int) else 0)
