"""Lists one page at a time: a page holds at most `limit` items and, when more follow, a cursor to the next.

Each list has a name and a sort key (a tuple of ints and strings, unique per item). A cursor is opaque to
clients: the list's name and the sort key of the page's last item, as URL-safe base64 of JSON. A cursor from
another list, or one that does not decode to a key of the right shape, is refused (invalid_cursor), never
guessed at. Pages come from the store by key (no OFFSET: a deep page costs what the first does, and items
added meanwhile never shift the pages after them), or from a list already at hand.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from neocloud.app.ports import Key
from neocloud.core.errors import InvalidInput

T = TypeVar("T")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1_000
MAX_CURSOR = 600  # characters


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """A list that pages: its name (in its cursors), the types of its sort key, and the key of an item."""

    name: str
    shape: tuple[type, ...]
    key: Callable[[T], Key]

    def fetch(self, cursor: str | None, limit: int | None, query: Callable[[Key | None, int], list[T]]) -> Page[T]:
        """A page from a store query taking (after, limit): one item more is asked for, to know if more follow."""
        after, limit = self.after(cursor), checked_limit(limit)
        items = query(after, limit + 1)
        if len(items) <= limit:
            return Page(items)
        return Page(items[:limit], encode(self.name, self.key(items[limit - 1])))

    def of(self, cursor: str | None, limit: int | None, items: Iterable[T]) -> Page[T]:
        """A page of a list already at hand (sorted here by key)."""
        after, limit = self.after(cursor), checked_limit(limit)
        chosen: list[T] = []
        for item in sorted(items, key=self.key):
            if after is not None and self.key(item) <= after:
                continue
            if len(chosen) == limit:
                return Page(chosen, encode(self.name, self.key(chosen[-1])))
            chosen.append(item)
        return Page(chosen)

    def after(self, cursor: str | None) -> Key | None:
        return None if not cursor else decode(cursor, self.name, self.shape)  # no cursor, or "": the first page


def checked_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}", field="limit")
    return limit


def encode(name: str, key: Key) -> str:
    return base64.urlsafe_b64encode(json.dumps([name, *key], separators=(",", ":")).encode()).decode().rstrip("=")


def decode(cursor: str, name: str, shape: tuple[type, ...]) -> Key:
    refused = InvalidCursor(f"this cursor is not one the {name} list gave out", field="cursor")
    if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR:
        raise refused
    try:
        decoded: Any = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        raise refused from None
    if not isinstance(decoded, list) or len(decoded) != len(shape) + 1 or decoded[0] != name:
        raise refused
    values: list[Any] = decoded[1:]
    if not all(_fits(value, kind) for value, kind in zip(values, shape, strict=True)):
        raise refused
    return tuple(values)


def _fits(value: Any, kind: type) -> bool:
    if kind is int:
        return type(value) is int and abs(value) < 2**63
    return kind is str and type(value) is str and len(value) <= 400
