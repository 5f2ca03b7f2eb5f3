"""Rows <-> core objects."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from neocloud.adapters.store.tables import ContractRow, HoldRow, PoolRow, TenantRow, UsageRow
from neocloud.core.billing.metering import UsageRecord
from neocloud.core.billing.rating import Line
from neocloud.core.contracts import Contract, ContractKind, ContractStatus, EnergyTerm, Tenant, TenantKind
from neocloud.core.fleet import BlockGroup, Hall, NodeSpec, Pool, Site
from neocloud.core.ledger import Hold, HoldKind


def site_to_json(site: Site) -> dict[str, Any]:
    doc = asdict(site)
    for key in ("power_mw", "pue", "usd_per_mwh"):
        doc[key] = None if doc[key] is None else str(doc[key])
    for b in doc["blocks"]:
        b["rack_pdu_kw"] = None if b["rack_pdu_kw"] is None else str(b["rack_pdu_kw"])
    doc["halls"] = [{**h, "mw": str(h["mw"])} for h in doc["halls"]]
    doc["pue_by_month"] = [[m, str(p)] for m, p in site.pue_by_month]
    doc["oversubscription"] = str(site.oversubscription)
    for key in ("ramp_mw_per_s", "fall_mw_per_s"):
        doc[key] = None if doc[key] is None else str(doc[key])
    return doc


def site_from_json(doc: dict[str, Any]) -> Site:
    return Site(
        name=doc["name"],
        location=doc["location"],
        power_mw=None if doc["power_mw"] is None else Decimal(doc["power_mw"]),
        pue=Decimal(doc["pue"]),
        usd_per_mwh=Decimal(doc["usd_per_mwh"]),
        pool_by_block=doc["pool_by_block"],
        blocks=tuple(
            BlockGroup(
                b["name"],
                b["count"],
                b["racks"],
                b["nodes_per_rack"],
                NodeSpec(**b["node"]),
                tuple(b.get("node_names", ())),  # sites stored before nodes could be named have none
                None if b.get("rack_pdu_kw") is None else Decimal(b["rack_pdu_kw"]),  # nor, before, a power tree
            )
            for b in doc["blocks"]
        ),
        halls=tuple(Hall(h["name"], Decimal(h["mw"]), tuple(h["blocks"])) for h in doc.get("halls", ())),
        pue_by_month=tuple((int(m), Decimal(p)) for m, p in doc.get("pue_by_month", ())),
        oversubscription=Decimal(doc.get("oversubscription", 1)),  # sites stored before it: none allowed
        ramp_mw_per_s=None if doc.get("ramp_mw_per_s") is None else Decimal(doc["ramp_mw_per_s"]),
        fall_mw_per_s=None if doc.get("fall_mw_per_s") is None else Decimal(doc["fall_mw_per_s"]),
    )


def pool_from_row(row: PoolRow) -> Pool:
    return Pool(row.name, row.site, row.gpu_model, row.block, row.gpus)


def hold_from_row(row: HoldRow) -> Hold:
    return Hold(row.id, row.pool, row.gpus, row.start, row.end, HoldKind(row.kind), row.contract_id, row.cap_w)


def hold_values(hold: Hold) -> dict[str, Any]:
    """A hold's columns (shallow: cheap enough for a batch of many)."""
    return {f: getattr(hold, f) for f in Hold.__dataclass_fields__} | {"kind": str(hold.kind)}


def tenant_from_row(row: TenantRow) -> Tenant:
    return Tenant(row.id, row.name, TenantKind(row.kind))


def contract_from_row(row: ContractRow) -> Contract:
    return Contract(
        id=row.id,
        tenant_id=row.tenant_id,
        kind=ContractKind(row.kind),
        pool=row.pool,
        start=row.start,
        end=row.end,
        price_per_gpu_hour=Decimal(row.price_per_gpu_hour),
        gpus=row.gpus,
        take_or_pay=row.take_or_pay,
        termination_notice_days=row.termination_notice_days,
        sla_uptime=None if row.sla_uptime is None else Decimal(row.sla_uptime),
        overage_per_gpu_hour=None if row.overage_per_gpu_hour is None else Decimal(row.overage_per_gpu_hour),
        preemption_notice_s=row.preemption_notice_s,
        status=ContractStatus(row.status),
        cancelled_at=row.cancelled_at,
        cap_w=row.cap_w,
        energy=EnergyTerm(row.energy),
    )


def contract_values(contract: Contract) -> dict[str, Any]:
    """A contract's columns (shallow: cheap enough for a batch of many)."""
    fields = {f: getattr(contract, f) for f in Contract.__dataclass_fields__}
    return fields | {"kind": str(contract.kind), "status": str(contract.status), "energy": str(contract.energy)}


def contract_to_row(contract: Contract) -> ContractRow:
    return ContractRow(**contract_values(contract))


def usage_to_row(record: UsageRecord) -> UsageRow:
    return UsageRow(**{f: getattr(record, f) for f in UsageRecord.__dataclass_fields__})


def usage_from_row(row: UsageRow) -> UsageRecord:
    return UsageRecord(**{f: getattr(row, f) for f in UsageRecord.__dataclass_fields__})


def line_to_json(line: Line) -> dict[str, str]:
    return {f: str(getattr(line, f)) for f in Line.__dataclass_fields__}


def line_from_json(doc: dict[str, str]) -> Line:
    decimals = {"quantity", "unit_price", "amount"}
    return Line(**{k: Decimal(v) if k in decimals else v for k, v in doc.items()})  # type: ignore[arg-type]
