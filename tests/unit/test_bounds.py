"""The bounds of input (core/bounds.py), the integer calendar (core/timeutil.py) and list cursors
(app/pages.py): pure, no store."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neocloud.app.pages import InvalidCursor, Listing, checked_limit
from neocloud.core import bounds
from neocloud.core.billing.periods import month, month_of
from neocloud.core.errors import InvalidInput, InvalidInterval, NeocloudError, quoted
from neocloud.core.ledger import check_gpus, check_interval
from neocloud.core.timeutil import add_months, human_duration, iso

LAST_DATETIME = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())


@given(st.integers(min_value=0, max_value=LAST_DATETIME))
def test_the_integer_calendar_agrees_with_datetime(t: int) -> None:
    moment = datetime.fromtimestamp(t, UTC)
    assert iso(t) == moment.strftime("%Y-%m-%dT%H:%M:%SZ" if moment.second else "%Y-%m-%dT%H:%MZ")
    assert month_of(t).key == moment.strftime("%Y-%m")
    assert month_of(t).start <= t < month_of(t).end


@given(st.integers(min_value=0, max_value=LAST_DATETIME - 10 * 366 * 86_400), st.integers(0, 120))
def test_calendar_months_clamp_the_day(t: int, months: int) -> None:
    moment = datetime.fromtimestamp(add_months(t, months), UTC)
    start = datetime.fromtimestamp(t, UTC)
    assert (moment.year * 12 + moment.month) - (start.year * 12 + start.month) == months
    assert moment.day == min(start.day, moment.day)
    assert moment.time() == start.time()


def test_the_last_month_and_the_edge_of_time() -> None:
    last = month("9999-12")
    assert (last.start, last.end) == (LAST_DATETIME + 1 - 31 * 86_400, bounds.MAX_TIME)
    assert iso(bounds.MAX_TIME) == "10000-01-01T00:00Z"
    check_interval(last.start, last.end)  # the whole last month is within bounds
    for bad in ("10000-01", "1969-12", "2027-13", "2027-00", "27-01", "2027-1", "2027-01\x00", " 2027-01", "x" * 10**6):
        with pytest.raises(InvalidInput, match="YYYY-MM") as refused:
            month(bad)
        assert len(refused.value.message) < 200


@pytest.mark.parametrize(
    ("start", "end"),
    [(-1, 10), (0, bounds.MAX_TIME + 1), (2**62, 2**62 + 1), (10**30, 10**30 + 1), (5, 5), (6, 5), (True, 5)],
)
def test_intervals_outside_time_or_backwards_are_refused(start: int, end: int) -> None:
    with pytest.raises(InvalidInterval):
        check_interval(start, end)


@pytest.mark.parametrize("gpus", [0, -1, bounds.MAX_GPUS + 1, True, 1.0, "1", 2**62])
def test_gpu_counts_are_whole_and_capped(gpus: object) -> None:
    with pytest.raises(InvalidInput):
        check_gpus(gpus)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("2.40", True),
        ("0", True),
        ("1000000", True),
        ("2.400000000", True),  # more digits, but no more than six places of value: nothing is rounded away
        ("0.0000001", False),  # would be rounded: refused
        ("1e-30", False),
        ("1E3", False),
        ("NaN", False),
        ("Infinity", False),
        ("-inf", False),
        ("-1", False),
        ("1000000.000001", False),
        ("9" * 200, False),
        ("", False),
        (" 2.40", False),
        ("2,40", False),
        ("0x10", False),
        ("２.４０", False),  # full-width digits
    ],
)
def test_decimals_are_plain_finite_and_bounded(text: str, ok: bool) -> None:
    if ok:
        assert bounds.parse_decimal(text, "price") == Decimal(text)
        return
    with pytest.raises(InvalidInput) as refused:
        bounds.parse_decimal(text, "price")
    assert len(refused.value.message) < 160  # a short prefix of the value, never all of it


def test_names_ids_and_text() -> None:
    assert bounds.check_name("frontier-lab") == "frontier-lab"
    for bad in ("", "-lab", "lab\x00", "la b", "x" * 65, "lab\n", "lαb", 5):
        with pytest.raises(InvalidInput):
            bounds.check_name(bad)
    assert bounds.check_id("c-81550b702bfc") == "c-81550b702bfc"
    assert bounds.check_text("a failed PSU, rack 4", "description")
    for bad in ("a\x00b", "line\nbreak", "x" * 501, "\u2028"):
        with pytest.raises(InvalidInput):
            bounds.check_text(bad, "description")


def test_errors_never_repeat_a_whole_value() -> None:
    huge = "x" * 5_000_000
    error = NeocloudError(f"bad {huge}", value=huge, number=10**400)
    assert len(error.message) <= 1_010
    assert len(error.details["value"]) <= 90
    assert isinstance(error.details["number"], str)
    assert len(error.details["number"]) <= 50
    assert quoted(huge) == repr("x" * 39)[:40] + "..."


LISTING: Listing[tuple[int, str]] = Listing("things", (int, str), lambda item: item)


def test_pages_walk_a_list_once_in_order() -> None:
    things = [(t, f"id-{i}") for i, t in enumerate([5, 1, 3, 3, 9, 2, 8])]
    seen, cursor = [], None
    while True:
        page = LISTING.of(cursor, 3, things)
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted(things)
    assert LISTING.of(None, 1000, things).next_cursor is None


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "x" * 601,
        base64.urlsafe_b64encode(b"[").decode(),
        base64.urlsafe_b64encode(json.dumps(["other", 1, "a"]).encode()).decode(),  # another list's
        base64.urlsafe_b64encode(json.dumps(["things", "1", "a"]).encode()).decode(),  # wrong types
        base64.urlsafe_b64encode(json.dumps(["things", 2**70, "a"]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps(["things", 1]).encode()).decode(),
        base64.urlsafe_b64encode(("[" * 10_000).encode()).decode()[:600],
    ],
)
def test_cursors_not_given_out_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        LISTING.of(cursor, 10, [])


@pytest.mark.parametrize("limit", [0, -1, 1001, True])
def test_page_sizes_are_capped(limit: int) -> None:
    with pytest.raises(InvalidInput):
        checked_limit(limit)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 s"),
        (59, "59 s"),
        (90, "1 min 30 s"),
        (3600, "1 h"),
        (3 * 3600 + 59, "3 h 59 s"),
        (86_400, "1 day"),
        (30 * 86_400, "30 days"),
        (86_400 + 5 * 3600 + 7, "1 d 5 h"),  # two units: what a reader takes in at a glance
        (-90, "-1 min 30 s"),
        (10**9, "11,574 d 1 h"),
    ],
)
def test_durations_read_as_people_write_them(seconds: int, shown: str) -> None:
    assert human_duration(seconds) == shown
