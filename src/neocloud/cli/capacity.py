"""`neocloud capacity` and `neocloud maintenance`: what the ledger says is free, and GPUs out of service."""

from typing import Annotated

import typer

from neocloud.cli.args import PAGE, Cursor, Every, Json, Limit, collect, group
from neocloud.cli.context import connect
from neocloud.cli.output import emit_json, emit_page, more, out, span, table
from neocloud.cli.timefmt import parse_duration, parse_end, parse_time, show_time

capacity_app = group(help="Free capacity, profiles and earliest starts from the ledger.")
maintenance_app = group(help="Take GPUs out of service for a time.")


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
    json: Json = False,
) -> None:
    """GPUs free over the whole window (the minimum of the free profile)."""
    with connect(ctx, json) as api:
        quote = api.capacity.free(pool, *_window(start, end))
    if json:
        emit_json(quote)
    else:
        out().print(f"{pool}: {quote.free:,} GPUs free from {show_time(quote.start)} to {show_time(quote.end)}")


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
    with connect(ctx, json) as api:
        steps = list(api.pages(api.capacity.profile, pool, *_window(start, end), limit=1000))
    if json:
        emit_json(steps)
        return
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
    ctx: typer.Context,
    pool: str,
    gpus: Annotated[int, typer.Option()],
    duration: Annotated[str, typer.Option(help="e.g. 7d, 4h")],
    not_before: Annotated[str, typer.Option()] = "now",
    json: Json = False,
) -> None:
    """The earliest time `gpus` GPUs are free for `duration`."""
    with connect(ctx, json) as api:
        from neocloud.bootstrap import wall_clock

        quote = api.capacity.earliest(pool, gpus, parse_duration(duration), parse_time(not_before, wall_clock()))
    if json:
        emit_json(quote)
    else:
        out().print(f"{pool}: {gpus:,} GPUs for {span(quote.duration)} can start at {show_time(quote.start)}")


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
    with connect(ctx, json) as api:
        hold = api.maintenance.add(pool, gpus, *_window(start, end))
    if json:
        emit_json(hold)
    else:
        out().print(
            f"maintenance {hold.id}: {gpus:,} GPUs of {pool} from {show_time(hold.start)} to {show_time(hold.end)}"
        )


@maintenance_app.command("list")
def maintenance_list(
    ctx: typer.Context, pool: str, cursor: Cursor = None, limit: Limit = PAGE, every: Every = False, json: Json = False
) -> None:
    """All holds on a pool, maintenance and contracts, by start."""
    with connect(ctx, json) as api:
        holds, next_cursor = collect(api.maintenance.holds, cursor, limit, every, pool=pool)
    if json:
        emit_page(holds, next_cursor)
        return
    table(
        f"holds on {pool}",
        ["id", "kind", "GPUs", "start", "end", "contract"],
        [(h.id, h.kind, f"{h.gpus:,}", show_time(h.start), show_time(h.end), h.contract_id) for h in holds],
    )
    more(next_cursor, json)


@maintenance_app.command("cancel")
def maintenance_cancel(ctx: typer.Context, pool: str, hold_id: str, json: Json = False) -> None:
    """Put GPUs back in service."""
    with connect(ctx, json) as api:
        hold = api.maintenance.cancel(pool, hold_id)
    if json:
        emit_json(hold)
    else:
        out().print(f"maintenance {hold.id} cancelled")
