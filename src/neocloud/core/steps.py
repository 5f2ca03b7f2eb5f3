"""A step function over integer time, O(log n) per query and (amortised) per change.

It is kept as its changes: at each breakpoint `t`, how much the value rises (or falls) there. The value at
`t` is the sum of the changes up to `t`, and adding `delta` on `[start, end)` is two changes, however many
steps it covers. Before the first breakpoint and after the last one the value is 0.

The changes sit in sorted chunks of at most 2 * CHUNK. Each chunk is summarised by the sum of its changes
and the highest and lowest running sum within it, and a segment tree over the summaries answers the value
at an instant, the largest value over a window and the first instant the value crosses a level from
O(log n) tree nodes and at most two chunks, scanned with C-speed builtins. A copy shares its chunks until
either side changes one (copy on write): copying a calendar costs O(n / CHUNK), not O(n).

Changes wait in a small table and are merged in batches, sorted, each chunk summed once and each tree node
above them refreshed once: a batch costs a fraction of its changes merged one by one. A query merges what
waits first, except the check a booking makes (`first_above`), which answers without merging where the
waiting changes could not reach the limit: the sum of their rises bounds what they add anywhere.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate, pairwise

INFINITY = 2**62  # a time later than any real one; intervals are integer seconds
CHUNK = 32
# Changes are held back and merged in batches of about PER_CHUNK for each chunk (one summary per chunk and one
# pass up the tree serve them all), at least PENDING and at most MOST_PENDING: whoever merges them waits for
# no more (2,046 changes scattered over a pool of 1,000,000 holds: about 30 ms, 15 µs a change).
PER_CHUNK = 8
PENDING = 64
MOST_PENDING = 2048

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
    __slots__ = ("_changes", "_firsts", "_owned", "_pending", "_rise", "_times", "_tree", "_width")

    def __init__(self) -> None:
        self._times: list[list[int]] = []  # per chunk, its breakpoints, ascending
        self._changes: list[list[int]] = []  # per chunk, the change at each breakpoint (never 0)
        self._owned: list[bool] = []  # per chunk: False while a copy shares it
        self._firsts: list[int] = []  # per chunk, its first breakpoint
        self._width = 1  # the tree's leaves: a power of two, at least one per chunk
        self._tree: list[Summary] = [NOTHING, NOTHING]  # node k's children are 2k and 2k + 1; leaves from _width
        self._pending: dict[int, int] = {}  # changes not merged yet: breakpoint -> change (never 0)
        self._rise = 0  # the sum of the positive pending changes: the most they can raise any value

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
        self.settle()
        made = StepFunction()
        made._times, made._changes, made._firsts = self._times.copy(), self._changes.copy(), self._firsts.copy()
        made._width, made._tree = self._width, self._tree.copy()
        self._owned = [False] * len(self._times)
        made._owned = self._owned.copy()
        return made

    # Changes ------------------------------------------------------------------------------------------

    def add(self, start: int, end: int, delta: int) -> None:
        """Add `delta` on [start, end): two pending changes, merged with the others when there are enough of
        them or a query needs them (first_above answers without them where they cannot matter)."""
        if not delta or start >= end:
            return
        pending = self._pending
        for t, d in ((start, delta), (end, -delta)):
            old = pending.get(t, 0)
            new = old + d
            self._rise += (new if new > 0 else 0) - (old if old > 0 else 0)
            if new:
                pending[t] = new
            else:
                del pending[t]
        if len(pending) >= min(max(PENDING, PER_CHUNK * len(self._times)), MOST_PENDING):
            self.settle()

    @property
    def waiting(self) -> int:
        """How many changes wait to be merged."""
        return len(self._pending)

    def settle(self) -> None:
        """Merge the pending changes into the chunks, a chunk's share at a time, then refresh the tree above the
        leaves they rewrote, each node once: a batch costs far less than its changes one by one (each chunk is
        summed once, and the paths up the tree join). Queries do so first, so a function read by several
        threads at once must be settled before it is shared (a read of a settled function writes nothing)."""
        if not self._pending:
            return
        changes = sorted(self._pending.items())
        self._pending, self._rise = {}, 0
        if not self._times:  # an empty chunk to merge into
            self._times.append([])
            self._changes.append([])
            self._owned.append(True)
            self._firsts.append(changes[0][0])
        touched, moved = set(), self._width  # leaves rewritten in place; every leaf from `moved` on moved
        firsts, i = self._firsts, 0
        while i < len(changes):  # in order: a leaf before the first that moved never moves
            c = max(0, bisect_right(firsts, changes[i][0]) - 1)
            j = len(changes) if c + 1 == len(firsts) else bisect_left(changes, (firsts[c + 1],), i + 1)
            c, shifted = self._merge(c, changes[i:j])
            if shifted:
                moved = min(moved, c)
            else:
                touched.add(c)
            firsts, i = self._firsts, j
        if moved == self._width and len(touched) <= 2:  # one booking's two changes: two paths up
            self._climb(min(touched), max(touched))
        else:
            self._refresh(touched, moved)

    def _merge(self, c: int, changes: list[tuple[int, int]]) -> tuple[int, bool]:
        """Merge `changes` (in order, all before the next chunk) into chunk `c`, rewriting its leaf's summary but
        not its ancestors'. Returns (c, False) where the chunk changed within itself, (c, True) where it split
        or emptied and every leaf after it moved, and (0, True) where the tree was rebuilt wider."""
        times, deltas_of, tree, width = self._times, self._changes, self._tree, self._width
        if not self._owned[c]:  # shared with a copy: this side gets its own
            times[c], deltas_of[c] = times[c].copy(), deltas_of[c].copy()
            self._owned[c] = True
        chunk, deltas = times[c], deltas_of[c]
        i = 0
        for t, delta in changes:
            i = bisect_left(chunk, t, i)
            if i < len(chunk) and chunk[i] == t:
                deltas[i] += delta
                if not deltas[i]:
                    del chunk[i], deltas[i]
            else:
                chunk.insert(i, t)
                deltas.insert(i, delta)
        n = len(times)
        if not chunk:  # the leaves after it move left by one
            del times[c], deltas_of[c], self._owned[c], self._firsts[c]
            tree[width + c : width + n] = [*tree[width + c + 1 : width + n], NOTHING]
            return c, True
        if len(chunk) <= 2 * CHUNK:
            self._firsts[c] = chunk[0]
            tree[width + c] = _summary(deltas)
            return c, False
        # Split into chunks of CHUNK to 2 * CHUNK; the leaves after it move right.
        count = len(chunk) // CHUNK
        bounds = [len(chunk) * k // count for k in range(count + 1)]
        pieces = list(pairwise(bounds))
        times[c : c + 1] = [chunk[a:b] for a, b in pieces]
        deltas_of[c : c + 1] = [deltas[a:b] for a, b in pieces]
        self._owned[c : c + 1] = [True] * len(pieces)
        self._firsts[c : c + 1] = [times[k][0] for k in range(c, c + len(pieces))]
        made = [_summary(deltas_of[k]) for k in range(c, c + len(pieces))]
        grown = n + len(pieces) - 1
        if grown > width:  # no room for the leaves: a tree twice as wide, or more
            self._reindex([*tree[width : width + c], *made, *tree[width + c + 1 : width + n]])
            return 0, True
        tree[width + c : width + grown] = [*made, *tree[width + c + 1 : width + n]]
        return c, True

    def _reindex(self, leaves: list[Summary]) -> None:
        """The chunks' first breakpoints and the whole tree above their summaries `leaves`: O(chunks)."""
        self._firsts = [chunk[0] for chunk in self._times]
        width = 1
        while width < len(leaves):
            width *= 2
        self._width = width
        self._tree = [NOTHING] * width + leaves + [NOTHING] * (width - len(leaves))
        self._refresh(set(), 0)

    def _refresh(self, touched: set[int], moved: int) -> None:
        """The ancestors of the leaves in `touched` and of every leaf from `moved` on, a level at a time: those
        above `moved` as one slice, built by a list comprehension; the others one by one, each once."""
        tree, width = self._tree, self._width
        nodes = {width + c for c in touched if c < moved}
        lo, hi = width + moved, 2 * width  # the slice; empty (and staying so: powers of two) if moved == width
        for _ in range(width.bit_length() - 1):
            lo, hi = lo // 2, (hi + 1) // 2
            if lo < hi:
                tree[lo:hi] = [
                    (total + more, max(high, total + right_high), min(low, total + right_low))
                    for (total, high, low), (more, right_high, right_low) in zip(
                        tree[2 * lo : 2 * hi : 2], tree[2 * lo + 1 : 2 * hi : 2], strict=True
                    )
                ]
            nodes = {node // 2 for node in nodes if not lo <= node // 2 < hi}
            self._rejoin(nodes)

    def _climb(self, first: int, second: int) -> None:
        """_refresh for the leaves `first` <= `second` alone, without its sets: the two paths up, each node once
        (they join below the root)."""
        a, b = (self._width + first) // 2, (self._width + second) // 2
        path = []
        while a:
            path.append(a)
            if b != a:
                path.append(b)
            a //= 2
            b //= 2
        self._rejoin(path)

    def _rejoin(self, nodes: Iterable[int]) -> None:
        """Each node's summary from its children's, in the order given (no node before its children)."""
        tree = self._tree
        for node in nodes:  # _joined, inlined: most of a change's cost
            (total, high, low), (more, right_high, right_low) = tree[2 * node], tree[2 * node + 1]
            right_high += total
            right_low += total
            tree[node] = (
                total + more,
                high if high > right_high else right_high,
                low if low < right_low else right_low,
            )

    # Queries ------------------------------------------------------------------------------------------

    def is_zero(self) -> bool:
        self.settle()
        return not self._times

    def __len__(self) -> int:
        """How many breakpoints."""
        self.settle()
        return sum(map(len, self._times))

    def value_at(self, t: int) -> int:
        return self._at(t)[2]

    def max_over(self, start: int, end: int) -> int:
        """The largest value on [start, end)."""
        self.settle()
        return self._settled_max(start, end)

    def _settled_max(self, start: int, end: int) -> int:
        """The largest value on [start, end) of the chunks alone, pending changes aside."""
        c, i, value = self._locate(start)
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
        rise = self._rise  # pending changes raise no value by more
        if max(self._tree[1][1], 0) + rise <= limit:
            return None  # no value anywhere exceeds it: O(1)
        if rise and self._settled_max(start, end) + rise <= limit:
            return None  # none in the window does: the pending changes can wait
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
        self.settle()
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
        self.settle()
        return self._locate(t)

    def _locate(self, t: int) -> tuple[int, int, int]:
        """_at, over the chunks alone."""
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
