"""Rating: usage and commitments priced against contracts for one billing period, into invoice lines.

Amounts are exact until the last step: each line's amount is GPU-seconds x price / 3600, rounded to the cent
once (half to even, core.money); quantities are shown in GPU-hours to six places.

- reserved: take-or-pay bills the committed GPUs for the contract's days in the period, used or not; usage
  above the commitment at any instant is overage at the contract's overage rate (default: on-demand). Without
  take-or-pay, usage up to the commitment is billed at the reserved price.
- on-demand: usage at the rate card, per second.
- spot: usage at the spot price; a run that ended in preemption is billed only up to its preemption notice.
- internal: usage at the transfer price (showback, or chargeback when invoiced).
- SLA credits: availability from outages over the committed GPU-time; a credit tier by how far it fell
  short, as a share of the contract's charges for the period, capped at them.
- energy: a contract whose energy is passed through is billed its usage's kWh (GPU-hours x the IT kW a GPU
  draws at its cap x the month's PUE) at the site's $/MWh, after and apart from its SLA credit. A bundled
  contract's price includes its energy: no line.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from neocloud.core.billing.metering import UsageRecord
from neocloud.core.billing.periods import Period
from neocloud.core.contracts import Contract, ContractKind
from neocloud.core.money import to_money
from neocloud.core.timeutil import human_duration

QUANTITY = Decimal("0.000001")
KWH = Decimal("0.001")
USAGE_LABELS = {
    ContractKind.ON_DEMAND: "on-demand usage",
    ContractKind.SPOT: "spot usage",
    ContractKind.INTERNAL: "internal usage (transfer price)",
}
MILLI_SECONDS_PER_HOUR = Decimal(3_600_000)  # milli-GPU x seconds in one GPU-hour


@dataclass(frozen=True, slots=True)
class Line:
    tenant_id: str
    contract_id: str
    kind: str  # commitment, overage, usage, sla-credit, minimum, prepayment
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class EnergyRate:
    """What a pass-through contract's energy costs: the IT kW one of its GPUs draws, the month's PUE, the
    site's price."""

    kw_per_gpu: Decimal
    pue: Decimal
    usd_per_mwh: Decimal

    def line(self, contract: Contract, milli_gpu_seconds: int) -> Line:
        kwh = Decimal(milli_gpu_seconds) * self.kw_per_gpu * self.pue / MILLI_SECONDS_PER_HOUR
        return Line(
            contract.tenant_id,
            contract.id,
            "energy",
            f"energy passed through: {self.kw_per_gpu} kW a GPU x PUE {self.pue}, at ${self.usd_per_mwh}/MWh",
            kwh.quantize(KWH),
            "kWh",
            self.usd_per_mwh / 1000,
            to_money(kwh * self.usd_per_mwh / 1000),  # rounded once, from the exact kWh
        )


@dataclass(frozen=True, slots=True)
class Outage:
    """GPUs out of service: a node failure or maintenance. `contract_id` None = the whole pool."""

    pool: str
    start: int
    end: int
    gpus: int | None = None  # None: every GPU of the contract(s) hit
    contract_id: str | None = None


# Credit ladders: (availability below which the tier applies, % of the period's charges credited).
# An assumption modelled on public GPU-cloud SLAs; contracts can carry their own.
def default_sla_tiers(uptime: Decimal) -> tuple[tuple[Decimal, Decimal], ...]:
    return ((uptime, Decimal(10)), (Decimal("0.95"), Decimal(25)), (Decimal("0.90"), Decimal(100)))


def sla_credit_percent(
    measured: Decimal, uptime: Decimal, tiers: Sequence[tuple[Decimal, Decimal]] | None = None
) -> Decimal:
    """The share of the period's charges (in %) credited for availability `measured` under an SLA of
    `uptime`: the deepest tier it fell below."""
    ladder = tiers if tiers is not None else default_sla_tiers(uptime)
    return max((pct for below, pct in ladder if measured < below), default=Decimal(0))


def gpu_hours(milli_gpu_seconds: int) -> Decimal:
    return (Decimal(milli_gpu_seconds) / MILLI_SECONDS_PER_HOUR).quantize(QUANTITY)


def _line(contract: Contract, kind: str, description: str, milli_gpu_seconds: int, price: Decimal) -> Line:
    amount = to_money(Decimal(milli_gpu_seconds) * price / MILLI_SECONDS_PER_HOUR)
    return Line(
        contract.tenant_id, contract.id, kind, description, gpu_hours(milli_gpu_seconds), "GPU-hour", price, amount
    )


class ContractMeter:
    """Accumulates one contract's billable usage in one period, one record at a time (streaming): a running
    total for usage-priced kinds; for reserved ones, the starts and ends of runs, to find the instants when
    usage rose above the commitment."""

    __slots__ = ("_edges", "_notice", "_reserved", "contract", "period", "used")

    def __init__(self, contract: Contract, period: Period) -> None:
        self.contract = contract
        self.period = period
        self._notice = contract.preemption_notice_s if contract.kind is ContractKind.SPOT else 0
        self._reserved = contract.kind is ContractKind.RESERVED
        self.used = 0  # milli-GPU-seconds
        self._edges: array[int] = array("q")  # time, +milli-GPUs, time, -milli-GPUs, ...

    def add(self, record: UsageRecord) -> None:
        # A preempted spot run is billed only up to its preemption notice; then clip to the period.
        end = record.end - self._notice if self._notice and record.preempted else record.end
        start, end = max(record.start, self.period.start), min(end, self.period.end)
        if end <= start:
            return
        self.used += record.milli_gpus * (end - start)
        if self._reserved:
            self._edges.extend((start, record.milli_gpus, end, -record.milli_gpus))

    def split_at(self, committed_milli: int) -> tuple[int, int]:
        """Milli-GPU-seconds used within the commitment and above it, instant by instant."""
        edges = sorted(zip(self._edges[0::2], self._edges[1::2], strict=True))
        within = above = level = 0
        for (t, delta), (t_next, _) in itertools.pairwise(edges):
            level += delta
            within += min(level, committed_milli) * (t_next - t)
            above += max(0, level - committed_milli) * (t_next - t)
        return within, above

    def lines(
        self,
        outages: Sequence[Outage] = (),
        sla_tiers: Sequence[tuple[Decimal, Decimal]] | None = None,
        energy: EnergyRate | None = None,
    ) -> list[Line]:
        priced = self._priced(outages, sla_tiers)
        if energy is None or not self.used:
            return priced
        return [*priced, energy.line(self.contract, self.used)]

    def _priced(self, outages: Sequence[Outage], sla_tiers: Sequence[tuple[Decimal, Decimal]] | None) -> list[Line]:
        contract, period = self.contract, self.period
        if not self._reserved:
            if not self.used:
                return []
            return [_line(contract, "usage", USAGE_LABELS[contract.kind], self.used, contract.price_per_gpu_hour)]
        term = period.overlap(contract.start, contract.end)
        committed_milli = contract.gpus * 1000
        within, above = self.split_at(committed_milli)
        lines = []
        if contract.take_or_pay and term:
            lines.append(
                _line(
                    contract,
                    "commitment",
                    f"{contract.gpus:,} GPUs reserved, {human_duration(term)}",
                    committed_milli * term,
                    contract.price_per_gpu_hour,
                )
            )
        elif within:
            lines.append(_line(contract, "usage", "reserved usage", within, contract.price_per_gpu_hour))
        if above:
            overage_price = contract.overage_per_gpu_hour or contract.price_per_gpu_hour
            lines.append(_line(contract, "overage", "usage above the commitment", above, overage_price))
        return [*lines, *_sla_credit(contract, period, term, outages, lines, sla_tiers)]


def rate_contract(
    contract: Contract,
    usage: Iterable[UsageRecord],
    period: Period,
    outages: Sequence[Outage] = (),
    sla_tiers: Sequence[tuple[Decimal, Decimal]] | None = None,
    energy: EnergyRate | None = None,
) -> list[Line]:
    """The lines one contract earns in one period."""
    meter = ContractMeter(contract, period)
    for record in usage:
        meter.add(record)
    return meter.lines(outages, sla_tiers, energy)


def availability(contract: Contract, period: Period, term: int, outages: Sequence[Outage]) -> Decimal:
    """1 - GPU-time out of service / committed GPU-time, over the contract's days in the period."""
    if not term or not contract.gpus:
        return Decimal(1)
    down = 0
    for o in outages:
        if o.pool != contract.pool or (o.contract_id is not None and o.contract_id != contract.id):
            continue
        seconds = period.overlap(max(o.start, contract.start), min(o.end, contract.end))
        down += min(o.gpus if o.gpus is not None else contract.gpus, contract.gpus) * seconds
    return 1 - Decimal(down) / Decimal(contract.gpus * term)


def _sla_credit(
    contract: Contract,
    period: Period,
    term: int,
    outages: Sequence[Outage],
    lines: list[Line],
    tiers: Sequence[tuple[Decimal, Decimal]] | None,
) -> list[Line]:
    if contract.sla_uptime is None or not lines:
        return []
    measured = availability(contract, period, term, outages)
    percent = sla_credit_percent(measured, contract.sla_uptime, tiers)
    if not percent:
        return []
    charges = sum((line.amount for line in lines), start=Decimal(0))
    amount = min(to_money(charges * percent / 100), charges)
    return [
        Line(
            contract.tenant_id,
            contract.id,
            "sla-credit",
            f"SLA credit: availability {measured:.4%} below {contract.sla_uptime:.2%}",
            percent,
            "%",
            -charges / 100,
            -amount,
        )
    ]
