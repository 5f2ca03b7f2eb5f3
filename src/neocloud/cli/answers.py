"""How a command answers: it asks the API for one result or a page of a list, and prints it as JSON (--json)
or through its own renderer (tables show tenant names, which an operator's key may read)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer

from neocloud.cli.args import PAGE, Cursor, Every, Json, Limit, OnlyTenant, collect
from neocloud.cli.context import connect
from neocloud.cli.output import emit_json, emit_page, more, names_of

if TYPE_CHECKING:
    from neocloud.client import Client

Render = Callable[[Any, dict[str, str]], None]  # the answer, and tenant names by id (empty unless asked for)
Paging = tuple[str | None, int, bool]  # --cursor, --limit, --all


def answer(
    ctx: typer.Context, as_json: bool, call: Callable[[Client], Any], render: Render, names: bool = False
) -> None:
    """One call's answer; `names`: the renderer shows tenant names."""
    with connect(ctx, as_json) as api:
        result = call(api)
        shown = names_of(api) if names and not as_json else {}
    if as_json:
        emit_json(result)
    else:
        render(result, shown)


def answer_page(
    ctx: typer.Context,
    as_json: bool,
    pick: Callable[[Client], Callable[..., Any]],
    paging: Paging,
    render: Render,
    names: bool = False,
    **filters: Any,
) -> None:
    """One page of a list (every page with --all), then how to ask for the next; `pick`: the client's list."""
    with connect(ctx, as_json) as api:
        items, next_cursor = collect(pick(api), *paging, **filters)
        shown = names_of(api) if names and not as_json else {}
    if as_json:
        emit_page(items, next_cursor)
        return
    render(items, shown)
    more(next_cursor, as_json)


def owned_list(
    group: typer.Typer, help: str, pick: Callable[[Client], Callable[..., Any]], render: Render
) -> Callable[..., None]:
    """The `list` command of a group whose items belong to tenants: --tenant, paging, --json."""

    def command(
        ctx: typer.Context,
        tenant: OnlyTenant = None,
        cursor: Cursor = None,
        limit: Limit = PAGE,
        every: Every = False,
        json: Json = False,
    ) -> None:
        answer_page(ctx, json, pick, (cursor, limit, every), render, names=True, tenant=tenant)

    return group.command("list", help=help)(command)
