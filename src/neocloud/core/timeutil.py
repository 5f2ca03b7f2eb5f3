"""Integer-second timestamps: formatting and calendar terms. Pure arithmetic, no clock."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta


def iso(t: int) -> str:
    """A UTC timestamp as people read it: 2026-12-01T00:00Z (seconds only when not zero)."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=t)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ" if moment.second else "%Y-%m-%dT%H:%MZ")


def add_months(t: int, months: int) -> int:
    """`t` plus whole calendar months, the day clamped to the month's length (Jan 31 + 1 month = Feb 28)."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=t)
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())
