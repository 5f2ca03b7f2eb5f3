"""Running jobs, kept between decisions by their owner (the simulator), in the order they started and, for SRTF
and SRSF, in rank order too.

Under SRTF a running job ranks by its remaining time, which is its uninterrupted end less now: every running
job's falls at the same rate, so their order is fixed from start to stop. Under SRSF (remaining time x GPUs) it
is fixed among jobs of one GPU count. The line keeps them sorted so, a list per GPU weight, and a decision reads
them from the worst end only as far as it needs (scheduler._preempt_in_line): with tens of thousands running, a
decision that preempts a few looks at a few.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Callable, Iterator

from sortedcontainers import SortedList

from neocloud.core.engine.state import JobState
from neocloud.core.workload import Job

Key = tuple[object, ...]
WeightFn = Callable[[Job], int]  # a job's weight on its remaining time in its rank key (SRTF: 1, SRSF: its GPUs)


class RunningLine:
    """Running jobs by id() in start order; with a `weight`, the preemptible ones also in rank order."""

    def __init__(self, weight: WeightFn | None = None) -> None:
        self.weight = weight
        self._jobs: dict[int, JobState] = {}
        self._order: dict[int, int] = {}  # id() -> start sequence
        self._entries: dict[int, tuple[Key, JobState]] = {}  # id() -> its entry in its weight's list
        self._sorted: dict[int, SortedList] = {}  # weight -> (spot, end, submit, id) entries, rising
        self._seq = itertools.count()
        self.milli = 0  # preemptible jobs' GPUs, in milli-GPUs
        self.pinned = 0  # the others'

    def add(self, s: JobState) -> None:
        self._jobs[id(s)] = s
        self._order[id(s)] = next(self._seq)
        if not s.job.preemptible:
            self.pinned += s.job.milli
            return
        self.milli += s.job.milli
        if self.weight is not None:
            # the rank key less now: (spot, uninterrupted end, submit, id), fixed while the job runs
            entry = ((s.spot, s.ends_at(), s.job.submit, s.job.id), s)
            self._entries[id(s)] = entry
            self._sorted.setdefault(self.weight(s.job), SortedList()).add(entry)

    def remove(self, s: JobState) -> None:
        del self._jobs[id(s)]
        del self._order[id(s)]
        if not s.job.preemptible:
            self.pinned -= s.job.milli
            return
        self.milli -= s.job.milli
        if self.weight is not None:
            weight = self.weight(s.job)
            jobs = self._sorted[weight]
            jobs.remove(self._entries.pop(id(s)))
            if not jobs:
                del self._sorted[weight]

    def __iter__(self) -> Iterator[JobState]:
        """In the order they started."""
        return iter(self._jobs.values())

    def __len__(self) -> int:
        return len(self._jobs)

    def started_order(self, s: JobState) -> int:
        return self._order[id(s)]

    @property
    def ranked(self) -> bool:
        return self.weight is not None

    def worst_first(self, now: int) -> Iterator[tuple[Key, JobState]]:
        """(rank key at `now`, job) of the preemptible jobs, worst first: (spot, remaining x weight, submit, id)."""

        def keyed(weight: int, jobs: SortedList) -> Iterator[tuple[Key, JobState]]:
            for (spot, end, submit, job_id), s in reversed(jobs):
                yield (spot, (end - now) * weight, submit, job_id), s

        return heapq.merge(*(keyed(w, jobs) for w, jobs in self._sorted.items()), reverse=True)


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
