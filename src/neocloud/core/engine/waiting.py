"""Waiting jobs of a static ordering (one whose key never changes while a job waits, preemptive or not: SRTF's
remaining time stands still while a job waits), indexed by shape: what placement depends on
(`Job.resources`). Jobs of one shape fit in exactly the same places, so once one found no room in a decision,
a walk passes over the rest of its shape at once (a preemptive walk: once it needs more GPUs than are left).
A decision then costs in proportion to the shapes waiting and the jobs it starts, not to the backlog: with
90,000 jobs waiting, it still looks at a few hundred.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from sortedcontainers import SortedKeyList

from neocloud.core.engine.state import JobState


def _key(s: JobState) -> tuple[object, ...]:
    return s.queue_key


class ShapeQueue:
    """Jobs in `queue_key` order (set by the caller before `add`), one sorted list per shape."""

    def __init__(self) -> None:
        self._shapes: dict[tuple[object, ...], SortedKeyList] = {}
        self._count = 0
        self.milli = 0  # GPU demand of every job waiting, in milli-GPUs

    def add(self, s: JobState) -> None:
        shape = s.job.resources
        jobs = self._shapes.get(shape)
        if jobs is None:
            jobs = self._shapes[shape] = SortedKeyList(key=_key)
        jobs.add(s)
        self._count += 1
        self.milli += s.job.milli

    def remove(self, s: JobState) -> None:
        shape = s.job.resources
        jobs = self._shapes[shape]
        jobs.remove(s)
        if not jobs:
            del self._shapes[shape]
        self._count -= 1
        self.milli -= s.job.milli

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[JobState]:
        """Every waiting job in queue order."""
        return heapq.merge(*self._shapes.values(), key=_key)

    def walk(self) -> Walk:
        return Walk(self._shapes)


class Walk:
    """The jobs in queue order, as `iter(queue)`, except that `skip(shape)` passes over the rest of a shape."""

    def __init__(self, shapes: dict[tuple[object, ...], SortedKeyList]) -> None:
        self._lists = shapes
        # (key of the shape's next job, shape, its position): keys are unique, so shapes are never compared
        self._heads = [(jobs[0].queue_key, shape, 0) for shape, jobs in shapes.items()]
        heapq.heapify(self._heads)
        self._skipped: set[tuple[object, ...]] = set()

    def __iter__(self) -> Walk:
        return self

    def __next__(self) -> JobState:
        while self._heads:
            _, shape, position = self._heads[0]
            if shape in self._skipped:
                heapq.heappop(self._heads)
                continue
            jobs = self._lists[shape]
            if position + 1 < len(jobs):
                nxt = jobs[position + 1]
                heapq.heapreplace(self._heads, (nxt.queue_key, shape, position + 1))
            else:
                heapq.heappop(self._heads)
            return jobs[position]  # type: ignore[no-any-return]
        raise StopIteration

    def skip(self, shape: tuple[object, ...]) -> None:
        self._skipped.add(shape)
