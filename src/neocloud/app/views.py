"""Plain data from core objects, for JSON: dataclasses as dicts, Decimals as exact strings, enums as values."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from neocloud.core.money import to_money

if TYPE_CHECKING:
    from neocloud.app.power import Applied
    from neocloud.core.curtailment import Drill
    from neocloud.core.power import SitePower


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.name.startswith("_")}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def node_power_view(node: Any) -> dict[str, Any]:
    """A power node (app/power.py, NodePower) with its steps as objects."""
    steps = [{"start": s, "end": e, "drawn_kw": str(drawn)} for s, e, drawn in node.steps]
    return {**plain(node), "steps": steps}


def invoice_view(invoice: Any) -> dict[str, Any]:
    """A stored invoice as plain data, with its total (a derived property `plain` does not see)."""
    return {**plain(invoice), "total": str(invoice.total)}


def bill_view(bill: Any) -> dict[str, Any]:
    """A running bill (an Invoice over [month start, now)) as the API shows it."""
    return {
        "tenant_id": bill.tenant_id,
        "period": bill.period.key,
        "start": bill.period.start,
        "end": bill.period.end,
        "total": str(bill.total),
        "lines": [plain(line) for line in bill.lines],
    }


def workload_view(w: Any) -> dict[str, Any]:
    """A stored workload as plain data: what the API returns and `workload ... --json` prints."""
    return {
        "id": w.job.id,
        "tenant_id": w.job.tenant,
        "contract_id": w.contract_id,
        "gpus": w.job.gpus,
        "duration": w.job.duration,
        "submit": w.job.submit,
        "status": w.status,
        "started": w.started,
        "first_start": w.first_start,
        "finished": w.finished,
        "preemptions": w.preemptions,
        "allocation": None if w.allocation is None else [list(a) for a in w.allocation],
        "command": None if w.command is None else {**plain(w.command), "env": dict(w.command.env)},
        "cap_w": w.cap_w,
        "stops_at": w.stops_at,
        "stages": list(w.job.stages) or None,
        "iteration": w.job.iteration or None,
        "group": list(w.group),
        "pace": w.pace,
    }


def key_view(key: Any, secret: str | None = None) -> dict[str, Any]:
    """An API key as shown: never its digest; its secret only when it is made."""
    fields = ("id", "role", "tenant_id", "created_at", "expires_at", "last_used_at", "revoked_at")
    return {**{f: getattr(key, f) for f in fields}, "secret": secret}


def agreement_view(a: Any) -> dict[str, Any]:
    """A price agreement as plain data: the tenant, pool and kind, and its terms."""
    return {"tenant_id": a.tenant_id, "pool": a.pool, "kind": a.kind.value, **plain(a.terms)}


def limits_view(limits: Any, exposure: Decimal, default_quota: int | None) -> dict[str, Any]:
    """A tenant's limits and its exposure now."""
    return {
        "tenant_id": limits.tenant_id,
        "credit_limit": plain(limits.credit_limit),
        "exposure": str(exposure),
        "quotas": dict(limits.quotas),
        "default_quota": default_quota,
    }


def site_power_view(p: SitePower) -> dict[str, Any]:
    """A site's power under caps: per GPU model what it draws, how fast it runs, and how many GPUs fit."""
    kw = mw = Decimal("0.001")
    return {
        "site": p.site,
        "power_budget_mw": plain(p.budget_mw),
        "pue": str(p.pue),
        "kind": p.kind,
        "contract_mw": plain(p.mw),
        "facility_power_mw": str(p.facility_mw.quantize(mw)),
        "power_headroom_mw": None if p.headroom_mw is None else str(p.headroom_mw.quantize(mw)),
        "models": [
            {
                "gpu_model": m.gpu_model,
                "gpus": m.gpus,
                "cap_w": m.cap_w,
                "cap_range_w": [m.power.min_cap_w, m.power.tdp_w],
                "it_kw_per_gpu": str(m.it_kw_per_gpu.quantize(kw)),
                "facility_kw_per_gpu": str(m.facility_kw_per_gpu.quantize(kw)),
                "facility_power_mw": str(m.facility_mw.quantize(mw)),
                "throughput": str(m.throughput.quantize(Decimal("0.0001"))),
                "gpus_in_budget": m.fit,
                "gpus_for_contract": m.for_mw,
                "gpus_per_step": m.per,
            }
            for m in p.models
        ],
        "tree": [
            {
                "kind": n.kind,
                "name": n.name,
                "limit_kw": str(n.limit_kw.quantize(kw)),
                "draw_kw": str(n.draw_kw.quantize(kw)),
                "headroom_kw": str((n.limit_kw - n.draw_kw).quantize(kw)),
                "over": n.over,
                "note": n.note,
            }
            for n in p.tree
        ],
    }


def applied_view(a: Applied) -> dict[str, Any]:
    """A curtailment applied: the event, its drill, the incidents it recorded."""
    return {"curtailment": plain(a.event), "drill": drill_view(a.drill), "incidents": list(a.incidents)}


def drill_view(d: Drill) -> dict[str, Any]:
    """A curtailment drill: the budget during the event, every load's action, the credits."""
    kw = Decimal("0.001")
    return {
        "site": d.site,
        "start": d.start,
        "end": d.end,
        "depth": str(d.depth),
        "limit_kw": str(d.limit_kw.quantize(kw)),
        "draw_kw": str(d.draw_kw.quantize(kw)),
        "after_kw": str(d.after_kw.quantize(kw)),
        "shortfall_kw": str(d.shortfall_kw.quantize(kw)),
        "credits_usd": str(to_money(d.credits_usd)),
        "actions": [
            {
                "contract_id": a.contract_id,
                "tenant_id": a.tenant_id,
                "kind": str(a.kind),
                "gpus": a.gpus,
                "draw_kw": str(a.draw_kw.quantize(kw)),
                "after_kw": str(a.after_kw.quantize(kw)),
                "cap_w": a.cap_w,
                "action": a.what,
                "credit_usd": str(to_money(a.credit_usd)),
                "notice_s": a.notice_s,
                "notice_short_s": a.notice_short_s,
            }
            for a in d.actions
        ],
    }


def site_view(site: Any, catalog: Any) -> dict[str, Any]:
    """A site as shown: topology, power budget against demand, block groups and pools."""
    demand = site.facility_power_mw(catalog)
    mw = Decimal("0.001")
    return {
        "name": site.name,
        "location": site.location,
        "gpus": site.gpus,
        "nodes": sum(g.nodes for g in site.blocks),
        "blocks": sum(g.count for g in site.blocks),
        "power_budget_mw": plain(site.power_mw),
        "it_power_mw": str((site.it_power_kw(catalog) / 1000).quantize(mw)),
        "pue": str(site.pue),
        "facility_power_mw": str(demand.quantize(mw)),
        "power_headroom_mw": None if site.power_mw is None else str((site.power_mw - demand).quantize(mw)),
        "oversubscription": str(site.oversubscription),
        "ramp_mw_per_s": plain(site.ramp_mw_per_s),
        "fall_mw_per_s": plain(site.fall_mw_per_s),
        "gpus_by_model": site.gpus_by_model(),
        "block_groups": [
            {
                "name": g.name,
                "count": g.count,
                "racks": g.racks,
                "nodes_per_rack": g.nodes_per_rack,
                "gpu_model": g.node.gpu_model,
                "gpus_per_node": g.node.gpus,
                "gpus": g.gpus,
            }
            for g in site.blocks
        ],
        "pools": plain(site.pools()),
    }
