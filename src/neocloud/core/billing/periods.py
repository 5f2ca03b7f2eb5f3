"""Billing periods: calendar months in UTC, as half-open [start, end) integer-second intervals."""

from __future__ import annotations

import re
from dataclasses import dataclass

from neocloud.core.bounds import PERIOD
from neocloud.core.errors import InvalidInput, quoted
from neocloud.core.timeutil import DAY, add_months, civil_from_days, month_start, seconds_of

_PERIOD = re.compile(PERIOD)


@dataclass(frozen=True, slots=True, order=True)
class Period:
    start: int
    end: int

    @property
    def key(self) -> str:
        year, month, _ = civil_from_days(self.start // DAY)
        return f"{year:04d}-{month:02d}"

    @property
    def seconds(self) -> int:
        return self.end - self.start

    def overlap(self, start: int, end: int) -> int:
        return max(0, min(end, self.end) - max(start, self.start))

    def next(self) -> Period:
        return Period(self.end, add_months(self.end, 1))


def month_of(t: int) -> Period:
    start = month_start(t)
    return Period(start, add_months(start, 1))


def month(key: str) -> Period:
    """A period from "YYYY-MM" (1970-01 to 9999-12)."""
    if not isinstance(key, str) or not _PERIOD.fullmatch(key):
        raise InvalidInput(f"bad billing period {quoted(key)}: use YYYY-MM, 1970-01 to 9999-12", period=key)
    start = seconds_of(int(key[:4]), int(key[5:]))
    return Period(start, add_months(start, 1))
