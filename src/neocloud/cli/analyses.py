"""`neocloud analysis`: scenarios and policy comparisons run by the server's workers (or the local store's),
kept with their progress, findings and reports; and `analysis work`, the worker itself."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from neocloud.cli.answers import answer
from neocloud.cli.args import Caps, Json, Kind, group
from neocloud.cli.context import connect, store
from neocloud.cli.output import caps_said, emit_json, out, table
from neocloud.cli.timefmt import show_time
from neocloud.cli.tree import help_of
from neocloud.core.errors import InvalidSpec

analysis_app = group(help=help_of("analysis"))
Title = Annotated[str, typer.Option(help="A name to find it by (default: what it runs).")]
Wait = Annotated[bool, typer.Option(help="Wait until it is done, then show its findings.")]
POLL_S = 1.0


def _show(a: Any, _: dict[str, str] | None = None) -> None:
    state = a.status if a.status != "running" else f"running: {a.step} ({a.done} of {a.steps})"
    out().print(f"analysis {a.id} ({a.kind}): {a.title}: {state}", highlight=False)
    if a.error:
        out().print(f"error: {a.error}", highlight=False)
    if a.result and a.kind == "scenario":
        out().print(a.result["decision"]["text"], highlight=False)
    if a.result and a.kind == "comparison":
        rows = [
            (
                r["ordering"],
                r["placement"],
                f"{r['finished']:,}",
                f"{r['avg_jct'] / 3600:.2f}",
                f"{r['p99_jct'] / 3600:.2f}",
                f"{r['avg_queueing'] / 3600:.2f}",
                f"{r['utilization']:.1%}",
                *(_kept(r["budget"]) if "budget" in r else ()),
            )
            for r in a.result["results"]
        ]
        columns = ["policy", "placement", "finished", "avg JCT h", "p99 JCT h", "avg wait h", "util"]
        if any("budget" in r for r in a.result["results"]):
            columns += ["jobs capped", "jobs stopped", "peak kW", "budget exceeded"]
        table(f"{a.result['trace']} on {a.result['fleet']}", columns, rows)
        if "caps" in a.result:
            out().print(caps_said(a.result["caps"]), highlight=False)


def _kept(budget: dict[str, Any]) -> tuple[str, ...]:
    """What keeping a run's power budget took: jobs capped and stopped over its changes, its peak draw, and
    whether it was ever exceeded."""
    changes = budget["changes"]
    exceeded = ", ".join(map(str, budget["exceeded_at"][:3])) or "never"
    capped, stopped = (sum(c[key] for c in changes) for key in ("capped", "preempted"))
    return f"{capped:,}", f"{stopped:,}", budget["peak_kw"], exceeded


def _queued(ctx: typer.Context, json: bool, wait: bool, ask: Any) -> None:
    def run(api: Any) -> Any:
        analysis = ask(api)
        while wait and analysis.status in ("queued", "running"):
            time.sleep(POLL_S)
            analysis = api.analyses.get(analysis.id)
        return analysis

    answer(ctx, json, run, _show)


@analysis_app.command("scenario")
def analysis_scenario(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="Scenario YAML over the default; none: the default.")] = None,
    title: Title = "",
    wait: Wait = False,
    json: Json = False,
) -> None:
    """Run the default scenario, or FILE over it, as an analysis: kept with its report for browsing."""

    def ask(api: Any) -> Any:
        text = None
        if file is not None:
            try:
                text = file.read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise InvalidSpec(f"{file}: cannot read: {exc}", file=str(file)) from None
        return api.analyses.scenario(text, title)

    _queued(ctx, json, wait, ask)


@analysis_app.command("compare")
def analysis_compare(
    ctx: typer.Context,
    trace: Annotated[str, typer.Option(help="synthetic:N[,...] or FORMAT:PATH within the traces folder.")],
    fleet: Annotated[
        str, typer.Option(help="uniform:NODESxGPUS, pooled:GPUS[,cpus=N] or a packaged fleet.")
    ] = "uniform:8x8",
    policies: Annotated[str, typer.Option(help="Ordering policies, comma-separated.")] = "fifo,sjf,srtf",
    placements: Annotated[str, typer.Option(help="Placement policies, comma-separated.")] = "bestfit",
    seed: Annotated[int, typer.Option(min=0)] = 0,
    title: Title = "",
    queues: Annotated[
        str, typer.Option(help="Tiresias's queue thresholds, GPU-seconds, comma-separated.")
    ] = "3250,7200",
    starvation: Annotated[float, typer.Option(help="Tiresias's promotion factor; 0 never.")] = 0.0,
    power: Annotated[
        bool, typer.Option("--power", help="Keep the fleet's site power budget (a packaged fleet with one).")
    ] = False,
    curtail: Annotated[
        list[str] | None,
        typer.Option(
            help="DEPTH@START+SECONDS: cut the budget by DEPTH from START s after the first submission (repeat)."
        ),
    ] = None,
    ramp: Annotated[str | None, typer.Option(help="MW a second: the fastest the draw may rise.")] = None,
    fall: Annotated[str | None, typer.Option(help="MW a second: the fastest the draw may fall (power floors).")] = None,
    capping: Annotated[
        bool, typer.Option("--capping/--no-capping", help="Cap running GPUs before stopping work (default).")
    ] = True,
    cap: Caps = None,
    kind: Kind = "training",
    wait: Wait = False,
    json: Json = False,
) -> None:
    """Policies side by side on one trace and cluster, as an analysis (at most 12 simulations); with --power,
    --curtail, --ramp or --fall, each within the fleet's site power budget; with --cap, its GPUs capped."""
    names = [p.strip() for p in policies.split(",") if p.strip()]
    places = [p.strip() for p in placements.split(",") if p.strip()]

    def ask(api: Any) -> Any:
        from neocloud.adapters.replay_power import parse_curtailment
        from neocloud.core.engine.tiresias import thresholds
        from neocloud.core.power import parse_caps

        kept = None
        if power or curtail or ramp is not None or fall is not None:
            cuts = [parse_curtailment(text) for text in curtail or []]
            kept = {
                "curtailments": [{"depth": str(d), "start": start, "seconds": s} for d, start, s in cuts],
                "ramp_mw_per_s": ramp,
                "fall_mw_per_s": fall,
                "capping": capping,
            }
        caps = parse_caps(cap or [])
        tiresias = thresholds(queues), starvation
        return api.analyses.compare(trace, fleet, names, places, seed, title, *tiresias, kept, caps, kind)

    _queued(ctx, json, wait, ask)


@analysis_app.command("list")
def analysis_list(
    ctx: typer.Context, limit: Annotated[int, typer.Option(min=1, max=500)] = 50, json: Json = False
) -> None:
    """The latest analyses, newest first."""

    def show(page: Any, _: dict[str, str]) -> None:
        rows = [
            (a.id, a.kind, a.title, a.status, f"{a.done}/{a.steps}", show_time(a.created), a.error or "")
            for a in page.items
        ]
        table(f"analyses ({page.total:,} in all)", ["id", "kind", "title", "status", "steps", "asked", "error"], rows)

    answer(ctx, json, lambda api: api.analyses.list(limit), show)


@analysis_app.command("show")
def analysis_show(ctx: typer.Context, analysis_id: str, json: Json = False) -> None:
    """One analysis: its progress, and its findings once done."""
    answer(ctx, json, lambda api: api.analyses.get(analysis_id), _show)


@analysis_app.command("report")
def analysis_report(
    ctx: typer.Context,
    analysis_id: str,
    output: Annotated[Path | None, typer.Option(help="File to write (default: standard output).")] = None,
) -> None:
    """A scenario analysis's HTML report."""
    with connect(ctx, False) as api:
        text = api.analyses.report(analysis_id)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        out().print(f"wrote {output}")


@analysis_app.command("work")
def analysis_work(ctx: typer.Context, json: Json = False) -> None:
    """Run queued analyses until none waits (the server starts this when work is queued)."""
    with store(ctx, json) as built:
        from neocloud.adapters.analysis_runs import work

        ran = work(built.uow, built.now, Path(built.settings.traces), built.catalog)
    if json:
        emit_json({"ran": ran})
    else:
        out().print(f"ran {ran} analyses")
