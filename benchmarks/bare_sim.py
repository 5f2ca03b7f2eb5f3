"""The reference for the simulator's per-job cost: the least a FIFO replay can do in this interpreter. Jobs
arrive in order, wait in a first-come queue, and start while a single pooled GPU counter has room (no nodes, no
placement, no metrics but the total wait); completions come off a heapq. The engine does much more per job
(nodes, placement, preemption, per-tenant usage, a utilization timeline), so this bounds it from below."""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence

from neocloud.core.workload import Job


def bare_fifo(jobs: Sequence[Job], gpus: int) -> tuple[int, int]:
    """Replay `jobs` (sorted by submit) FIFO on `gpus` pooled GPUs; returns (finished, total wait seconds)."""
    shapes = [(j.submit, j.duration, j.gpus_per_task * j.tasks) for j in jobs]
    free, waiting, ends = gpus, deque[tuple[int, int, int]](), list[tuple[int, int]]()
    finished = total_wait = 0
    i, n = 0, len(shapes)
    while i < n or ends:
        now = min(shapes[i][0] if i < n else 1 << 62, ends[0][0] if ends else 1 << 62)
        while ends and ends[0][0] == now:
            free += heapq.heappop(ends)[1]
            finished += 1
        while i < n and shapes[i][0] == now:
            waiting.append(shapes[i])
            i += 1
        while waiting and waiting[0][2] <= free:
            submit, duration, size = waiting.popleft()
            free -= size
            total_wait += now - submit
            heapq.heappush(ends, (now + duration, size))
    return finished, total_wait
