"""`neocloud scenario`: rent it out or keep it, on the default colossus-1 scenario or a file over it."""

import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from neocloud.cli import output
from neocloud.cli.args import group
from neocloud.cli.output import emit_json, reported, table
from neocloud.cli.tree import help_of

if TYPE_CHECKING:
    from neocloud.adapters.scenario_spec import LoadedScenario
    from neocloud.sim.scenario import ScenarioResult, SweepPoint

scenario_app = group(help=help_of("scenario"))

File = Annotated[Path | None, typer.Argument(help="Scenario YAML over the default (colossus-1); none: the default.")]
Traces = Annotated[
    Path | None,
    typer.Option(
        envvar="NEOCLOUD_TRACES", help="Folder of public traces for relative trace paths [default: ../shared/traces]."
    ),
]
Out = Annotated[Path, typer.Option(help="Folder for report.html and report.json.")]
Json = Annotated[bool, typer.Option("--json", help="Print the results as JSON instead of a summary.")]
RayAddress = Annotated[
    str | None,
    typer.Option(
        help="Run the sweep and the futures on this Ray cluster (e.g. auto, ray://host:10001); default: local."
    ),
]
Cpus = Annotated[
    int | None,
    typer.Option(help="Processes for the simulations, and local Ray workers for the sweep (default: every core)."),
]


def _summary(result: "ScenarioResult") -> None:
    from neocloud.adapters.scenario_report import SUMMARY_COLUMNS, cell, decision_text, summary_rows

    rows = [[cell(v, places=0) for v in row] for row in summary_rows(result)]
    table(f"{result.scenario.name}: strategies over {len(result.scenario.months)} months", SUMMARY_COLUMNS, rows)
    tornado = [
        [w.name, f"{w.low} / {w.high}", f"{w.at_low / 10**9:,.2f}", f"{w.at_high / 10**9:,.2f}"] for w in result.tornado
    ]
    table("Renting all's value over keeping all, USD billions", ["assumption", "moved", "low", "high"], tornado)
    output.out().print(decision_text(result), highlight=False)
    if result.portfolio is not None:
        from neocloud.adapters.scenario_report import PORTFOLIO_COLUMNS, portfolio_rows, portfolio_text

        p = result.portfolio
        rows = [[cell(v, places=0) for v in row] for row in portfolio_rows(p, result.scenario.discount_rate)]
        table("Several sites: which to rent, which to keep", PORTFOLIO_COLUMNS, rows)
        output.out().print(portfolio_text(p), highlight=False)


def _sweep(loaded: "LoadedScenario", ray_address: str | None, cpus: int | None, quiet: bool) -> "list[SweepPoint]":
    from neocloud.adapters.sweep import run_sweep

    cells = len({(f, d) for d in loaded.sweep.demand_factors for f in (0, *loaded.sweep.rent_fractions)})
    from rich.progress import Progress

    with Progress(console=output.out(), transient=True, disable=quiet) as bar:
        task = bar.add_task(f"sweep: {cells} simulations on Ray", total=cells)
        return run_sweep(
            loaded.scenario, loaded.sweep, ray_address, cpus, lambda done, _: bar.update(task, completed=done)
        )


def _write(out: Path, name: str, text: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    path.write_text(text)
    return path


@scenario_app.command("run")
def run_command(
    file: File = None,
    traces: Traces = None,
    out: Out = Path("scenario-report"),
    sweep: Annotated[
        bool, typer.Option(help="Add the price x fraction x demand sweep (on Ray) to the report.")
    ] = False,
    ray_address: RayAddress = None,
    cpus: Cpus = None,
    paths: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=100_000,
            help="Also price every strategy on this many possible futures (on Ray); 0: the single future only "
            "[default: the scenario's uncertainty.paths].",
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """Compare the strategies: money by month, utilization, internal delays, SLA credits, the breakeven shadow
    price and a tornado, and with --paths their odds over possible futures; write a self-contained HTML report
    and its JSON."""
    with reported(as_json):
        from neocloud.adapters.extras import require_extra
        from neocloud.adapters.scenario_spec import load_scenario

        loaded = load_scenario(file, traces)
        uncertain = (paths if paths is not None else loaded.uncertainty.paths) > 0
        mix = ["highspy"] if uncertain and loaded.uncertainty.mix else []
        require_extra("scenario", "the scenario report", "matplotlib", *(["ray"] if sweep or uncertain else []), *mix)
        from rich.progress import Progress

        from neocloud.adapters.scenario_paths import run_loaded
        from neocloud.adapters.scenario_report import render_html, result_json
        from neocloud.app.views import plain

        with Progress(console=output.out(), transient=True, disable=as_json) as bar:
            task = bar.add_task("simulating, one process per core", total=None)

            def step(what: str, done: int, total: int) -> None:
                bar.update(task, description=f"{what} {done} of {total}", completed=done, total=total)

            result, odds = run_loaded(loaded, paths, cpus, ray_address, step)
        points = _sweep(loaded, ray_address, cpus, as_json) if sweep else []
        data = result_json(loaded, result, points, odds)
        report = _write(out, "report.html", render_html(loaded, result, points, odds))
        _write(out, "report.json", json.dumps(plain(data), indent=2) + "\n")
    if as_json:
        emit_json(data)
        return
    _summary(result)
    if odds is not None:
        from neocloud.adapters.scenario_report import ODDS_COLUMNS, buyer_text, cell, mix_text, odds_rows, odds_text

        rows = [[cell(v, places=0) for v in row] for row in odds_rows(odds)]
        table(f"Over {odds.paths:,} possible futures", ODDS_COLUMNS, rows)
        output.out().print(odds_text(odds), highlight=False)
        if odds.portfolio is not None:
            from neocloud.adapters.scenario_report import sites_odds_text

            rows = [[cell(v, places=0) for v in row] for row in odds_rows(odds, odds.portfolio)]
            table(f"Several sites over {odds.paths:,} possible futures", ("choice of sites", *ODDS_COLUMNS[1:]), rows)
            output.out().print(sites_odds_text(odds.portfolio), highlight=False)
        if odds.mix is not None:
            output.out().print(mix_text(odds.mix), highlight=False)
        if odds.buyer is not None:
            output.out().print(buyer_text(odds.buyer), highlight=False)
    output.out().print(f"report: {report} (and report.json)", highlight=False)


@scenario_app.command("sweep")
def sweep_command(
    file: File = None,
    traces: Traces = None,
    out: Out = Path("scenario-report"),
    ray_address: RayAddress = None,
    cpus: Cpus = None,
    as_json: Json = False,
) -> None:
    """Only the sweep: every lease price x share rented x demand of the scenario's `sweep`, in parallel on
    Ray; prints each point's value over keeping all and writes sweep.json."""
    with reported(as_json):
        from neocloud.adapters.extras import require_extra

        require_extra("scenario", "a scenario sweep", "ray")  # before any work
        from neocloud.adapters.scenario_report import sweep_json
        from neocloud.adapters.scenario_spec import load_scenario

        loaded = load_scenario(file, traces)
        points = _sweep(loaded, ray_address, cpus, as_json)
        rows = sweep_json(points)
        _write(out, "sweep.json", json.dumps(rows, indent=2) + "\n")
    if as_json:
        emit_json(rows)
        return
    table(
        f"{loaded.scenario.name}: value of renting over keeping all, USD millions",
        ["lease price x", "share rented", "demand x", "advantage", "kept utilization"],
        [
            [
                r["lease_price_factor"],
                r["rent_fraction"],
                r["demand_factor"],
                f"{p.advantage / 10**6:,.0f}",
                r["utilization_kept"],
            ]
            for r, p in zip(rows, points, strict=True)
        ],
    )


@scenario_app.command("default")
def default_command() -> None:
    """Print the default scenario (colossus-1) with its sources: copy it, change what you want, run it."""
    from neocloud.adapters.scenario_spec import DEFAULT_SCENARIO

    typer.echo(resources.files("neocloud").joinpath(f"scenarios/{DEFAULT_SCENARIO}.yaml").read_text(), nl=False)
