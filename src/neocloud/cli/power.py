"""`neocloud power`: the site's power under curtailment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from neocloud.cli.answers import answer
from neocloud.cli.args import Json, group
from neocloud.cli.output import out, table
from neocloud.cli.timefmt import parse_end, parse_time, show_time
from neocloud.cli.tree import help_of

if TYPE_CHECKING:
    from neocloud.client import Client

power_app = group(help=help_of("power"))


@power_app.command("curtail")
def power_curtail(
    ctx: typer.Context,
    site: Annotated[str, typer.Option(help="The site whose budget shrinks.")],
    depth: Annotated[str, typer.Option(help="The share of its budget cut, e.g. 0.25.")],
    start: Annotated[str, typer.Option(help="When the cut begins.")],
    end: Annotated[str, typer.Option(help="When it ends (a time, or +3h).")],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run/--apply",
            help="Show what the cut would do (the default), or apply it: the live engine keeps the site's work"
            " within what is left, and reserved power cut below contract is recorded as incidents.",
        ),
    ] = True,
    description: Annotated[str, typer.Option(help="Why (with --apply): the grid operator's notice, a fault.")] = "",
    json: Json = False,
) -> None:
    """Whose work a curtailment would cap, then stop, in contract order (spot, on-demand, internal; reserved
    only if that is not enough), and the SLA credits it would cost (operator). --apply records it."""

    def drill(api: Client) -> Any:
        from neocloud.bootstrap import wall_clock

        now = wall_clock()
        begins = parse_time(start, now)
        ends = parse_end(end, begins, now)
        if dry_run:
            return api.fleet.curtailment(site, depth, begins, ends)
        return api.fleet.curtail(site, depth, begins, ends, description)

    def render(found: Any, names: dict[str, str]) -> None:
        d = found if dry_run else found.drill
        over = f", {kw(d.shortfall_kw)} kW still over" if float(d.shortfall_kw) else ""
        out().print(
            f"[bold]{d.site}[/]: a cut of {float(d.depth):.0%} leaves {kw(d.limit_kw)} kW; its work draws "
            f"{kw(d.draw_kw)} kW, {kw(d.after_kw)} kW after the cut{over}; SLA credits ${float(d.credits_usd):,.2f}"
        )
        rows = [
            [a.contract_id, names.get(a.tenant_id, a.tenant_id), a.kind, f"{a.gpus:,}", kw(a.draw_kw), kw(a.after_kw),
             a.action, f"{float(a.credit_usd):,.2f}", _notice(a.notice_s, a.notice_short_s)]
            for a in d.actions
        ]  # fmt: skip
        columns = ["contract", "tenant", "kind", "GPUs", "kW before", "kW after", "action", "credit $", "notice s"]
        table("by contract", columns, rows)
        if not dry_run:
            incidents = ", ".join(found.incidents) or "none"
            out().print(f"applied as [bold]{found.curtailment.id}[/]; incidents for reserved power cut: {incidents}")

    answer(ctx, json, drill, render, names=True)


@power_app.command("curtailments")
def power_curtailments(
    ctx: typer.Context,
    site: Annotated[str, typer.Argument(help="The site.")],
    start: Annotated[str, typer.Option(help="From (default: now).")] = "now",
    end: Annotated[str, typer.Option(help="Until (a time, or +30d).")] = "+30d",
    json: Json = False,
) -> None:
    """The curtailments applied to a site over a window."""

    def listed(api: Client) -> Any:
        from neocloud.bootstrap import wall_clock

        now = wall_clock()
        begins = parse_time(start, now)
        return api.fleet.curtailments(site, begins, parse_end(end, begins, now))

    def render(found: Any, names: dict[str, str]) -> None:
        rows = [
            [e.id, f"{float(e.depth):.0%}", show_time(e.start), show_time(e.end), e.description, len(e.incidents)]
            for e in found
        ]
        table(f"curtailments of {site}", ["id", "depth", "start", "end", "why", "incidents"], rows)

    answer(ctx, json, listed, render)


@power_app.command("lift")
def power_lift(
    ctx: typer.Context,
    curtailment: Annotated[str, typer.Argument(help="The curtailment's id (power curtailments lists them).")],
    site: Annotated[str, typer.Option(help="Its site.")],
    at: Annotated[str, typer.Option(help="When it ends instead (a time, or +1h; default now).")] = "now",
    json: Json = False,
) -> None:
    """Lift a curtailment early (operator): the site's work may draw its whole feed again from then, and the
    incidents it recorded end then too; one that has not begun by then is withdrawn, with its incidents."""

    def lift(api: Client) -> Any:
        from neocloud.bootstrap import wall_clock

        now = wall_clock()
        return api.fleet.lift(site, curtailment, None if at == "now" else parse_time(at, now))

    def render(found: Any, names: dict[str, str]) -> None:
        e = found.curtailment
        incidents = ", ".join(e.incidents) or "none"
        if found.withdrawn:
            out().print(f"[bold]{e.id}[/] withdrawn before it began; incidents removed: {incidents}")
        else:
            out().print(f"[bold]{e.id}[/] now ends {show_time(e.end)}; its incidents end then too: {incidents}")

    answer(ctx, json, lift, render)


def _notice(owed: int, short: int) -> str:
    """The notice a contract is owed, and how much of it the event's lead time cannot give."""
    if not owed:
        return ""
    return f"{owed:,}" + (f" ({short:,} short)" if short else "")


def kw(text: str) -> str:
    return f"{float(text):,.1f}"
