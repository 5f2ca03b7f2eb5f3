"""Tenants, contracts and the default price book.

Reserved and internal contracts with GPUs claim capacity: signing one books a hold on its pool for its term.
On-demand and spot contracts are rate agreements: their work runs on whatever is free when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

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

    @property
    def books_capacity(self) -> bool:
        return self.kind in HOLD_KIND and self.gpus > 0

    @property
    def hold_id(self) -> str:
        return f"{self.id}/hold"

    def hold(self) -> Hold:
        return Hold(self.hold_id, self.pool, self.gpus, self.start, self.end, HOLD_KIND[self.kind], self.id)


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


def validate_contract(contract: Contract) -> None:
    check_interval(contract.start, contract.end)
    if contract.price_per_gpu_hour < 0:
        raise InvalidInput("price per GPU-hour cannot be negative", price=str(contract.price_per_gpu_hour))
    if contract.kind in (ContractKind.RESERVED,):
        check_gpus(contract.gpus)
    elif contract.gpus < 0:
        raise InvalidInput(f"GPU count cannot be negative, got {contract.gpus}", gpus=contract.gpus)
    if contract.kind in (ContractKind.ON_DEMAND, ContractKind.SPOT) and contract.gpus:
        raise InvalidInput(f"{contract.kind} contracts reserve no GPUs; leave gpus at 0", gpus=contract.gpus)
    if contract.termination_notice_days < 0 or contract.preemption_notice_s < 0:
        raise InvalidInput("notice periods cannot be negative")
    if contract.sla_uptime is not None and not Decimal(0) < contract.sla_uptime <= Decimal(1):
        raise InvalidInput("SLA uptime must be in (0, 1]", sla_uptime=str(contract.sla_uptime))


def terminate(contract: Contract, now: int) -> Contract:
    """The contract as cancelled at `now`: it ends when its notice runs out (or at once before its start)."""
    if contract.status is ContractStatus.CANCELLED:
        raise InvalidState(f"contract {contract.id} is already cancelled", contract=contract.id)
    if now >= contract.end:
        raise InvalidState(f"contract {contract.id} already ended", contract=contract.id, end=contract.end)
    effective = max(now + contract.termination_notice_days * DAY, contract.start)
    return replace(contract, status=ContractStatus.CANCELLED, cancelled_at=now, end=min(effective, contract.end))
