"""Tenants, contracts and the default price book.

Reserved and internal contracts with GPUs claim capacity: signing one books a hold on its pool for its term.
On-demand and spot contracts are rate agreements: their work runs on whatever is free when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from neocloud.core.bounds import MAX_GPUS, MAX_NOTICE_DAYS, MAX_PREEMPTION_NOTICE, check_count, check_decimal
from neocloud.core.catalog import GpuModel
from neocloud.core.errors import InvalidInput, InvalidState
from neocloud.core.ledger import Hold, HoldKind, check_gpus, check_interval
from neocloud.core.money import to_rate

DAY = 86_400


class TenantKind(StrEnum):
    INTERNAL = "internal"
    EXTERNAL = "external"


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str
    kind: TenantKind


class ContractKind(StrEnum):
    RESERVED = "reserved"
    ON_DEMAND = "on-demand"
    SPOT = "spot"
    INTERNAL = "internal"


class EnergyTerm(StrEnum):
    BUNDLED = "bundled"  # the GPU-hour price includes the energy
    PASS_THROUGH = "pass-through"  # billed apart: the usage's kWh at the site's $/MWh (core/billing/rating.py)


class ContractStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


HOLD_KIND = {ContractKind.RESERVED: HoldKind.RESERVED, ContractKind.INTERNAL: HoldKind.INTERNAL}


@dataclass(frozen=True, slots=True)
class Contract:
    id: str
    tenant_id: str
    kind: ContractKind
    pool: str
    start: int
    end: int
    price_per_gpu_hour: Decimal  # reserved price, rate card, spot price or transfer price
    gpus: int = 0  # committed GPUs (reserved, internal); 0 for rate-only agreements
    take_or_pay: bool = True
    termination_notice_days: int = 0
    sla_uptime: Decimal | None = None  # e.g. 0.99 monthly
    overage_per_gpu_hour: Decimal | None = None  # reserved usage above the commitment; default on-demand
    preemption_notice_s: int = 0  # spot
    status: ContractStatus = ContractStatus.ACTIVE
    cancelled_at: int | None = None
    cap_w: int | None = None  # the power cap its GPUs run under (the ledger books their power at it); None: TDP
    energy: EnergyTerm = EnergyTerm.BUNDLED

    @property
    def books_capacity(self) -> bool:
        return self.kind in HOLD_KIND and self.gpus > 0

    @property
    def hold_id(self) -> str:
        return f"{self.id}/hold"

    def hold(self) -> Hold:
        return Hold(self.hold_id, self.pool, self.gpus, self.start, self.end, HOLD_KIND[self.kind], self.id, self.cap_w)


@dataclass(frozen=True, slots=True)
class PriceBook:
    """Default prices per GPU-hour by contract kind, from the catalog's market prices."""

    def price(self, model: GpuModel, kind: ContractKind) -> Decimal:
        price = {
            ContractKind.RESERVED: model.reserved_1y_usd_per_hr,
            ContractKind.ON_DEMAND: model.on_demand_usd_per_hr,
            ContractKind.SPOT: model.spot_usd_per_hr,
            # Internal work is charged what the capacity would fetch on a 1-year contract: its opportunity cost.
            ContractKind.INTERNAL: model.reserved_1y_usd_per_hr,
        }[kind]
        if price is None:
            raise InvalidInput(
                f"GPU model {model.name} has no {kind} price in the catalog; give one with the contract",
                gpu_model=model.name,
                kind=str(kind),
            )
        return to_rate(price)

    def floor(self, model: GpuModel) -> Decimal:
        """The least an external contract may charge per GPU-hour of this model: the catalog's floor, else
        its spot price (below what idle GPUs fetch as spot, a sale loses money), else any positive price."""
        floor = model.floor_usd_per_hr if model.floor_usd_per_hr is not None else model.spot_usd_per_hr
        return to_rate(floor) if floor is not None else Decimal(0)

    def check_floor(self, model: GpuModel, kind: ContractKind, price: Decimal, field: str) -> None:
        """Refuse a price below the model's floor (internal transfer prices are exempt: no money changes hands)."""
        if kind is ContractKind.INTERNAL:
            return
        floor = self.floor(model)
        if price < floor or price <= 0:
            raise InvalidInput(
                f"{field} {price} is below the floor of {model.name}: at least {floor} per GPU-hour"
                + (" and more than 0" if floor == 0 else ""),
                field=field,
                floor=str(floor),
            )


@dataclass(frozen=True, slots=True)
class Terms:
    """A contract's commercial terms: what the rate card gives, or what an operator agreed with a tenant."""

    price_per_gpu_hour: Decimal | None = None  # None: the price book's
    overage_per_gpu_hour: Decimal | None = None  # reserved; None: the on-demand rate card
    take_or_pay: bool = True
    termination_notice_days: int = 0
    sla_uptime: Decimal | None = None
    preemption_notice_s: int = 0


@dataclass(frozen=True, slots=True)
class PriceAgreement:
    """Terms an operator agreed with one tenant for one pool and kind of contract: the tenant's signings there
    get them instead of the rate card's."""

    tenant_id: str
    pool: str
    kind: ContractKind
    terms: Terms


@dataclass(frozen=True, slots=True)
class Limits:
    """What a tenant may use: per pool, GPUs beyond what its reservations hold (quotas), and in all, an
    exposure in USD (credit limit) beyond which it signs and submits nothing new. None: no limit set."""

    tenant_id: str
    credit_limit: Decimal | None = None
    quotas: tuple[tuple[str, int], ...] = ()  # (pool, GPUs), by pool

    def quota(self, pool: str, default: int | None) -> int | None:
        """GPUs beyond reservations in `pool`: the tenant's own quota there, else the operator's default."""
        return next((gpus for name, gpus in self.quotas if name == pool), default)


def validate_contract(contract: Contract) -> None:
    """Every field within its bounds (core/bounds.py), and the GPUs that suit the kind."""
    check_interval(contract.start, contract.end)
    check_decimal(contract.price_per_gpu_hour, "price_per_gpu_hour")
    if contract.overage_per_gpu_hour is not None:
        check_decimal(contract.overage_per_gpu_hour, "overage_per_gpu_hour")
    if contract.kind is ContractKind.RESERVED:
        check_gpus(contract.gpus)
    else:
        check_count(contract.gpus, "gpus", 0, MAX_GPUS)
    if contract.kind in (ContractKind.ON_DEMAND, ContractKind.SPOT) and contract.gpus:
        raise InvalidInput(f"{contract.kind} contracts reserve no GPUs; leave gpus at 0", gpus=contract.gpus)
    check_count(contract.termination_notice_days, "termination_notice_days", 0, MAX_NOTICE_DAYS)
    check_count(contract.preemption_notice_s, "preemption_notice_s", 0, MAX_PREEMPTION_NOTICE)
    if not isinstance(contract.take_or_pay, bool):
        raise InvalidInput("take_or_pay must be true or false", field="take_or_pay")
    if contract.sla_uptime is not None:
        check_decimal(contract.sla_uptime, "sla_uptime", high=Decimal(1))
        if contract.sla_uptime == 0:
            raise InvalidInput("SLA uptime must be in (0, 1]", sla_uptime=str(contract.sla_uptime))


def terminate(contract: Contract, now: int) -> Contract:
    """The contract as cancelled at `now`: it ends when its notice runs out (or at once before its start)."""
    if contract.status is ContractStatus.CANCELLED:
        raise InvalidState(f"contract {contract.id} is already cancelled", contract=contract.id)
    if now >= contract.end:
        raise InvalidState(f"contract {contract.id} already ended", contract=contract.id, end=contract.end)
    effective = max(now + contract.termination_notice_days * DAY, contract.start)
    return replace(contract, status=ContractStatus.CANCELLED, cancelled_at=now, end=min(effective, contract.end))
