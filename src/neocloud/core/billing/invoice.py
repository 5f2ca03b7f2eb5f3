"""Invoices: one tenant, one billing period, every line with quantity, unit, unit price and amount.

The total is the sum of the lines, and the lines are the rated usage and commitments, less SLA credits, plus
any minimum-commitment true-up, less prepayment drawn down; nothing is rounded after the lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from neocloud.core.billing.metering import UsageRecord
from neocloud.core.billing.periods import Period
from neocloud.core.billing.rating import EnergyRate, Line, Outage, rate_contract
from neocloud.core.contracts import Contract
from neocloud.core.errors import InvalidInput
from neocloud.core.money import to_money

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class BillingTerms:
    """Money terms beyond the price: a minimum spend per period and a prepaid balance to draw down."""

    minimum_per_period: Decimal = ZERO
    prepaid_balance: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.minimum_per_period < 0 or self.prepaid_balance < 0:
            raise InvalidInput("minimum spend and prepaid balance cannot be negative")


@dataclass(frozen=True, slots=True)
class Invoice:
    tenant_id: str
    period: Period
    lines: tuple[Line, ...]
    prepaid_left: dict[str, Decimal] = field(default_factory=dict)  # contract -> balance after this invoice

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), start=ZERO)

    def amount_of(self, kind: str) -> Decimal:
        return sum((line.amount for line in self.lines if line.kind == kind), start=ZERO)


def build_invoice(
    tenant_id: str,
    period: Period,
    contracts: Sequence[Contract],
    usage: Iterable[UsageRecord],
    outages: Sequence[Outage] = (),
    terms: Mapping[str, BillingTerms] | None = None,
    energy: Mapping[str, EnergyRate] | None = None,
) -> Invoice:
    """Rate every contract of the tenant active in the period and apply its money terms; `energy`: the rate of
    each contract whose energy is passed through."""
    terms, energy = terms or {}, energy or {}
    by_contract: dict[str, list[UsageRecord]] = defaultdict(list)
    for record in usage:
        if record.tenant_id == tenant_id:
            by_contract[record.contract_id].append(record)
    lines: list[Line] = []
    prepaid_left: dict[str, Decimal] = {}
    for contract in sorted((c for c in contracts if c.tenant_id == tenant_id), key=lambda c: (c.start, c.id)):
        if not period.overlap(contract.start, contract.end) and not by_contract.get(contract.id):
            continue
        rated = rate_contract(
            contract, by_contract.get(contract.id, []), period, outages, energy=energy.get(contract.id)
        )
        term = terms.get(contract.id, BillingTerms())
        due = sum((line.amount for line in rated), start=ZERO)
        spent = due - sum((line.amount for line in rated if line.kind == "energy"), start=ZERO)  # energy is passed on
        if term.minimum_per_period > spent and period.overlap(contract.start, contract.end):
            shortfall = to_money(term.minimum_per_period - spent)
            rated.append(
                Line(
                    tenant_id,
                    contract.id,
                    "minimum",
                    "minimum commitment true-up",
                    Decimal(1),
                    "period",
                    shortfall,
                    shortfall,
                )
            )
            due += shortfall
        if term.prepaid_balance and due > 0:
            drawn = min(term.prepaid_balance, due)
            rated.append(
                Line(tenant_id, contract.id, "prepayment", "prepayment applied", Decimal(1), "period", -drawn, -drawn)
            )
            prepaid_left[contract.id] = term.prepaid_balance - drawn
        lines.extend(rated)
    return Invoice(tenant_id, period, tuple(lines), prepaid_left)
