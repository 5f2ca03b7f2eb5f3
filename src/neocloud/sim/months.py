"""A simulation's GPU use by calendar month: what the scenario engine prices."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal

from neocloud.core.billing.periods import month_of
from neocloud.core.errors import InvalidInput
from neocloud.core.scenario.strategies import InternalMonth
from neocloud.core.workload import MILLI

GPU_SECONDS_PER_HOUR = Decimal(3600 * MILLI)  # milli-GPU-seconds in a GPU-hour


def use_by_month(
    timeline: Sequence[tuple[int, int, int]], capacity_milli: int, start: int, end: int
) -> dict[str, InternalMonth]:
    """GPU-hours served and idle in each calendar month of [start, end), from a run's allocation timeline
    ((time, milli-GPUs busy, ...) after each change; busy is 0 before the first point and holds after the
    last). Months are cut at their UTC boundaries."""
    if end <= start:
        raise InvalidInput(f"the horizon ends ({end}) before it starts ({start})")
    level, changes = 0, []
    for t, used, *_ in timeline:
        if t <= start:
            level = used
        elif t < end:
            changes.append((t, used))
    busy: dict[str, int] = {}
    total: dict[str, int] = {}
    for (t1, used), (t2, _) in itertools.pairwise([(start, level), *changes, (end, 0)]):
        t = t1
        while t < t2:  # split the span at month boundaries
            period = month_of(t)
            upto = min(t2, period.end)
            busy[period.key] = busy.get(period.key, 0) + (upto - t) * used
            total[period.key] = total.get(period.key, 0) + (upto - t) * capacity_milli
            t = upto
    return {
        key: InternalMonth(
            gpu_hours_served=Decimal(busy[key]) / GPU_SECONDS_PER_HOUR,
            idle_gpu_hours=Decimal(total[key] - busy[key]) / GPU_SECONDS_PER_HOUR,
        )
        for key in sorted(total)
    }
