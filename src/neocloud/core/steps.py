"""A step function over integer time, O(log n) per change and per query.

It is kept as its changes: at each breakpoint `t`, how much the value rises (or falls) there. The value at
`t` is the sum of the changes up to `t`, and adding `delta` on `[start, end)` is two changes, however many
steps it covers. Before the first breakpoint and after the last one the value is 0.

The changes sit in sorted chunks of at most 2 * CHUNK. Each chunk is summarised by the sum of its changes
and the highest and lowest running sum within it, and a segment tree over the summaries answers the value
at an instant, the largest value over a window and the first instant the value crosses a level from
O(log n) tree nodes and at most two chunks, scanned with C-speed builtins. A copy shares its chunks until
either side changes one (copy on write): copying a calendar costs O(n / CHUNK), not O(n).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate

INFINITY = 2**62  # a time later than any real one; intervals are integer seconds
CHUNK = 32

Summary = tuple[int, int, int]  # (sum of the changes, highest running sum, lowest running sum)
NOTHING: Summary = (0, -INFINITY, INFINITY)
AT_ONCE: Summary = (0, 0, 0)  # no change: `holds(value, AT_ONCE)` asks of a value itself
Holds = Callable[[int, Summary], bool]  # whether a run of changes, after a value, reaches what is sought


def _summary(changes: list[int]) -> Summary:
    if not changes:
        return NOTHING
    sums = list(accumulate(changes))
    return sums[-1], max(sums), min(sums)


def _joined(left: Summary, right: Summary) -> Summary:
    total, high, low = left
    return total + right[0], max(high, total + right[1]), min(low, total + right[2])


def _rises_above(limit: int) -> Holds:
    return lambda before, s: before + s[1] > limit


def _falls_to(limit: int) -> Holds:
    return lambda before, s: before + s[2] <= limit


class StepFunction:
    __slots__ = ("_changes", "_firsts", "_owned", "_times", "_tree", "_width")

    def __init__(self) -> None:
        self._times: list[list[int]] = []  # per chunk, its breakpoints, ascending
        self._changes: list[list[int]] = []  # per chunk, the change at each breakpoint (never 0)
        self._owned: list[bool] = []  # per chunk: False while a copy shares it
        self._firsts: list[int] = []  # per chunk, its first breakpoint
        self._width = 1  # the tree's leaves: a power of two, at least one per chunk
        self._tree: list[Summary] = [NOTHING, NOTHING]  # node k's children are 2k and 2k + 1; leaves from _width

    @classmethod
    def of(cls, intervals: Iterable[tuple[int, int, int]]) -> StepFunction:
        """The sum of (start, end, value) intervals, built in one sorted sweep: O(n log n), for loading."""
        deltas: dict[int, int] = {}
        for start, end, value in intervals:
            deltas[start] = deltas.get(start, 0) + value
            deltas[end] = deltas.get(end, 0) - value
        times = [t for t in sorted(deltas) if deltas[t]]
        built = cls()
        for i in range(0, len(times), CHUNK):
            built._times.append(times[i : i + CHUNK])
            built._changes.append([deltas[t] for t in built._times[-1]])
        built._owned = [True] * len(built._times)
        built._reindex([_summary(deltas) for deltas in built._changes])
        return built

    def copy(self) -> StepFunction:
        made = StepFunction()
        made._times, made._changes, made._firsts = self._times.copy(), self._changes.copy(), self._firsts.copy()
        made._width, made._tree = self._width, self._tree.copy()
        self._owned = [False] * len(self._times)
        made._owned = self._owned.copy()
        return made

    # Changes ------------------------------------------------------------------------------------------

    def add(self, start: int, end: int, delta: int) -> None:
        """Add `delta` on [start, end)."""
        if delta and start < end:
            self._change(start, delta)
            self._change(end, -delta)

    def _change(self, t: int, delta: int) -> None:
        times, changes = self._times, self._changes
        if not times:
            times.append([t])
            changes.append([delta])
            self._owned.append(True)
            self._reindex([_summary(changes[0])])
            return
        c = max(0, bisect_right(self._firsts, t) - 1)
        if not self._owned[c]:  # shared with a copy: this side gets its own
            times[c], changes[c] = times[c].copy(), changes[c].copy()
            self._owned[c] = True
        chunk, deltas = times[c], changes[c]
        i = bisect_left(chunk, t)
        if i < len(chunk) and chunk[i] == t:
            deltas[i] += delta
            if not deltas[i]:
                del chunk[i], deltas[i]
        else:
            chunk.insert(i, t)
            deltas.insert(i, delta)
        if not chunk:
            leaves = self._leaves()
            del times[c], changes[c], self._owned[c], leaves[c]
            self._reindex(leaves)
        elif len(chunk) > 2 * CHUNK:  # split in halves
            leaves = self._leaves()
            times.insert(c + 1, chunk[CHUNK:])
            changes.insert(c + 1, deltas[CHUNK:])
            self._owned.insert(c + 1, True)
            del chunk[CHUNK:], deltas[CHUNK:]
            leaves[c : c + 1] = [_summary(deltas), _summary(changes[c + 1])]
            self._reindex(leaves)
        else:
            self._firsts[c] = chunk[0]
            self._refresh(c)

    def _leaves(self) -> list[Summary]:
        """The chunks' summaries, as the tree has them."""
        return self._tree[self._width : self._width + len(self._times)]

    def _reindex(self, leaves: list[Summary]) -> None:
        """The chunks' first breakpoints and the tree above their summaries `leaves`, after chunks came or
        went: O(chunks), once in CHUNK changes at most."""
        self._firsts = [chunk[0] for chunk in self._times]
        width = 1
        while width < len(leaves):
            width *= 2
        tree = [NOTHING] * width + leaves + [NOTHING] * (width - len(leaves))
        for node in range(width - 1, 0, -1):
            tree[node] = _joined(tree[2 * node], tree[2 * node + 1])
        self._width, self._tree = width, tree

    def _refresh(self, c: int) -> None:
        """Chunk `c` changed within itself: its summary and its ancestors'."""
        tree, node = self._tree, self._width + c
        tree[node] = _summary(self._changes[c])
        node //= 2
        while node:  # _joined, inlined: this loop is most of a change's cost
            (total, high, low), (more, right_high, right_low) = tree[2 * node], tree[2 * node + 1]
            right_high += total
            right_low += total
            tree[node] = (
                total + more,
                high if high > right_high else right_high,
                low if low < right_low else right_low,
            )
            node //= 2

    # Queries ------------------------------------------------------------------------------------------

    def is_zero(self) -> bool:
        return not self._times

    def __len__(self) -> int:
        """How many breakpoints."""
        return sum(map(len, self._times))

    def value_at(self, t: int) -> int:
        return self._at(t)[2]

    def max_over(self, start: int, end: int) -> int:
        """The largest value on [start, end)."""
        c, i, value = self._at(start)
        if c >= len(self._times):
            return value
        times, changes, best = self._times, self._changes, value
        j = bisect_left(times[c], end, i)
        if j > i:
            best = max(best, *accumulate(changes[c][i:j], initial=value))
        if j < len(times[c]):
            return best
        value += sum(changes[c][i:])
        last = bisect_left(self._firsts, end) - 1  # the last chunk that begins before `end`
        if last <= c:
            return best
        inside = self._span(c + 1, last)  # the chunks in between end before the last one begins
        best, value = max(best, value + inside[1]), value + inside[0]
        tail = bisect_left(times[last], end)
        return max(best, *accumulate(changes[last][:tail], initial=value))

    def first_above(self, start: int, end: int, limit: int) -> tuple[int, int] | None:
        """(instant, value) of the first step on [start, end) whose value exceeds `limit`, else None."""
        c, i, value = self._at(start)
        if value > limit:
            return start, value
        return self._first(c, i, value, end, _rises_above(limit))

    def first_at_most(self, start: int, limit: int) -> int:
        """The first instant >= start where the value is `limit` or less (one exists for any limit >= 0:
        the function ends at 0)."""
        c, i, value = self._at(start)
        if value <= limit:
            return start
        found = self._first(c, i, value, INFINITY, _falls_to(limit))
        if found is None:
            raise ValueError(f"the value never falls to {limit}")
        return found[0]

    def first_window(self, start: int, duration: int, limit: int) -> int:
        """The earliest t >= start with the value at most `limit` over all of [t, t + duration) (limit >= 0):
        each try jumps past a whole run above the limit."""
        candidate = start
        while (above := self.first_above(candidate, candidate + duration, limit)) is not None:
            candidate = self.first_at_most(above[0], limit)
        return candidate

    def peak(self) -> tuple[int, int] | None:
        """(the highest value it takes from a breakpoint on, and the first such breakpoint), or None where the
        function is zero everywhere."""
        if not self._times:
            return None
        found = self._first(0, 0, 0, INFINITY, _rises_above(self._tree[1][1] - 1))
        assert found is not None
        return found[1], found[0]

    def breakpoints(self, start: int, end: int) -> Iterator[int]:
        """The instants in (start, end) where the value changes, in order."""
        for t, _ in self._after(start, end):
            yield t

    def steps(self, start: int, end: int) -> Iterator[tuple[int, int, int]]:
        """(step_start, step_end, value) for the steps that cover [start, end), clipped to it."""
        t, value = start, self.value_at(start)
        for nxt, after in self._after(start, end):
            yield t, nxt, value
            t, value = nxt, after
        if t < end:
            yield t, end, value

    # Walking the chunks and the tree --------------------------------------------------------------------

    def _at(self, t: int) -> tuple[int, int, int]:
        """(chunk, index in it of the first breakpoint after t, value at t)."""
        c = bisect_right(self._firsts, t) - 1
        if c < 0:
            return 0, 0, 0
        i = bisect_right(self._times[c], t)
        return c, i, self._before(c) + sum(self._changes[c][:i])

    def _before(self, c: int) -> int:
        """The value just before chunk `c`: the changes of the chunks before it, from O(log n) nodes."""
        total, node, tree = 0, self._width + c, self._tree
        while node > 1:
            if node % 2:
                total += tree[node - 1][0]
            node //= 2
        return total

    def _span(self, first: int, last: int) -> Summary:
        """The summary of chunks first .. last - 1, in order."""
        tree, lo, hi = self._tree, first + self._width, last + self._width
        left, right = NOTHING, NOTHING
        while lo < hi:
            if lo % 2:
                left = _joined(left, tree[lo])
                lo += 1
            if hi % 2:
                hi -= 1
                right = _joined(tree[hi], right)
            lo //= 2
            hi //= 2
        return _joined(left, right)

    def _after(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        """(breakpoint, value from it) for the breakpoints in (start, end), in order."""
        c, i, value = self._at(start)
        times, changes = self._times, self._changes
        while c < len(times):
            chunk, deltas = times[c], changes[c]
            for k in range(i, len(chunk)):
                if chunk[k] >= end:
                    return
                value += deltas[k]
                yield chunk[k], value
            c, i = c + 1, 0

    def _first(self, c: int, i: int, value: int, end: int, holds: Holds) -> tuple[int, int] | None:
        """The first breakpoint in (t, end), where (c, i, value) locate t, after which the value is what
        `holds` seeks: the rest of chunk c scanned, the chunks after it skipped by the tree to the first that
        holds it, and that one scanned."""
        times, changes = self._times, self._changes
        for _ in range(2):
            if c >= len(times):
                return None
            chunk = times[c]
            j = bisect_left(chunk, end, i)
            run = list(accumulate(changes[c][i:j], initial=value))  # the value before, then after each
            # A chunk's worth at C speed: the running values as a summary, scanned one by one only on a hit.
            after = run[1:]
            if after and holds(value, (0, max(after) - value, min(after) - value)):
                k = next(k for k, v in enumerate(after) if holds(v, AT_ONCE))
                return chunk[i + k], after[k]
            if j < len(chunk):
                return None  # the window ends within this chunk
            value = run[-1]
            found = self._next_chunk(c + 1, value, holds)
            if found is None:
                return None
            (c, value), i = found, 0
        return None

    def _next_chunk(self, first: int, before: int, holds: Holds) -> tuple[int, int] | None:
        """(the first chunk >= `first` in which `holds`, the value before it), climbing from `first`'s leaf
        to the first subtree to its right that holds it, then down to that subtree's first leaf that does."""
        if first >= len(self._times):
            return None
        tree, width, node = self._tree, self._width, first + self._width
        while not holds(before, tree[node]):
            before += tree[node][0]
            while node % 2:  # a right child: up to the first ancestor that has a right sibling
                node //= 2
                if node == 0:
                    return None
            node += 1
        while node < width:
            left = 2 * node
            if holds(before, tree[left]):
                node = left
            else:
                before += tree[left][0]
                node = left + 1
        c = node - width
        return (c, before) if c < len(self._times) else None
