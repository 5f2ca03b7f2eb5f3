"""When either side of a lease ends it on a path: the stated rules of the tenant's and the owner's options.

Both sides may end the lease on notice (the lease's `notice_days`); notice is given at the start of a month,
and the lease ends that many days later. Only months while the lease is in force count.

- **The tenant** gives notice in the first month the market price has fallen by `drop` or more from its level
  when the lease began: re-contracting the same capacity at market would then save it that share, and the
  rule takes `drop` as what moving costs it. (A lease signed above the market, as colossus-1's is, stays
  above it: the rule looks at how far the market moved, not at the premium the tenant agreed to.)
- **The owner** gives notice in the first month internal demand is `surge` or more above the steady demand
  and its own work is worth more per GPU-hour (the shadow price that month) than the rented GPUs earn.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from neocloud.core.errors import InvalidInput


def tenant_notice(market: Sequence[float], in_force: range, drop: float) -> int | None:
    """The month (index into `market`) the tenant gives notice, or None; `in_force`: the lease's months."""
    if not 0 < drop < 1:
        raise InvalidInput(f"the tenant's exit drop must be in (0, 1), got {drop}")
    if not in_force:
        return None
    floor = (1 - drop) * market[in_force.start]
    return next((t for t in in_force if market[t] <= floor), None)


def owner_notice(
    demand: Sequence[float], shadow: Sequence[Decimal], earned: Decimal, in_force: range, surge: float
) -> int | None:
    """The month the owner takes its GPUs back, or None: `shadow` is internal work's worth per GPU-hour each
    month and `earned` what a rented GPU-hour brings in."""
    if not surge >= 0:
        raise InvalidInput(f"the owner's exit surge must be >= 0, got {surge}")
    return next((t for t in in_force if demand[t] >= 1 + surge and shadow[t] > earned), None)
