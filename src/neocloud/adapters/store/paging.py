"""One page of a query, by its sort key (keyset pagination: no OFFSET, so a page costs the same however
deep it is, and rows added meanwhile never shift the pages after them)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, literal, tuple_

Key = tuple[Any, ...]
S = TypeVar("S", bound=Select[Any])


def page(query: S, columns: tuple[Any, ...], after: Key | None, limit: int | None) -> S:
    """`query` ordered by `columns`, the rows whose key comes after `after`, at most `limit` of them."""
    if after is not None:
        query = query.where(tuple_(*columns) > tuple_(*(literal(v) for v in after)))
    query = query.order_by(*columns)
    return query if limit is None else query.limit(limit)
