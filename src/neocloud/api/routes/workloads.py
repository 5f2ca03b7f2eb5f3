"""Workloads: work under contracts, placed and run by the live engine."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response

from neocloud.api import schemas
from neocloud.api.deps import (
    Ctx,
    Cursor,
    Limit,
    Once,
    TenantParam,
    Who,
    owned,
    paged,
    tenant_scope,
)
from neocloud.app import listings, live
from neocloud.app.records import Command
from neocloud.app.views import workload_view
from neocloud.core import bounds
from neocloud.core.errors import NotFound, quoted

router = APIRouter(tags=["workloads"])
WorkloadId = Annotated[str, Path(max_length=bounds.MAX_ID, pattern=bounds.ID)]


@router.post("/workloads", status_code=201, response_model=schemas.WorkloadOut)
async def submit(body: schemas.WorkloadIn, ctx: Ctx, once: Once) -> Response:
    """Queue work under one of your contracts; the live engine places it, runs it and meters it. Refused beyond
    the tenant's reservations and quota in the pool (409 `quota_exceeded`) or at its credit limit (402)."""
    who = once.who
    return await once(
        lambda uow: workload_view(
            live.submit_workload(
                uow,
                body.contract_id,
                body.gpus_per_task,
                body.tasks,
                body.duration,
                ctx.now(),
                ctx.new_id,
                tenant_id=None if who.is_operator else who.tenant_id,
                policy=ctx.settings.policy,
                catalog=ctx.catalog,
                command=None if body.command is None else _command(body.command),
                stages=tuple(body.stages or ()),
                iteration=body.iteration,
            )
        ),
    )


@router.get("/workloads", response_model=schemas.Page[schemas.WorkloadOut])
def list_workloads(
    ctx: Ctx, who: Who, tenant: TenantParam = None, cursor: Cursor = None, limit: Limit = 100
) -> dict[str, Any]:
    """Workloads by submission: a tenant's own; for operators, all or one tenant's."""
    with ctx.uow() as uow:
        scope = tenant_scope(uow, who, tenant)
        page = listings.WORKLOADS.fetch(cursor, limit, lambda a, n: uow.workloads.page(scope, after=a, limit=n))
    return paged(page, workload_view)


@router.get("/workloads/{workload_id}", response_model=schemas.WorkloadOut)
def show_workload(workload_id: WorkloadId, ctx: Ctx, who: Who) -> Any:
    missing = NotFound(f"unknown workload {quoted(workload_id)}", workload=workload_id)
    with ctx.uow() as uow:
        w = uow.workloads.get(workload_id)
    if w is None:
        raise missing
    owned(who, w.job.tenant, missing)
    return workload_view(w)


@router.post("/workloads/{workload_id}/cancel", response_model=schemas.WorkloadOut)
def cancel_workload(workload_id: WorkloadId, ctx: Ctx, who: Who) -> Any:
    with ctx.uow() as uow:
        return workload_view(
            live.cancel_workload(
                uow, workload_id, ctx.now(), None if who.is_operator else who.tenant_id, ctx.executor()
            )
        )


def _command(given: schemas.CommandIn) -> Command:
    return Command(given.run, tuple(sorted(given.env.items())), given.workdir, given.output)
