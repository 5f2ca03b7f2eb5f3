"""What the dashboard's browser tests share: a server on a store with the colossus-1 fleet, two tenants with
contracts, usage, invoices and an incident, their keys; and signing in from a real browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from neocloud import bootstrap
from neocloud.adapters.specs import load_fleet
from neocloud.app import auth, billing, services
from neocloud.app.power import apply_curtailment
from neocloud.app.services import ContractRequest
from neocloud.core.billing.periods import month_of
from neocloud.core.contracts import ContractKind, TenantKind

from ..browser import offline_page
from ..servers import serve

POOL = "colossus-1/h100-sxm"
OTHER_POOL = "colossus-1/h200-sxm"  # lab's reservation with an SLA: POOL's figures stay as they are
DAY = 86_400


@pytest.fixture
def site(ctx: bootstrap.Context, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A server on the store, the colossus-1 fleet, tenants lab and rival with a reservation each, and keys."""
    now = ctx.now()
    with ctx.uow() as uow:
        services.add_sites(uow, load_fleet("colossus-1", ctx.catalog), ctx.catalog)
        found = {"operator": auth.create_key(uow, 0, ctx.new_id)[1]}
        for name in ("lab", "rival"):
            services.add_tenant(uow, name, TenantKind.EXTERNAL, lambda p, name=name: f"t-{name}")
            found[name] = auth.create_key(uow, 0, ctx.new_id, name)[1]
            request = ContractRequest(name, ContractKind.RESERVED, POOL, now + 3600, now + 30 * 86_400, gpus=1_024)
            found[f"{name} contract"] = services.sign_contract(uow, request, ctx.catalog, ctx.new_id, now).id
        on_demand = ContractRequest("lab", ContractKind.ON_DEMAND, POOL, now, now + 30 * 86_400)
        found["lab on-demand"] = services.sign_contract(uow, on_demand, ctx.catalog, ctx.new_id, now).id
        _last_month(uow, ctx, found, now)
        cut = month_of(now).end + 86_400 + 14 * 3600  # the 2nd of next month, 14:00 to 17:00
        apply_curtailment(uow, ctx.catalog, "colossus-1", Decimal("0.25"), cut, cut + 3 * 3600, now, ctx.new_id)
        found["curtailment"] = str(cut)
    env = {**os.environ, "NEOCLOUD_DB_URL": ctx.url, "NEOCLOUD_TICK": "0"}
    process, base = serve(env, log=tmp_path / "server.log")
    try:
        yield {**found, "origin": base.removesuffix("/v1")}
    finally:
        process.terminate()
        process.wait(10)


def _last_month(uow: Any, ctx: bootstrap.Context, found: dict[str, str], now: int) -> None:
    """Each tenant ran work under an on-demand contract last month, invoiced; lab's reservation with an SLA
    lost 64 GPUs for a day this month."""
    last = month_of(month_of(now).start - 1)
    for name in ("lab", "rival"):
        request = ContractRequest(name, ContractKind.ON_DEMAND, POOL, last.start, last.end)
        contract = services.sign_contract(uow, request, ctx.catalog, ctx.new_id, now)
        run = billing.run_record(uow, contract.id, f"{name}-job", 8_000, last.start + DAY, last.start + 3 * DAY)
        billing.ingest_usage(uow, [run])
        found[f"{name} invoice"] = billing.generate_invoice(uow, ctx.catalog, name, last.key, now, ctx.new_id).id
    this = month_of(now)
    sla = ContractRequest(
        "lab", ContractKind.RESERVED, OTHER_POOL, this.start, this.end, gpus=512, sla_uptime=Decimal("0.99")
    )
    found["lab sla contract"] = contract_id = services.sign_contract(uow, sla, ctx.catalog, ctx.new_id, now).id
    billing.record_incident(
        uow,
        OTHER_POOL,
        this.start,
        this.start + DAY,
        ctx.new_id,
        gpus=64,
        contract_id=contract_id,
        description="a leaf switch failed",
    )


def signed_in(browser: Any, site: dict[str, str], who: str, outside: list[str], width: int = 1280) -> Any:
    page = offline_page(browser, site["origin"], outside)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(site["origin"] + "/")
    assert page.url.endswith("/sign-in")  # not signed in yet
    page.fill("#key", site[who])
    page.click("button[type=submit]")
    page.wait_for_url(site["origin"] + "/")
    return page
