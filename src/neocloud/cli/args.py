"""Options and arguments shared by commands, and the parsing of list-like ones."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any

import typer

from neocloud.core.errors import InvalidInput, quoted

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
Tenant = Annotated[str, typer.Option(help="Tenant id or name.")]
OnlyTenant = Annotated[str | None, typer.Option("--tenant", help="Only this tenant (id or name).")]
Limit = Annotated[int, typer.Option(help="Items per page (1 to 1000).")]
Cursor = Annotated[str | None, typer.Option(help="Carry on after this cursor (a page's next_cursor).")]
Every = Annotated[bool, typer.Option("--all", help="Every page, not only one.")]
Caps = Annotated[
    list[str] | None,
    typer.Option(
        "--cap", help="MODEL=WATTS: run that GPU model under a power cap (repeat); needs a fleet with models."
    ),
]
Kind = Annotated[str, typer.Option(help="With --cap: the work's kind, for its speed under the cap.")]
PAGE = 100


def group(help: str, **options: Any) -> typer.Typer:
    """A group of commands, with plain help: rich's help rendering costs `--help` more than all the rest."""
    return typer.Typer(
        help=help, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None, **options
    )


def collect(
    list_page: Callable[..., Any], cursor: str | None, limit: int, every: bool, **kw: Any
) -> tuple[list[Any], str | None]:
    """One page of a list from `cursor` (or, with `every`, that page and all after it), and the cursor of the
    page after it. `list_page`: one of the client's `list` calls."""
    items: list[Any] = []
    while True:
        page = list_page(cursor=cursor, limit=limit, **kw)
        items += page.items
        cursor = page.next_cursor
        if not every or cursor is None:
            return items, cursor


def parse_names(text: str, known: Iterable[str], what: str) -> list[str]:
    """Comma-separated names, each of which must be known (e.g. policies in a registry)."""
    allowed = list(known)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        shown = ", ".join(unknown) if unknown else quoted(text)
        raise InvalidInput(f"unknown {what} {shown}; known: {', '.join(allowed)}", value=text)
    return names


def parse_seeds(text: str) -> list[int]:
    """`42`, `42-51` or `1,5,9`."""
    try:
        if "-" in text:
            low, high = (int(part) for part in text.split("-", 1))
            seeds = list(range(low, high + 1))
        else:
            seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise InvalidInput(f"bad seeds {quoted(text)}: use 42, 42-51 or 1,5,9", value=text) from None
    if not seeds:
        raise InvalidInput(f"no seeds in {quoted(text)}", value=text)
    return seeds
