"""Running jobs, kept between decisions by their owner (the simulator), in the order they started and, for SRTF,
SRSF and Tiresias, in rank order too.

Under SRTF a running job ranks by its remaining time, which is its uninterrupted end less now: every running
job's falls at the same rate, so their order is fixed from start to stop. Under SRSF (remaining time x GPUs) it
is fixed among jobs of one GPU count. Under Tiresias a running job's lane changes only when it falls a queue,
when the simulator wakes anyway (`rekey`). The line keeps them sorted so, a list per group, and a decision reads
them from the worst end only as far as it needs (scheduler._preempt_in_line): with tens of thousands running, a
decision that preempts a few looks at a few.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sortedcontainers import SortedList

from neocloud.core.engine.state import JobState
from neocloud.core.workload import Job

Key = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class RunningOrder:
    """How a preemptive ordering's running jobs rank between decisions: by a key `fixed` while the job runs (until
    `rekey`), in a list per `group`; `at` makes it the rank key at a decision's time (None: the key itself)."""

    fixed: Callable[[JobState, int], Key]  # (job, now) -> its key while it runs
    group: Callable[[Job], int] = lambda job: 0
    at: Callable[[Key, int, int], Key] | None = None  # (fixed key, group, now) -> rank key


def by_remaining(weight: Callable[[Job], int]) -> RunningOrder:
    """SRTF (weight 1) and SRSF (weight GPUs): rank key (spot, remaining x weight, submit, id), where remaining
    is the uninterrupted end less now."""
    return RunningOrder(
        lambda s, now: (s.spot, s.ends_at(), s.job.submit, s.job.id),
        weight,
        lambda key, weight, now: (key[0], (key[1] - now) * weight, key[2], key[3]),  # type: ignore[operator]
    )


class RunningLine:
    """Running jobs by id() in start order; with an `order`, the preemptible ones also in rank order."""

    def __init__(self, order: RunningOrder | None = None) -> None:
        self.order = order
        self._jobs: dict[int, JobState] = {}
        self._order: dict[int, int] = {}  # id() -> start sequence
        self._entries: dict[int, tuple[Key, JobState]] = {}  # id() -> its entry in its group's list
        self._sorted: dict[int, SortedList] = {}  # group -> (fixed key, job) entries, rising
        self._seq = itertools.count()
        self.milli = 0  # preemptible jobs' GPUs, in milli-GPUs
        self.pinned = 0  # the others'

    def add(self, s: JobState, now: int) -> None:
        self._jobs[id(s)] = s
        self._order[id(s)] = next(self._seq)
        if not s.job.preemptible:
            self.pinned += s.job.milli
            return
        self.milli += s.job.milli
        self._rank(s, now)

    def remove(self, s: JobState) -> None:
        del self._jobs[id(s)]
        del self._order[id(s)]
        if not s.job.preemptible:
            self.pinned -= s.job.milli
            return
        self.milli -= s.job.milli
        self._unrank(s)

    def rekey(self, s: JobState, now: int) -> None:
        """The job's rank changed while it runs (a Tiresias job fell a queue)."""
        if s.job.preemptible and self.order is not None:
            self._unrank(s)
            self._rank(s, now)

    def _rank(self, s: JobState, now: int) -> None:
        if self.order is not None:
            entry = (self.order.fixed(s, now), s)
            self._entries[id(s)] = entry
            self._sorted.setdefault(self.order.group(s.job), SortedList()).add(entry)

    def _unrank(self, s: JobState) -> None:
        if self.order is not None:
            group = self.order.group(s.job)
            jobs = self._sorted[group]
            jobs.remove(self._entries.pop(id(s)))
            if not jobs:
                del self._sorted[group]

    def __iter__(self) -> Iterator[JobState]:
        """In the order they started."""
        return iter(self._jobs.values())

    def __len__(self) -> int:
        return len(self._jobs)

    def started_order(self, s: JobState) -> int:
        return self._order[id(s)]

    @property
    def ranked(self) -> bool:
        return self.order is not None

    def worst_first(self, now: int) -> Iterator[tuple[Key, JobState]]:
        """(rank key at `now`, job) of the preemptible jobs, worst first."""
        at = self.order.at if self.order is not None else None
        if at is None:
            return heapq.merge(*(reversed(jobs) for jobs in self._sorted.values()), reverse=True)

        def keyed(group: int, jobs: SortedList) -> Iterator[tuple[Key, JobState]]:
            for key, s in reversed(jobs):
                yield at(key, group, now), s

        return heapq.merge(*(keyed(g, jobs) for g, jobs in self._sorted.items()), reverse=True)


class Tail:
    """The worst-ranked running jobs as a preemptive decision reads them (scheduler._preempt_in_line), in rising
    rank, with `slack`: the milli-GPUs that would be left were every running job kept, less the waiting jobs
    taken so far. A running job stops if, at its turn, the slack is short by more than the running jobs ranked
    behind it hold; stopping it gives its GPUs back to the slack."""

    def __init__(self, jobs: list[tuple[Key, JobState]], slack: int) -> None:
        self.jobs = jobs
        self.slack = slack
        self._keys = [key for key, _ in jobs]
        self._milli = [s.job.milli for _, s in jobs]
        self.behind = list(itertools.accumulate(reversed(self._milli), initial=0))[::-1]  # from j on
        self._short = [-b for b in self.behind[1:]]  # job j stops while the slack is below this (rising)
        self.done = 0  # jobs settled, from the best
        self.stopped: list[JobState] = []

    def settle_ahead_of(self, key: Key) -> int:
        """Settle the jobs ranked ahead of a waiting job's `key`; returns how many there are."""
        ahead = bisect.bisect_left(self._keys, key)
        self.settle(ahead)
        return ahead

    def settle(self, upto: int) -> None:
        """Settle the jobs before position `upto`: stop each whose turn finds the slack short by more than
        the jobs behind it; the rest keep their GPUs."""
        while self.done < upto and self.slack < 0:
            j = bisect.bisect_right(self._short, self.slack, self.done, upto)
            if j >= upto:
                break
            self.stopped.append(self.jobs[j][1])
            self.slack += self._milli[j]
            self.done = j + 1
        self.done = max(self.done, upto)
