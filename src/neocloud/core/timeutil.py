"""Integer-second timestamps: civil dates, formatting and calendar terms. Pure integer arithmetic, no clock.

No `datetime` here: its years end at 9999, and the end of December 9999 (the last instant neocloud accepts,
see core/bounds.py) is in year 10000. The civil-date conversions are the proleptic Gregorian calendar's.
"""

from __future__ import annotations

DAY = 86_400
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def month_days(year: int, month: int) -> int:
    return 29 if month == 2 and is_leap(year) else _MONTH_DAYS[month - 1]


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a Gregorian date (any year)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """The Gregorian (year, month, day) of a count of days since 1970-01-01."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def seconds_of(year: int, month: int, day: int = 1, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return days_from_civil(year, month, day) * DAY + hour * 3600 + minute * 60 + second


def iso(t: int) -> str:
    """A UTC timestamp as people read it: 2026-12-01T00:00Z (seconds only when not zero)."""
    days, rest = divmod(t, DAY)
    year, month, day = civil_from_days(days)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}"
    return f"{text}:{second:02d}Z" if second else f"{text}Z"


def add_months(t: int, months: int) -> int:
    """`t` plus whole calendar months, the day clamped to the month's length (Jan 31 + 1 month = Feb 28)."""
    days, rest = divmod(t, DAY)
    year, month, day = civil_from_days(days)
    index = month - 1 + months
    year, month = year + index // 12, index % 12 + 1
    return days_from_civil(year, month, min(day, month_days(year, month))) * DAY + rest


def month_start(t: int) -> int:
    """The first instant of the calendar month (UTC) that holds `t`."""
    year, month, _ = civil_from_days(t // DAY)
    return seconds_of(year, month)


def human_duration(seconds: int) -> str:
    """A length of time as people read it, to its two largest units: "30 days", "2 d 5 h", "1 h 30 min"."""
    if seconds < 0:
        return "-" + human_duration(-seconds)
    if seconds and seconds % DAY == 0:
        days = seconds // DAY
        return f"{days:,} day" + ("s" if days != 1 else "")
    parts = []
    for unit, size in (("d", DAY), ("h", 3600), ("min", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count:,} {unit}")
    return " ".join(parts[:2]) or "0 s"
