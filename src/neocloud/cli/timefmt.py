"""Times and durations as people type them: ISO dates in UTC, `now`, `+30d`, `3y`, Unix seconds."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from neocloud.core.errors import InvalidInput
from neocloud.core.timeutil import add_months, iso

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
CALENDAR_UNITS = {"mo": 1, "y": 12}  # whole calendar months and years, counted from a start
_DURATION = re.compile(r"^(\d+)(mo|[smhdwy]?)$")


def _split(text: str) -> tuple[int, str]:
    match = _DURATION.match(text.strip())
    if not match:
        raise InvalidInput(f"bad duration {text!r}: use e.g. 3600, 90m, 4h, 30d, 2w, 6mo, 3y", value=text)
    return int(match.group(1)), match.group(2) or "s"


def parse_duration(text: str) -> int:
    """A fixed length in seconds (months and years are not fixed: see `after`)."""
    amount, unit = _split(text)
    if unit in CALENDAR_UNITS:
        raise InvalidInput(f"{text!r} has no fixed length here; use days or hours", value=text)
    return amount * UNITS[unit]


def after(start: int, text: str) -> int:
    """`start` plus a term: calendar-aware for months and years (3y from Dec 1 ends on Dec 1)."""
    amount, unit = _split(text)
    if unit in CALENDAR_UNITS:
        return add_months(start, amount * CALENDAR_UNITS[unit])
    return start + amount * UNITS[unit]


def parse_time(text: str, now: int) -> int:
    """`now`, `+TERM` (from now), Unix seconds, or an ISO-8601 date or datetime (UTC unless stated)."""
    text = text.strip()
    if text == "now":
        return now
    if text.startswith("+"):
        return after(now, text[1:])
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"bad time {text!r}: use now, +30d, Unix seconds or an ISO date like 2026-12-01", value=text
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def parse_end(text: str, start: int, now: int) -> int:
    """An end: `+TERM` counts from the start; anything else as parse_time."""
    return after(start, text[1:]) if text.strip().startswith("+") else parse_time(text, now)


def show_time(t: int) -> str:
    return iso(t).replace("T", " ").removesuffix("Z")
