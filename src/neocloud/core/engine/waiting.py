"""Waiting jobs kept in line between decisions, indexed by shape: what placement depends on (`Job.resources`).

A queue holds jobs whose order among themselves never changes while they wait: every job of a static ordering
(SRTF's remaining time stands still while a job waits), a tenant's jobs under fair share (by arrival), a
Tiresias queue's line (tiresias.Lines). Jobs of one shape fit in exactly the same places, so once one found no
room in a decision, a walk passes over the rest of its shape at once (a preemptive walk: once it needs more
GPUs than are left). A decision then costs in proportion to the shapes waiting and the jobs it starts, not to
the backlog: with 90,000 jobs waiting, it still looks at a few hundred.

Lines: the first `width` parts of a job's `queue_key` name its line; a walk ranks each line by what `head`
makes of those parts at that decision (fair share: a tenant ranks by the GPUs it uses then), followed by the
rest of the key. With width 0 the key is the ranking itself.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Mapping

from sortedcontainers import SortedKeyList

from neocloud.core.engine.state import JobState

Key = tuple[object, ...]
QueueKeyFn = Callable[[JobState, int, Mapping[str, int]], Key]  # (job, now, usage) -> its queue_key
HeadFn = Callable[[Key, int, Mapping[str, int]], Key]  # (line, now, usage) -> what the line ranks as now


def _key(s: JobState) -> Key:
    return s.queue_key


class ShapeQueue:
    """Jobs in `queue_key` order, one sorted list per line and shape. `key` sets a job's queue_key as it is
    added; without one the caller sets it first."""

    def __init__(self, key: QueueKeyFn | None = None, width: int = 0, head: HeadFn | None = None) -> None:
        self._lists: dict[tuple[Key, tuple[object, ...]], SortedKeyList] = {}
        self._queue_key, self._width, self._head = key, width, head
        self._count = 0
        self.milli = 0  # GPU demand of every job waiting, in milli-GPUs

    def _where(self, s: JobState) -> tuple[Key, tuple[object, ...]]:
        return s.queue_key[: self._width], s.job.resources

    def add(self, s: JobState, now: int = 0, usage: Mapping[str, int] | None = None) -> None:
        if self._queue_key is not None:
            s.queue_key = self._queue_key(s, now, usage or {})
        where = self._where(s)
        jobs = self._lists.get(where)
        if jobs is None:
            jobs = self._lists[where] = SortedKeyList(key=_key)
        jobs.add(s)
        self._count += 1
        self.milli += s.job.milli

    def remove(self, s: JobState) -> None:
        where = self._where(s)
        jobs = self._lists[where]
        jobs.remove(s)
        if not jobs:
            del self._lists[where]
        self._count -= 1
        self.milli -= s.job.milli

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[JobState]:
        """Every waiting job in queue_key order."""
        return heapq.merge(*self._lists.values(), key=_key)

    def walk(self, now: int = 0, usage: Mapping[str, int] | None = None, room: int | None = None) -> Walk:
        """The jobs in rank order at `now`; with `room` (milli-GPUs), only shapes no larger."""
        lists = self._lists
        if room is not None:
            lists = {where: jobs for where, jobs in lists.items() if jobs[0].job.milli <= room}
        return self._walk(lists, now, usage)

    def of_shape(self, shape: tuple[object, ...], now: int = 0, usage: Mapping[str, int] | None = None) -> Walk:
        """The jobs of one shape in rank order at `now`."""
        return self._walk({where: jobs for where, jobs in self._lists.items() if where[1] == shape}, now, usage)

    def _walk(
        self, lists: dict[tuple[Key, tuple[object, ...]], SortedKeyList], now: int, usage: Mapping[str, int] | None
    ) -> Walk:
        if self._head is None:
            return Walk(lists, 0, {})
        return Walk(lists, self._width, {line: self._head(line, now, usage or {}) for line, _ in lists})


class Walk:
    """The jobs in rank order, except that `skip(shape)` passes over the rest of a shape. `keyed()` gives each
    with its rank key."""

    def __init__(self, lists: dict[tuple[Key, tuple[object, ...]], SortedKeyList], width: int, heads: dict[Key, Key]):
        self._lists = lists
        self._width, self._line_heads = width, heads
        # (rank key of the list's next job, where, its position): keys are unique, so lists are never compared
        self._heads = [(self._rank(jobs[0], where[0]), where, 0) for where, jobs in lists.items()]
        heapq.heapify(self._heads)
        self._skipped: set[tuple[object, ...]] = set()

    def _rank(self, s: JobState, line: Key) -> Key:
        if not self._line_heads:
            return s.queue_key
        return self._line_heads[line] + s.queue_key[self._width :]

    def __iter__(self) -> Walk:
        return self

    def __next__(self) -> JobState:
        return self._next()[1]

    def keyed(self) -> Iterator[tuple[Key, JobState]]:
        """(rank key, job) in rank order: to merge with jobs ranked elsewhere (running ones)."""
        while True:
            try:
                yield self._next()
            except StopIteration:
                return

    def _next(self) -> tuple[Key, JobState]:
        while self._heads:
            key, where, position = self._heads[0]
            if where[1] in self._skipped:
                heapq.heappop(self._heads)
                continue
            jobs = self._lists[where]
            if position + 1 < len(jobs):
                nxt = jobs[position + 1]
                heapq.heapreplace(self._heads, (self._rank(nxt, where[0]), where, position + 1))
            else:
                heapq.heappop(self._heads)
            return key, jobs[position]
        raise StopIteration

    def skip(self, shape: tuple[object, ...]) -> None:
        self._skipped.add(shape)
