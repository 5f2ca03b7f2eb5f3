"""Times and durations as people type them: ISO dates in UTC, `now`, `+30d`, `3y`, Unix seconds.

A duration always has its unit (`1` is refused: one second or one day?). Every time is checked against the
bounds of time (1970-01-01 to 9999-12-31), so a typo like `--end +3000000y` is an error, not an overflow.
"""

from __future__ import annotations

import re
from datetime import datetime

from neocloud.core.bounds import MAX_DURATION, check_time
from neocloud.core.errors import InvalidInput, quoted
from neocloud.core.timeutil import add_months, iso, seconds_of

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
CALENDAR_UNITS = {"mo": 1, "y": 12}  # whole calendar months and years, counted from a start
_DURATION = re.compile(r"^(\d{1,12})(mo|[smhdwy])$")
_SECONDS = re.compile(r"^[0-9]{1,15}$")
_DURATION_HELP = "use a number and a unit, e.g. 90s, 90m, 4h, 30d, 2w, 6mo, 3y"


def _split(text: str) -> tuple[int, str]:
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise InvalidInput(f"bad duration {quoted(text)}: {_DURATION_HELP}", value=text)
    return int(match.group(1)), match.group(2)


def parse_duration(text: str) -> int:
    """A fixed length in seconds (months and years are not fixed: see `after`)."""
    amount, unit = _split(text)
    if unit in CALENDAR_UNITS:
        raise InvalidInput(f"{quoted(text)} has no fixed length here; use days or hours", value=text)
    seconds = amount * UNITS[unit]
    if not 0 < seconds <= MAX_DURATION:
        raise InvalidInput(f"duration {quoted(text)} must be from 1 s to ten years", value=text)
    return seconds


def after(start: int, text: str) -> int:
    """`start` plus a term: calendar-aware for months and years (3y from Dec 1 ends on Dec 1)."""
    amount, unit = _split(text)
    if unit in CALENDAR_UNITS:
        months = amount * CALENDAR_UNITS[unit]
        if months > 12 * 10_000:
            raise InvalidInput(f"term {quoted(text)} ends after 9999-12-31", value=text)
        end = add_months(start, months)
    else:
        end = start + amount * UNITS[unit]
    return check_time(end, "end")


def parse_time(text: str, now: int) -> int:
    """`now`, `+TERM` (from now), Unix seconds, or an ISO-8601 date or datetime (UTC unless stated)."""
    text = text.strip()
    if text == "now":
        return now
    if text.startswith("+"):
        return after(now, text[1:])
    if _SECONDS.fullmatch(text):
        return check_time(int(text), "time")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"bad time {quoted(text)}: use now, +30d, Unix seconds or an ISO date like 2026-12-01", value=text
        ) from None
    offset = moment.utcoffset()
    seconds = seconds_of(moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    return check_time(seconds - (int(offset.total_seconds()) if offset else 0), "time")


def parse_end(text: str, start: int, now: int) -> int:
    """An end: `+TERM` counts from the start; anything else as parse_time."""
    return after(start, text[1:]) if text.strip().startswith("+") else parse_time(text, now)


def show_time(t: int) -> str:
    return iso(t).replace("T", " ").removesuffix("Z")
