"""Parsing of list-like options shared by commands."""

from __future__ import annotations

from collections.abc import Iterable

from neocloud.core.errors import InvalidInput, quoted


def parse_names(text: str, known: Iterable[str], what: str) -> list[str]:
    """Comma-separated names, each of which must be known (e.g. policies in a registry)."""
    allowed = list(known)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        shown = ", ".join(unknown) if unknown else repr(text)
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
