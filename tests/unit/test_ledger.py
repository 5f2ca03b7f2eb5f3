"""The ledger's invariant and every query, against a brute-force model, by example and by Hypothesis."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from neocloud.core.errors import AlreadyExists, InvalidInput, InvalidInterval, Overbooked, UnknownHold, UnknownPool
from neocloud.core.ledger import Hold, HoldKind, Ledger

HORIZON = 100
CAPACITY = 10


def hold(hid: str, gpus: int, start: int, end: int, kind: HoldKind = HoldKind.RESERVED, pool: str = "p") -> Hold:
    return Hold(hid, pool, gpus, start, end, kind)


def used(holds: list[Hold], t: int) -> int:
    return sum(h.gpus for h in holds if h.start <= t < h.end)


def brute_free(holds: list[Hold], capacity: int, start: int, end: int) -> int:
    return capacity - max(used(holds, t) for t in range(start, end))


def brute_earliest(holds: list[Hold], capacity: int, gpus: int, duration: int, not_before: int) -> int:
    t = not_before
    while brute_free(holds, capacity, t, t + duration) < gpus:
        t += 1
    return t


def test_book_refuses_overbooking_and_names_when_and_how_much() -> None:
    ledger = Ledger({"p": 10})
    ledger.book(hold("a", 6, 0, 10))
    ledger.book(hold("b", 3, 5, 20))
    with pytest.raises(Overbooked) as refused:
        ledger.book(hold("c", 4, 8, 30))
    # 6 + 3 + 4 = 13 on [8, 10): first at 8, over by 3.
    assert refused.value.details["at"] == 8
    assert refused.value.details["excess"] == 3
    assert sorted(h.id for h in ledger.holds()) == ["a", "b"]
    assert ledger.free("p", 0, 30) == 1
    assert ledger.free("p", 10, 30) == 7


def test_free_is_the_minimum_over_the_window_and_profile_steps() -> None:
    ledger = Ledger({"p": 10})
    ledger.book(hold("a", 4, 10, 20))
    ledger.book(hold("m", 2, 15, 25, HoldKind.MAINTENANCE))
    assert ledger.free("p", 0, 10) == 10
    assert ledger.free("p", 0, 11) == 6
    assert ledger.free("p", 15, 16) == 4
    steps = [(s.start, s.end, s.maintenance, s.held, s.free) for s in ledger.profile("p", 0, 30)]
    assert steps == [(0, 10, 0, 0, 10), (10, 15, 0, 4, 6), (15, 20, 2, 4, 4), (20, 25, 2, 0, 8), (25, 30, 0, 0, 10)]


def test_earliest_start_finds_the_first_gap_long_enough() -> None:
    ledger = Ledger({"p": 10})
    ledger.book(hold("a", 8, 10, 20))
    ledger.book(hold("b", 8, 25, 40))
    # 5 GPUs: free before 10 (but only 10s from 0), in [20, 25) (5s), and from 40.
    assert ledger.earliest_start("p", 5, 10, 0) == 0
    assert ledger.earliest_start("p", 5, 11, 0) == 40
    assert ledger.earliest_start("p", 5, 5, 12) == 20
    assert ledger.earliest_start("p", 2, 100, 0) == 0
    with pytest.raises(Overbooked):
        ledger.earliest_start("p", 11, 1, 0)


def test_maintenance_beyond_capacity_is_refused() -> None:
    ledger = Ledger({"p": 10})
    ledger.book(hold("a", 8, 0, 100))
    with pytest.raises(Overbooked):
        ledger.book(hold("m", 3, 50, 60, HoldKind.MAINTENANCE))
    ledger.book(hold("m", 2, 50, 60, HoldKind.MAINTENANCE))
    assert ledger.free("p", 0, 100) == 0


def test_extend_and_shrink_change_nothing_when_refused() -> None:
    ledger = Ledger({"p": 10})
    ledger.book(hold("a", 5, 0, 10))
    ledger.book(hold("b", 6, 10, 20))
    ledger.book(hold("c", 5, 0, 5))
    with pytest.raises(Overbooked):
        ledger.extend("a", end=15)  # 5 + 6 on [10, 15)
    with pytest.raises(Overbooked):
        ledger.extend("a", gpus=6)  # 6 + 5 on [0, 5)
    assert ledger.hold("a") == hold("a", 5, 0, 10)
    assert ledger.free("p", 5, 20) == 4
    ledger.shrink("b", end=15, gpus=2)
    ledger.cancel("c")
    assert ledger.extend("a", end=15, gpus=8) == hold("a", 8, 0, 15)
    assert ledger.free("p", 0, 15) == 0
    assert ledger.free("p", 15, 30) == 10
    with pytest.raises(InvalidInput):
        ledger.shrink("a", end=16)
    with pytest.raises(InvalidInput):
        ledger.extend("a", end=14)
    with pytest.raises(InvalidInterval):
        ledger.shrink("a", end=0)


@pytest.mark.parametrize(
    ("gpus", "start", "end", "error"),
    [(0, 0, 10, InvalidInput), (-3, 0, 10, InvalidInput), (1, 10, 10, InvalidInterval), (1, 10, 5, InvalidInterval)],
)
def test_bad_holds_are_refused(gpus: int, start: int, end: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        hold("x", gpus, start, end)


def test_unknown_pool_hold_and_duplicate_id() -> None:
    ledger = Ledger({"p": 10})
    with pytest.raises(UnknownPool):
        ledger.book(hold("a", 1, 0, 1, pool="q"))
    with pytest.raises(UnknownHold):
        ledger.cancel("nope")
    ledger.book(hold("a", 1, 0, 1))
    with pytest.raises(AlreadyExists):
        ledger.book(hold("a", 1, 5, 6))


def test_book_all_is_all_or_nothing() -> None:
    ledger = Ledger({"p": 10})
    with pytest.raises(Overbooked):
        ledger.book_all([hold("a", 6, 0, 10), hold("b", 6, 5, 15)])
    assert list(ledger.holds()) == []
    assert ledger.free("p", 0, 20) == 10


holds_st = st.builds(
    lambda gpus, start, length, maintenance: (gpus, start, start + length, maintenance),
    st.integers(1, CAPACITY + 2),
    st.integers(0, HORIZON - 1),
    st.integers(1, 40),
    st.booleans(),
)


class LedgerMachine(RuleBasedStateMachine):
    """Random books, cancels, extends and shrinks; after each, compare with the brute-force model."""

    def __init__(self) -> None:
        super().__init__()
        self.ledger = Ledger({"p": CAPACITY})
        self.model: dict[str, Hold] = {}
        self.next_id = 0

    def _fits(self, candidate: Hold, without: str | None = None) -> bool:
        others = [h for k, h in self.model.items() if k != without]
        return all(used(others, t) + candidate.gpus <= CAPACITY for t in range(candidate.start, candidate.end))

    @rule(spec=holds_st)
    def book(self, spec: tuple[int, int, int, bool]) -> None:
        gpus, start, end, maintenance = spec
        self.next_id += 1
        h = hold(f"h{self.next_id}", gpus, start, end, HoldKind.MAINTENANCE if maintenance else HoldKind.RESERVED)
        if self._fits(h):
            self.ledger.book(h)
            self.model[h.id] = h
        else:
            with pytest.raises(Overbooked):
                self.ledger.book(h)

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        hid = data.draw(st.sampled_from(sorted(self.model)))
        assert self.ledger.cancel(hid) == self.model.pop(hid)

    @precondition(lambda self: self.model)
    @rule(data=st.data(), more_time=st.integers(0, 30), more_gpus=st.integers(0, 4))
    def extend(self, data: st.DataObject, more_time: int, more_gpus: int) -> None:
        hid = data.draw(st.sampled_from(sorted(self.model)))
        old = self.model[hid]
        new = hold(hid, old.gpus + more_gpus, old.start, old.end + more_time, old.kind)
        if self._fits(new, without=hid):
            assert self.ledger.extend(hid, end=new.end, gpus=new.gpus) == new
            self.model[hid] = new
        else:
            with pytest.raises(Overbooked):
                self.ledger.extend(hid, end=new.end, gpus=new.gpus)

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def shrink(self, data: st.DataObject) -> None:
        hid = data.draw(st.sampled_from(sorted(self.model)))
        old = self.model[hid]
        end = data.draw(st.integers(old.start + 1, old.end))
        gpus = data.draw(st.integers(1, old.gpus))
        self.model[hid] = self.ledger.shrink(hid, end=end, gpus=gpus)
        assert self.model[hid] == hold(hid, gpus, old.start, end, old.kind)

    @invariant()
    def never_overbooked_and_matches_model(self) -> None:
        holds = list(self.model.values())
        assert sorted(self.ledger.holds(), key=lambda h: h.id) == sorted(holds, key=lambda h: h.id)
        for t in range(0, HORIZON + 50, 3):
            assert used(holds, t) <= CAPACITY
            assert self.ledger.free("p", t, t + 1) == CAPACITY - used(holds, t)

    @invariant()
    def queries_match_brute_force(self) -> None:
        holds = list(self.model.values())
        for start, end in [(0, 7), (13, 40), (5, 140), (99, 100)]:
            assert self.ledger.free("p", start, end) == brute_free(holds, CAPACITY, start, end)
        for gpus, duration, not_before in [(1, 5, 0), (CAPACITY, 10, 3), (4, 25, 20)]:
            assert self.ledger.earliest_start("p", gpus, duration, not_before) == brute_earliest(
                holds, CAPACITY, gpus, duration, not_before
            )
        steps = self.ledger.profile("p", 0, HORIZON)
        assert steps[0].start == 0
        assert steps[-1].end == HORIZON
        for step in steps:
            maintenance = sum(h.gpus for h in holds if h.kind is HoldKind.MAINTENANCE and h.start <= step.start < h.end)
            assert step.maintenance == maintenance
            assert step.held == used(holds, step.start) - maintenance
            assert step.free >= 0


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)


@given(st.lists(holds_st, max_size=25), st.integers(0, 120), st.integers(1, 50), st.integers(1, CAPACITY))
def test_earliest_start_fits_and_nothing_earlier_does(
    specs: list[tuple[int, int, int, bool]], not_before: int, duration: int, gpus: int
) -> None:
    ledger = Ledger({"p": CAPACITY})
    for i, (g, s, e, _) in enumerate(specs):
        with contextlib.suppress(Overbooked):
            ledger.book(hold(f"h{i}", g, s, e))
    t = ledger.earliest_start("p", gpus, duration, not_before)
    assert t >= not_before
    assert ledger.free("p", t, t + duration) >= gpus
    assert all(ledger.free("p", u, u + duration) < gpus for u in range(not_before, t))


@given(st.lists(holds_st, max_size=30))
def test_restore_equals_booking_one_by_one(specs: list[tuple[int, int, int, bool]]) -> None:
    booked = Ledger({"p": CAPACITY})
    for i, (g, s, e, m) in enumerate(specs):
        with contextlib.suppress(Overbooked):
            booked.book(hold(f"h{i}", g, s, e, HoldKind.MAINTENANCE if m else HoldKind.RESERVED))
    restored = Ledger({"p": CAPACITY})
    restored.restore(booked.holds())
    assert sorted(restored.holds(), key=lambda h: h.id) == sorted(booked.holds(), key=lambda h: h.id)
    assert restored.profile("p", 0, 200) == booked.profile("p", 0, 200)
    assert restored.earliest_start("p", 3, 17, 5) == booked.earliest_start("p", 3, 17, 5)


def test_restore_refuses_an_overbooked_calendar_and_changes_nothing() -> None:
    ledger = Ledger({"p": 10})
    with pytest.raises(Overbooked, match="exceed its capacity by 2 GPUs"):
        ledger.restore([hold("a", 6, 0, 10), hold("b", 6, 5, 15)])
    assert list(ledger.holds()) == []
    assert ledger.free("p", 0, 20) == 10
