"""`neocloud capacity` and `neocloud maintenance`: what the ledger says is free, and GPUs out of service."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from neocloud.cli.answers import answer, answer_page
from neocloud.cli.args import PAGE, Cursor, Every, Json, Limit, group
from neocloud.cli.output import out, span, table
from neocloud.cli.timefmt import parse_duration, parse_end, parse_time, show_time
from neocloud.cli.tree import help_of

if TYPE_CHECKING:
    from neocloud.client import Client

capacity_app = group(help=help_of("capacity"))
maintenance_app = group(help=help_of("maintenance"))


def _window(start: str, end: str) -> tuple[int, int]:
    from neocloud.bootstrap import wall_clock

    now = wall_clock()
    s = parse_time(start, now)
    return s, parse_end(end, s, now)


@capacity_app.command("free")
def capacity_free(
    ctx: typer.Context,
    pool: str,
    start: Annotated[str, typer.Option()] = "now",
    end: Annotated[str, typer.Option()] = "+30d",
    power: Annotated[bool, typer.Option("--power", help="Also the power free above the pool.")] = False,
    cap: Annotated[int | None, typer.Option(help="With --power: the GPUs' cap, watts (default TDP).")] = None,
    json: Json = False,
) -> None:
    """GPUs free over the whole window (the minimum of the free profile); with --power, how many of them the
    site's power (its feed, its hall) holds at the cap, and each power node's free megawatts."""

    def show(quote: Any, _: dict[str, str]) -> None:
        out().print(f"{pool}: {quote.free:,} GPUs free from {show_time(quote.start)} to {show_time(quote.end)}")
        if quote.power is None:
            return
        at = "their TDP" if quote.power.cap_w is None else f"{quote.power.cap_w:,} W"
        out().print(f"  with power for {quote.power.gpus:,} of them at {at}")
        for node in quote.power.nodes:
            out().print(f"  {node.node}: {_mw(node.free_kw)} MW free of {_mw(node.limit_kw)} MW (IT power)")

    answer(ctx, json, lambda api: api.capacity.free(pool, *_window(start, end), power=power, cap_w=cap), show)


def _mw(kw: str) -> str:
    return f"{Decimal(kw) / 1000:,.3f}"


@capacity_app.command("power")
def capacity_power(
    ctx: typer.Context,
    site: str,
    start: Annotated[str, typer.Option()] = "now",
    end: Annotated[str, typer.Option()] = "+365d",
    limit: Annotated[int, typer.Option(help="Steps per node at most.")] = 1_000,
    json: Json = False,
) -> None:
    """The site's power as the ledger keeps it: what contracts draw on each node of its power tree (the feed,
    its halls) at their caps, in MW of IT power, step by step, against the node's limit."""

    def show(profile: Any, _: dict[str, str]) -> None:
        if not profile.nodes:
            out().print(f"{site}: no power budget or halls; the ledger keeps no power there")
        for node in profile.nodes:
            table(
                f"{node.node}: {_mw(node.limit_kw)} MW of IT power, {_mw(node.free_kw)} MW free at least",
                ["from", "to", "drawn MW", "free MW"],
                [
                    (
                        show_time(s.start),
                        show_time(s.end),
                        _mw(s.drawn_kw),
                        _mw(str(Decimal(node.limit_kw) - Decimal(s.drawn_kw))),
                    )
                    for s in node.steps
                ],
            )
            if node.more:
                out().print(f"  (more steps: raise --limit above {limit:,})")

    answer(ctx, json, lambda api: api.capacity.power(site, *_window(start, end), limit=limit), show)


@capacity_app.command("profile")
def capacity_profile(
    ctx: typer.Context,
    pool: str,
    start: Annotated[str, typer.Option()] = "now",
    end: Annotated[str, typer.Option()] = "+365d",
    json: Json = False,
) -> None:
    """The pool's capacity step function: installed, in maintenance, held and free, step by step (every step
    of the window: the window bounds them)."""
    answer(
        ctx,
        json,
        lambda api: list(api.pages(api.capacity.profile, pool, *_window(start, end), limit=1000)),
        lambda steps, _: table(
            f"capacity profile of {pool}",
            ["from", "to", "installed", "maintenance", "held", "free"],
            [(show_time(p.start), show_time(p.end), *_counts(p)) for p in steps],
        ),
    )


def _counts(step: Any) -> list[str]:
    return [f"{n:,}" for n in (step.installed, step.maintenance, step.held, step.free)]


@capacity_app.command("earliest")
def capacity_earliest(
    ctx: typer.Context,
    pool: str,
    gpus: Annotated[int, typer.Option()],
    duration: Annotated[str, typer.Option(help="e.g. 7d, 4h")],
    not_before: Annotated[str, typer.Option()] = "now",
    json: Json = False,
) -> None:
    """The earliest time `gpus` GPUs are free for `duration`."""

    def earliest(api: Client) -> Any:
        from neocloud.bootstrap import wall_clock

        return api.capacity.earliest(pool, gpus, parse_duration(duration), parse_time(not_before, wall_clock()))

    answer(
        ctx,
        json,
        earliest,
        lambda quote, _: out().print(
            f"{pool}: {gpus:,} GPUs for {span(quote.duration)} can start at {show_time(quote.start)}"
        ),
    )


@maintenance_app.command("add")
def maintenance_add(
    ctx: typer.Context,
    pool: str,
    gpus: Annotated[int, typer.Option()],
    start: Annotated[str, typer.Option()],
    end: Annotated[str, typer.Option()],
    json: Json = False,
) -> None:
    """Take GPUs out of service; refused where they are already sold."""
    answer(
        ctx,
        json,
        lambda api: api.maintenance.add(pool, gpus, *_window(start, end)),
        lambda hold, _: out().print(
            f"maintenance {hold.id}: {gpus:,} GPUs of {pool} from {show_time(hold.start)} to {show_time(hold.end)}"
        ),
    )


@maintenance_app.command("list")
def maintenance_list(
    ctx: typer.Context, pool: str, cursor: Cursor = None, limit: Limit = PAGE, every: Every = False, json: Json = False
) -> None:
    """All holds on a pool, maintenance and contracts, by start."""
    answer_page(
        ctx,
        json,
        lambda api: api.maintenance.holds,
        (cursor, limit, every),
        lambda holds, _: table(
            f"holds on {pool}",
            ["id", "kind", "GPUs", "start", "end", "contract"],
            [(h.id, h.kind, f"{h.gpus:,}", show_time(h.start), show_time(h.end), h.contract_id) for h in holds],
        ),
        pool=pool,
    )


@maintenance_app.command("cancel")
def maintenance_cancel(ctx: typer.Context, pool: str, hold_id: str, json: Json = False) -> None:
    """Put GPUs back in service."""
    answer(
        ctx,
        json,
        lambda api: api.maintenance.cancel(pool, hold_id),
        lambda hold, _: out().print(f"maintenance {hold.id} cancelled"),
    )
