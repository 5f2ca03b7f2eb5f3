"""A curtailment drill: when a site's power budget shrinks (by `depth`, over [start, end)), whose work is
capped and whose stopped, in contract order, and what the cut costs in SLA credits.

Before the event every load runs at its contract's cap (`cap_w`), or at its GPUs' TDP. The cut needed is what
they draw over the shrunk budget; it is taken, in order,

1. by capping the GPUs of spot, then on-demand, then internal work (each contract's GPUs down to their lowest
   cap, the last one only as far as needed, in whole watts),
2. by stopping that work in the same order (its nodes powered down: all of its draw is saved),
3. and only if that is not enough, from reserved contracts, capped then stopped in the order they start (then
   by id). Power below what they contracted is an outage of the GPUs it stands for (the share of their power
   cut, in whole GPUs up) over the event: applied, it is recorded as an incident, so the invoice's SLA credit
   follows; the drill credits it on the month's commitment by the same availability and ladder.

Reserved and internal contracts draw on all their held GPUs; on-demand and spot on the GPUs their work runs on.
Work capped or stopped is owed its contract's preemption notice; with the time now, the drill says how much
of it the event's lead time cannot give.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from neocloud.core.billing.periods import month_of
from neocloud.core.billing.rating import Outage, availability, sla_credit_percent
from neocloud.core.contracts import Contract, ContractKind
from neocloud.core.errors import InvalidInput
from neocloud.core.money import to_money
from neocloud.core.power import IT_KW_PER_CAP_WATT, SHED_ORDER, GpuPower, check_depth

ORDER = tuple(ContractKind(kind) for kind in SHED_ORDER)  # reserved last, only if the others are not enough


@dataclass(frozen=True, slots=True)
class Load:
    """What one contract draws when the event begins."""

    contract: Contract
    gpus: int
    power: GpuPower

    def __post_init__(self) -> None:
        if self.gpus <= 0:
            raise InvalidInput(f"contract {self.contract.id}: a load draws on at least one GPU", field="gpus")

    @property
    def cap_w(self) -> int:
        """The cap its GPUs run under before the event: its contract's, else their TDP."""
        return self.power.tdp_w if self.contract.cap_w is None else self.contract.cap_w


@dataclass(frozen=True, slots=True)
class Action:
    contract_id: str
    tenant_id: str
    kind: ContractKind
    gpus: int
    draw_kw: Decimal  # before
    after_kw: Decimal
    cap_w: int | None  # the cap its GPUs run under during the event; None: stopped
    credit_usd: Decimal = Decimal(0)
    outage: Outage | None = None  # reserved power cut: the GPUs it stands for, out of service over the event
    notice_s: int = 0  # the notice its contract is owed before its work is capped or stopped (spot)
    notice_short_s: int = 0  # how much of it the event's lead time cannot give

    @property
    def what(self) -> str:
        if self.cap_w is None:
            return "stopped"
        return "untouched" if self.after_kw == self.draw_kw else f"capped to {self.cap_w} W"


@dataclass(frozen=True, slots=True)
class Drill:
    site: str
    start: int
    end: int
    depth: Decimal
    limit_kw: Decimal  # the budget during the event
    draw_kw: Decimal  # before it
    actions: tuple[Action, ...]

    @property
    def after_kw(self) -> Decimal:
        return sum((a.after_kw for a in self.actions), Decimal(0))

    @property
    def shortfall_kw(self) -> Decimal:
        """What still exceeds the budget with every load stopped (0: the cut is met)."""
        return max(Decimal(0), self.after_kw - self.limit_kw)

    @property
    def credits_usd(self) -> Decimal:
        return sum((a.credit_usd for a in self.actions), Decimal(0))


def drill(
    site: str,
    budget_mw: Decimal,
    pue: Decimal,
    loads: Sequence[Load],
    depth: Decimal,
    start: int,
    end: int,
    now: int | None = None,
) -> Drill:
    check_depth(depth, "depth")
    if not start < end:
        raise InvalidInput("a curtailment ends after it starts", field="end")
    if month_of(start).key != month_of(end - 1).key:
        raise InvalidInput("a drill's window lies within one month (its credits are the month's)", field="end")
    per_watt = IT_KW_PER_CAP_WATT * pue  # facility kW a watt of one GPU's cap takes

    def draw(load: Load, cap_w: int) -> Decimal:
        return load.gpus * load.power.it_kw(cap_w) * pue

    limit = budget_mw * 1000 * (1 - depth)
    caps = [x.cap_w for x in loads]
    stopped: set[int] = set()
    before = sum((draw(x, x.cap_w) for x in loads), Decimal(0))
    need = before - limit
    for kind in ORDER:
        group = sorted((i for i, x in enumerate(loads) if x.contract.kind is kind), key=lambda i: _signed(loads[i]))
        for i in group:  # cap first
            if need <= 0:
                break
            x = loads[i]
            watts = min(x.cap_w - x.power.min_cap_w, math.ceil(need / (x.gpus * per_watt)))
            caps[i] -= watts
            need -= x.gpus * watts * per_watt
        for i in group:  # then stop
            if need <= 0:
                break
            stopped.add(i)
            need -= draw(loads[i], caps[i])
    actions = []
    for i, x in enumerate(loads):
        was = draw(x, x.cap_w)
        after = Decimal(0) if i in stopped else draw(x, caps[i])
        outage = _outage(x, (was - after) / was, start, end)
        credit = Decimal(0) if outage is None else _credit(x.contract, outage)
        cap = None if i in stopped else caps[i]
        c = x.contract
        owed = c.preemption_notice_s if after < was and c.kind is not ContractKind.RESERVED else 0
        short = 0 if now is None else min(owed, max(0, owed - (start - now)))  # begun already: all of it
        actions.append(Action(c.id, c.tenant_id, c.kind, x.gpus, was, after, cap, credit, outage, owed, short))
    return Drill(site, start, end, depth, limit, before, tuple(actions))


def _signed(load: Load) -> tuple[int, str]:
    """Loads of one kind in the order their contracts start (then by id)."""
    return load.contract.start, load.contract.id


def _outage(load: Load, share_cut: Decimal, start: int, end: int) -> Outage | None:
    """Reserved power cut below the contract's: the GPUs that power stands for, in whole GPUs up."""
    c = load.contract
    if c.kind is not ContractKind.RESERVED or share_cut <= 0:
        return None
    return Outage(c.pool, start, end, min(load.gpus, math.ceil(load.gpus * share_cut)), c.id)


def _credit(c: Contract, outage: Outage) -> Decimal:
    """The SLA credit for the outage on its month's commitment: the availability the invoice will measure."""
    if c.sla_uptime is None:
        return Decimal(0)
    period = month_of(outage.start)
    term = period.overlap(c.start, c.end)
    percent = sla_credit_percent(availability(c, period, term, [outage]), c.sla_uptime)
    return to_money(c.gpus * Decimal(term) / 3600 * c.price_per_gpu_hour * min(percent, Decimal(100)) / 100)
