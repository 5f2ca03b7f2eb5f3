"""Credit and quotas: what a tenant may still commit to and run.

Exposure is what a tenant owes or has committed to and has not been invoiced for: the running bill of every
month up to the current one that is not yet invoiced (commitments, usage, minimums, prepayment drawn; SLA
credits are left out until an invoice settles them), plus its take-or-pay commitments after this month. A
new contract is refused when its commitment would take the exposure past the limit, or when the exposure
already stands at it; new work is refused while it does. Quotas cap, per pool, the GPUs a tenant's work may
use beyond what its reservations hold (on-demand, overage and spot work alike).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from neocloud.app.ports import UnitOfWork
from neocloud.core.billing.invoice import ZERO, build_invoice
from neocloud.core.billing.periods import month_of
from neocloud.core.contracts import Contract, ContractKind, Limits
from neocloud.core.errors import CreditLimitExceeded, InvalidInput, QuotaExceeded
from neocloud.core.money import to_money


@dataclass(frozen=True, slots=True)
class Policy:
    """The operator's commercial rules (settings): how far in the past a tenant may start a contract (clock
    skew), the quota of a tenant that has none of its own in a pool (None: no quota), and whether
    reservations of whole units are the tenant's own nodes (app/assignment.py) or a pooled entitlement."""

    start_grace_s: int = 300
    default_quota_gpus: int | None = 1_024
    dedicated_nodes: bool = True

    def check_start(self, start: int, now: int) -> None:
        """A tenant's contract starts now or later (give or take the grace for clocks that differ)."""
        if start < now - self.start_grace_s:
            raise InvalidInput(
                f"a contract cannot start in the past ({now - start:,} s ago); start it now or later",
                field="start",
            )


def commitment(contract: Contract, start: int, end: int) -> Decimal:
    """What a take-or-pay reservation bills over [start, end), used or not (nothing for other contracts)."""
    if contract.kind is not ContractKind.RESERVED or not contract.take_or_pay:
        return ZERO
    seconds = max(0, min(end, contract.end) - max(start, contract.start))
    return to_money(Decimal(contract.gpus * seconds) / 3600 * contract.price_per_gpu_hour)


def exposure(uow: UnitOfWork, tenant_id: str, now: int) -> Decimal:
    """What the tenant owes or has committed to and has not been invoiced for (see the module's notes)."""
    contracts = uow.contracts.page(tenant_id)
    if not contracts:
        return ZERO
    invoiced = set(uow.billing.invoiced_periods([tenant_id]).get(tenant_id, []))
    current = month_of(now)
    total = sum((commitment(c, current.end, c.end) for c in contracts), start=ZERO)
    period = month_of(min(c.start for c in contracts))
    if period.start > current.start:
        return total
    usage = uow.billing.usage_between(period.start, current.end, tenant_id)
    terms = uow.billing.get_terms(c.id for c in contracts)
    while period.start <= current.start:
        in_month = [r for r in usage if period.overlap(r.start, r.end)]
        if period.key not in invoiced and (in_month or any(period.overlap(c.start, c.end) for c in contracts)):
            bill = build_invoice(tenant_id, period, contracts, in_month, (), terms)
            total += bill.total
            terms = {**terms, **{c: replace(terms[c], prepaid_balance=left) for c, left in bill.prepaid_left.items()}}
        period = period.next()
    return total


def check_credit(limits: Limits, exposed: Decimal, adding: Decimal, what: str) -> None:
    """Refuse `what` (committing `adding` USD more) when the tenant's exposure is at its credit limit or the
    addition would take it past."""
    limit = limits.credit_limit
    if limit is not None and (exposed >= limit or exposed + adding > limit):
        raise CreditLimitExceeded(
            f"{what} would take exposure to ${exposed + adding:,} of a ${limit:,} credit limit"
            if adding
            else f"exposure is ${exposed:,}, at its ${limit:,} credit limit: nothing new until it is paid down",
            tenant=limits.tenant_id,
            credit_limit=str(limit),
            exposure=str(exposed),
            adding=str(adding),
        )


def held_now(contracts: Iterable[Contract], tenant_id: str, pool: str, now: int) -> int:
    """GPUs the tenant's reservations (reserved and internal) hold in the pool at `now`."""
    return sum(
        c.gpus
        for c in contracts
        if c.tenant_id == tenant_id and c.pool == pool and c.books_capacity and c.start <= now < c.end
    )


def check_quota(limits: Limits, held: int, pool: str, gpus: int, policy: Policy) -> None:
    """Refuse work that needs more GPUs than the tenant's reservations in the pool plus its quota there."""
    quota = limits.quota(pool, policy.default_quota_gpus)
    if quota is not None and gpus > held + quota:
        raise QuotaExceeded(
            f"{gpus:,} GPUs exceed what {limits.tenant_id} may use in {pool}: {held:,} reserved + {quota:,} quota",
            tenant=limits.tenant_id,
            pool=pool,
            gpus=gpus,
            reserved=held,
            quota=quota,
        )
