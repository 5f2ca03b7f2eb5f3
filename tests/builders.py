"""What the tests build again and again: a small fleet, two tenants, contract requests, and the check that a
refusal changed nothing. Used with the real store (bootstrap.Context) and the in-memory one alike."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from neocloud.adapters.specs import parse_fleet
from neocloud.adapters.store.tables import Base
from neocloud.app import services
from neocloud.app.records import StoredWorkload
from neocloud.app.services import ContractRequest
from neocloud.core.billing.periods import month
from neocloud.core.contracts import ContractKind, TenantKind
from neocloud.core.errors import NeocloudError
from neocloud.core.workload import Job, WorkloadStatus

from .memory_store import MemoryStore

DAY = 86_400
T0 = 1_798_761_600  # 2027-01-01
POOL = "s1/h100-sxm"

FLEET = """
sites:
  - name: s1
    power_mw: 10
    blocks:
      - {name: b, count: 1, racks: 2, nodes_per_rack: 8, node: {gpu_model: h100-sxm, gpus: 8}}
"""  # 128 GPUs


SOON = month("2030-05")  # tenants sign from now on (API tests)


def contract_body(gpus: int = 8, span: Any = SOON, **kw: Any) -> dict[str, Any]:
    return {"pool": POOL, "start": span.start, "end": span.end + 30 * 86_400, "gpus": gpus, **kw}


def items(page: Any) -> list[Any]:
    assert set(page) == {"items", "next_cursor"}
    return list(page["items"])


def seed(ctx: Any) -> Any:
    """The fleet above and two tenants: lab (external, id t-lab) and research (internal, t-research)."""
    with ctx.uow() as uow:
        services.add_sites(uow, parse_fleet(FLEET, "fleet.yaml", ctx.catalog), ctx.catalog)
        services.add_tenant(uow, "lab", TenantKind.EXTERNAL, lambda p: "t-lab")
        services.add_tenant(uow, "research", TenantKind.INTERNAL, lambda p: "t-research")
    return ctx


def reserved(gpus: int, start: int = T0, days: int = 30, tenant: str = "lab", **kw: Any) -> ContractRequest:
    return ContractRequest(
        tenant=tenant, kind=ContractKind.RESERVED, pool=POOL, start=start, end=start + days * DAY, gpus=gpus, **kw
    )


def sign(ctx: Any, request: ContractRequest) -> Any:
    with ctx.uow() as uow:
        return services.sign_contract(uow, request, ctx.catalog, ctx.new_id, ctx.now())


def list_holds(ctx: Any) -> list[Any]:
    with ctx.uow() as uow:
        return services.list_holds(uow, POOL)


def snapshot(ctx: Any) -> Any:
    """Everything stored. The SQL store's: every row of every table, but a key's last use (noted when the key
    authenticates, whatever follows)."""
    if isinstance(ctx, MemoryStore):
        return ctx.state()
    with ctx.engine.connect() as conn:
        return {
            table: [
                tuple(v for k, v in row._mapping.items() if k != "last_used_at")
                for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
            ]
            for table in Base.metadata.tables
        }


def refused_without_change(ctx: Any, error: type[NeocloudError], action: Callable[[Any], Any]) -> str:
    before = snapshot(ctx)
    with pytest.raises(error) as refused, ctx.uow() as uow:
        action(uow)
    assert snapshot(ctx) == before
    return refused.value.message


def sign_args(
    gpus: int, start: str, term: str, *more: str, tenant: str = "lab", pool: str = "colossus-1/h100-sxm"
) -> list[str]:
    """The arguments of `neocloud contract sign` (the default fleet's H100 pool), and `more` of them."""
    return [
        "contract",
        "sign",
        "--tenant",
        tenant,
        "--pool",
        pool,
        "--gpus",
        str(gpus),
        "--start",
        start,
        "--term",
        term,
        *more,
    ]


def cli_on(url: str) -> Callable[..., str]:
    """The CLI on the store at `url`, in this process: each call's output, the call asserted to succeed (or,
    with `expect_failure`, to fail)."""
    from typer.testing import CliRunner

    from neocloud.cli.main import app

    runner = CliRunner()

    def run(*args: str, expect_failure: bool = False) -> str:
        done = runner.invoke(app, ["--db", url, *args])
        assert (done.exit_code != 0) == expect_failure, done.output
        return done.output

    return run


# A site whose feed is tight: the power tests' curtailments -------------------------------------------------

TIGHT = """
sites:
  - name: p
    power_mw: 0.2
    blocks:
      - {name: b, racks: 2, nodes_per_rack: 8, node: {gpu_model: h100-sxm, gpus: 8}}
"""  # 128 H100 at PUE 1.25: 165 kW at typical draw, 224.4 kW at TDP; the feed carries 160 kW of IT power
JUNE = 1_906_502_400  # 2030-06-01, 720 h; the drills: the 10th, 12:00-15:00


def tight_site(ctx: Any, running_spot: bool = True, fleet: str = TIGHT) -> dict[str, str]:
    """Site p: reserved A (48 GPUs, SLA 99.99 %, June at $2.40) and B (48, 99 %, from an hour later), and a spot
    contract, all the lab's; with `running_spot`, 32 GPUs of its spot work running (as a drill finds it)."""
    ids = {}
    with ctx.uow() as uow:
        services.add_sites(uow, parse_fleet(fleet, "tight.yaml", ctx.catalog), ctx.catalog)
        for name, sla, late in (("a", Decimal("0.9999"), 0), ("b", Decimal("0.99"), 3600)):
            request = ContractRequest(
                "lab", ContractKind.RESERVED, "p/h100-sxm", JUNE + late, JUNE + 720 * 3600, 48, sla_uptime=sla
            )
            ids[name] = services.sign_contract(uow, request, ctx.catalog, ctx.new_id, JUNE - DAY).id
        spot = ContractRequest("lab", ContractKind.SPOT, "p/h100-sxm", JUNE, JUNE + 720 * 3600)
        ids["spot"] = services.sign_contract(uow, spot, ctx.catalog, ctx.new_id, JUNE - DAY).id
        if running_spot:
            job = Job("w-spot", JUNE, DAY, 8, 4, tenant="t-lab")
            uow.workloads.save(StoredWorkload(job, ids["spot"], WorkloadStatus.RUNNING, DAY, started=JUNE))
    return ids
