"""The step function (core/steps.py) against brute force: a Hypothesis state machine adds intervals to two
functions, one a copy of the other (copy on write: neither sees the other's changes), with chunks of two
breakpoints so that chunks split, empty and the tree is rebuilt all the time, and at most three changes
pending; every query agrees with the value computed instant by instant, and a booking's check (first_above)
agrees with changes still pending."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from neocloud.core import steps
from neocloud.core.steps import INFINITY, StepFunction

SPAN = range(-2, 84)  # every instant a query can tell apart: changes are within [0, 80]


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of two to four breakpoints: splits, empty chunks and rebuilt trees at every few changes; changes
    merged at every third."""
    monkeypatch.setattr(steps, "CHUNK", 2)
    monkeypatch.setattr(steps, "PENDING", 3)


class Brute:
    def __init__(self, intervals: list[tuple[int, int, int]] | None = None) -> None:
        self.intervals = list(intervals or [])

    def at(self, t: int) -> int:
        return sum(d for s, e, d in self.intervals if s <= t < e)

    def window(self, start: int, duration: int, limit: int) -> int:
        t = start
        while any(self.at(u) > limit for u in range(t, min(t + duration, SPAN.stop))):
            t += 1
        return t


times = st.integers(0, 60)


class Calendars(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.functions = [StepFunction()]
        self.models = [Brute()]

    @rule(
        which=st.integers(0, 1),
        changes=st.lists(st.tuples(times, st.integers(1, 20), st.integers(-5, 5)), min_size=1, max_size=5),
        limit=st.integers(-3, 12),
    )
    def add(self, which: int, changes: list[tuple[int, int, int]], limit: int) -> None:
        """Several changes in a row, each checked first as a booking is (the check sees those pending)."""
        which %= len(self.functions)
        f, m = self.functions[which], self.models[which]
        for start, length, delta in changes:
            end = start + length
            assert f.first_above(start, end, limit) == next(
                ((t, m.at(t)) for t in range(start, end) if m.at(t) > limit), None
            )
            f.add(start, end, delta)
            m.intervals.append((start, end, delta))

    @precondition(lambda self: len(self.functions) == 1)
    @rule()
    def copy(self) -> None:
        self.functions.append(self.functions[0].copy())
        self.models.append(Brute(self.models[0].intervals))

    @rule(start=st.integers(-2, 62), length=st.integers(1, 30), limit=st.integers(-3, 12))
    def queries(self, start: int, length: int, limit: int) -> None:
        end = start + length
        for f, m in zip(self.functions, self.models, strict=True):
            assert f.max_over(start, end) == max(m.at(t) for t in range(start, end))
            above = next(((t, m.at(t)) for t in range(start, end) if m.at(t) > limit), None)
            assert f.first_above(start, end, limit) == above
            assert list(f.steps(start, end)) == _steps(m, start, end)
            if limit >= 0:
                assert f.first_at_most(start, limit) == next(t for t in range(start, 100) if m.at(t) <= limit)
                assert f.first_window(start, length, limit) == m.window(start, length, limit)

    @invariant()
    def values_breakpoints_and_peak(self) -> None:
        assert (steps.CHUNK, steps.PENDING) == (2, 3)  # in force here too
        for f, m in zip(self.functions, self.models, strict=True):
            assert [f.value_at(t) for t in SPAN] == [m.at(t) for t in SPAN]
            changes = [t for t in SPAN if m.at(t) != m.at(t - 1)]
            assert list(f.breakpoints(-INFINITY, INFINITY)) == changes  # minimal: only where it changes
            assert f.is_zero() == (not changes)
            highest = max((m.at(t) for t in changes), default=0)
            assert f.peak() == (None if not changes else (highest, next(t for t in changes if m.at(t) == highest)))


def _steps(m: Brute, start: int, end: int) -> list[tuple[int, int, int]]:
    cuts = [start, *(t for t in range(start + 1, end) if m.at(t) != m.at(t - 1)), end]
    return [(a, b, m.at(a)) for a, b in pairwise(cuts)]


TestCalendars = Calendars.TestCase
TestCalendars.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


intervals = st.tuples(times, st.integers(1, 20), st.integers(-5, 5)).map(lambda x: (x[0], x[0] + x[1], x[2]))


@given(st.lists(intervals, max_size=40))
def test_built_at_once_is_the_same_as_built_interval_by_interval(changes: list[tuple[int, int, int]]) -> None:
    loaded, added = StepFunction.of(changes), StepFunction()
    for s, e, d in changes:
        added.add(s, e, d)
    brute = Brute(changes)
    for t in SPAN:
        assert loaded.value_at(t) == added.value_at(t) == brute.at(t)
    assert list(loaded.breakpoints(-INFINITY, INFINITY)) == list(added.breakpoints(-INFINITY, INFINITY))


def test_steps_clip_to_the_window() -> None:
    f = StepFunction()
    f.add(10, 20, 3)
    assert list(f.steps(0, 30)) == [(0, 10, 0), (10, 20, 3), (20, 30, 0)]
    assert list(f.steps(12, 15)) == [(12, 15, 3)]
    assert f.first_above(0, 30, 2) == (10, 3)
    assert f.first_above(0, 10, 0) is None
    assert f.first_window(5, 6, 0) == 20  # [5, 11) meets the hold; from 20 on it is free
