"""List commands page as the API does: `--limit` items (default 100), `--cursor` to carry on where a page
ended, `--all` for every page. Tables end with the cursor of the next page when there is one; `--json`
prints the page as the API returns it, `{"items": [...], "next_cursor": ...}`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from neocloud.app.pages import DEFAULT_LIMIT, Page
from neocloud.cli.remote import Remote

T = TypeVar("T")
Limit = Annotated[int, typer.Option(help="Items per page (1 to 1000).")]
Cursor = Annotated[str | None, typer.Option(help="Carry on after this cursor (a page's next_cursor).")]
Every = Annotated[bool, typer.Option("--all", help="Every page, not only one.")]
__all__ = ["DEFAULT_LIMIT", "Cursor", "Every", "Limit", "collect", "remote_page"]


def collect(fetch: Callable[[str | None, int], Page[T]], cursor: str | None, limit: int, every: bool) -> Page[T]:
    """One page from `cursor`, or with `every` that page and all after it."""
    items: list[T] = []
    while True:
        page = fetch(cursor, limit)
        items += page.items
        cursor = page.next_cursor
        if not every or cursor is None:
            return Page(items, cursor)


def remote_page(
    api: Remote, path: str, params: dict[str, Any], convert: Callable[[Any], T]
) -> Callable[[str | None, int], Page[T]]:
    """A page fetcher for one of the server's lists."""

    def fetch(cursor: str | None, limit: int) -> Page[T]:
        query = {**{k: v for k, v in params.items() if v is not None}, "limit": limit}
        got = api.call("GET", path, params=query | ({"cursor": cursor} if cursor else {}))
        return Page([convert(item) for item in got["items"]], got["next_cursor"])

    return fetch
