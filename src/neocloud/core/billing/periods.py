"""Billing periods: calendar months in UTC, as half-open [start, end) integer-second intervals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from neocloud.core.errors import InvalidInput
from neocloud.core.timeutil import add_months


@dataclass(frozen=True, slots=True, order=True)
class Period:
    start: int
    end: int

    @property
    def key(self) -> str:
        return datetime.fromtimestamp(self.start, UTC).strftime("%Y-%m")

    @property
    def seconds(self) -> int:
        return self.end - self.start

    def overlap(self, start: int, end: int) -> int:
        return max(0, min(end, self.end) - max(start, self.start))

    def next(self) -> Period:
        return Period(self.end, add_months(self.end, 1))


def month_of(t: int) -> Period:
    moment = datetime.fromtimestamp(t, UTC)
    start = int(datetime(moment.year, moment.month, 1, tzinfo=UTC).timestamp())
    return Period(start, add_months(start, 1))


def month(key: str) -> Period:
    """A period from "YYYY-MM"."""
    try:
        moment = datetime.strptime(key, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(f"bad billing period {key!r}: use YYYY-MM", period=key) from None
    return month_of(int(moment.timestamp()))
