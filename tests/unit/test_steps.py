from hypothesis import given
from hypothesis import strategies as st

from neocloud.core.steps import StepFunction


def brute(changes: list[tuple[int, int, int]], t: int) -> int:
    return sum(d for s, e, d in changes if s <= t < e)


intervals = st.tuples(st.integers(0, 50), st.integers(1, 20), st.integers(-5, 5)).map(
    lambda x: (x[0], x[0] + x[1], x[2])
)


@given(st.lists(intervals, max_size=30))
def test_step_function_matches_brute_force_and_stays_minimal(changes: list[tuple[int, int, int]]) -> None:
    f = StepFunction()
    for s, e, d in changes:
        f.add(s, e, d)
    for t in range(-1, 80):
        assert f.value_at(t) == brute(changes, t)
    # Minimal: no two adjacent steps are equal, the first differs from 0, and the last step is back at 0.
    assert all(a != b for a, b in zip([0, *f.values], f.values, strict=False))
    assert f.times == sorted(set(f.times))
    if f.values:
        assert f.values[-1] == 0
    for s in range(0, 60, 7):
        for e in range(s + 1, 80, 9):
            assert f.max_over(s, e) == max(brute(changes, t) for t in range(s, e))


def test_steps_clip_to_the_window() -> None:
    f = StepFunction()
    f.add(10, 20, 3)
    assert list(f.steps(0, 30)) == [(0, 10, 0), (10, 20, 3), (20, 30, 0)]
    assert list(f.steps(12, 15)) == [(12, 15, 3)]
    assert f.first_above(0, 30, 2) == (10, 3)
    assert f.first_above(0, 10, 0) is None
