"""A step function over integer time, kept as sorted breakpoints.

`values[i]` holds on `[times[i], times[i+1])`; before the first breakpoint and after the last one the value
is 0. Adjacent equal steps are merged, so the size stays proportional to the number of distinct changes.
Plain lists beat trees here: pools hold hundreds of breakpoints, and list.insert is a C memmove.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator

INFINITY = 2**62  # a time later than any real one; intervals are integer seconds


class StepFunction:
    __slots__ = ("times", "values")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.values: list[int] = []

    def copy(self) -> StepFunction:
        made = StepFunction()
        made.times, made.values = self.times.copy(), self.values.copy()
        return made

    @classmethod
    def of(cls, intervals: Iterable[tuple[int, int, int]]) -> StepFunction:
        """The sum of (start, end, value) intervals, built in one sorted sweep: O(n log n), for loading."""
        deltas: dict[int, int] = {}
        for start, end, value in intervals:
            deltas[start] = deltas.get(start, 0) + value
            deltas[end] = deltas.get(end, 0) - value
        built = cls()
        level = 0
        for t in sorted(deltas):
            level += deltas[t]
            if level != (built.values[-1] if built.values else 0):
                built.times.append(t)
                built.values.append(level)
        return built

    def value_at(self, t: int) -> int:
        i = bisect_right(self.times, t) - 1
        return self.values[i] if i >= 0 else 0

    def max_over(self, start: int, end: int) -> int:
        """The largest value on [start, end)."""
        i = bisect_right(self.times, start) - 1
        j = bisect_left(self.times, end)
        if i < 0:
            return max(0, max(self.values[:j], default=0))
        return max(self.values[i:j])

    def steps(self, start: int, end: int) -> Iterator[tuple[int, int, int]]:
        """(step_start, step_end, value) for the steps that cover [start, end), clipped to it."""
        i = bisect_right(self.times, start) - 1
        t = start
        while t < end:
            nxt = self.times[i + 1] if i + 1 < len(self.times) else INFINITY
            value = self.values[i] if i >= 0 else 0
            step_end = min(nxt, end)
            yield t, step_end, value
            t = step_end
            i += 1

    def first_above(self, start: int, end: int, limit: int) -> tuple[int, int] | None:
        """(instant, value) of the first step on [start, end) whose value exceeds `limit`, else None."""
        for step_start, _, value in self.steps(start, end):
            if value > limit:
                return step_start, value
        return None

    def add(self, start: int, end: int, delta: int) -> None:
        """Add `delta` on [start, end)."""
        i = self._split(start)
        j = self._split(end)
        values = self.values
        for k in range(i, j):
            values[k] += delta
        # Only the two edges can have become redundant: inside, all steps moved together.
        self._merge(j)
        self._merge(i)

    def _split(self, t: int) -> int:
        times = self.times
        i = bisect_left(times, t)
        if i < len(times) and times[i] == t:
            return i
        times.insert(i, t)
        self.values.insert(i, self.values[i - 1] if i > 0 else 0)
        return i

    def _merge(self, i: int) -> None:
        if i >= len(self.times):
            return
        before = self.values[i - 1] if i > 0 else 0
        if self.values[i] == before:
            del self.times[i]
            del self.values[i]
