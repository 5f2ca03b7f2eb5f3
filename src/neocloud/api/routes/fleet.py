"""Sites, pools, capacity quotes, holds and maintenance."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response

from neocloud.api import schemas
from neocloud.api.deps import Ctx, Cursor, Limit, Operator, OperatorOnce, PoolQuery, TimeQuery, Who, paged
from neocloud.app import listings, services
from neocloud.app import power as power_cases
from neocloud.app.ports import UnitOfWork
from neocloud.app.views import applied_view, drill_view, node_power_view, plain, site_power_view, site_view
from neocloud.core import bounds, power
from neocloud.core.errors import NotFound, quoted

router = APIRouter()


@router.get("/sites", response_model=schemas.Page[schemas.SiteOut], tags=["fleet"])
def sites(ctx: Ctx, who: Who, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    """Sites with their power budget and GPUs."""
    with ctx.uow() as uow:
        page = listings.SITES.of(cursor, limit, uow.fleet.list_sites())
    return paged(page, lambda s: site_view(s, ctx.catalog))


@router.get("/sites/{site}/power", response_model=schemas.SitePowerOut, tags=["fleet"])
def site_power(
    ctx: Ctx,
    who: Who,
    site: Annotated[str, Path(min_length=1, max_length=200)],
    cap: Annotated[list[str] | None, Query(max_length=20, description="MODEL=WATTS, once per model")] = None,
    mw: Annotated[Decimal | None, Query(ge=0, le=1_000_000, allow_inf_nan=False, description="A contract's MW")] = None,
    kind: Annotated[str, Query(max_length=40, description="training or inference")] = "training",
) -> dict[str, Any]:
    """Power under caps: per GPU model what it draws, how fast it runs, how many GPUs the site's budget and a
    contract of `mw` megawatts hold."""
    with ctx.reader() as uow:
        found = uow.fleet.get_site(site)
    if found is None:
        raise NotFound(f"unknown site {quoted(site)}", site=site)
    return site_power_view(power.site_power(found, ctx.catalog, power.parse_caps(cap or []), mw, kind))


@router.get("/sites/{site}/curtailment", response_model=schemas.DrillOut, tags=["fleet"])
def curtailment_drill(
    ctx: Ctx,
    who: Operator,
    site: Annotated[str, Path(min_length=1, max_length=200)],
    depth: Annotated[Decimal, Query(gt=0, le=1, allow_inf_nan=False, description="Share of the budget cut")],
    start: TimeQuery,
    end: TimeQuery,
) -> dict[str, Any]:
    """A curtailment drill (operator; writes nothing): whose work would be capped or stopped, in contract order,
    if the site's budget shrank by `depth` over [start, end), and the SLA credits it would cost."""
    with ctx.reader() as uow:
        return drill_view(power_cases.curtailment_drill(uow, ctx.catalog, site, depth, start, end, ctx.now()))


@router.post("/sites/{site}/curtailments", status_code=201, response_model=schemas.AppliedOut, tags=["fleet"])
async def apply_curtailment(
    ctx: Ctx, once: OperatorOnce, site: Annotated[str, Path(min_length=1, max_length=200)], body: schemas.CurtailmentIn
) -> Response:
    """Apply a curtailment (operator): the site's budget is cut by `depth` over [start, end). The live engine
    keeps the site's running work within what is left, stopping work in contract order; each reserved
    contract whose power the cut takes below contract gets an incident, so its invoice's SLA credit follows."""
    return await once(
        lambda uow: applied_view(
            power_cases.apply_curtailment(
                uow, ctx.catalog, site, body.depth, body.start, body.end, ctx.now(), ctx.new_id, body.description
            )
        )
    )


@router.post("/sites/{site}/curtailments/{curtailment_id}/lift", response_model=schemas.LiftedOut, tags=["fleet"])
async def lift_curtailment(
    ctx: Ctx,
    once: OperatorOnce,
    site: Annotated[str, Path(min_length=1, max_length=200)],
    curtailment_id: Annotated[str, Path(max_length=bounds.MAX_ID, pattern=bounds.ID)],
    body: schemas.LiftIn,
) -> Response:
    """Lift a curtailment early (operator), at `end` (default now): the site's work may draw its whole feed
    again from then, and the incidents it recorded end then too, with their SLA credits. One that has not
    begun by then is withdrawn, with its incidents."""

    def lift(uow: UnitOfWork) -> dict[str, Any]:
        event, withdrawn = power_cases.lift_curtailment(uow, site, curtailment_id, body.end, ctx.now())
        return {"curtailment": plain(event), "withdrawn": withdrawn}

    return await once(lift, status=200)


@router.get("/sites/{site}/curtailments", response_model=list[schemas.CurtailmentOut], tags=["fleet"])
def list_curtailments(
    ctx: Ctx, who: Who, site: Annotated[str, Path(min_length=1, max_length=200)], start: TimeQuery, end: TimeQuery
) -> list[dict[str, Any]]:
    """The site's curtailments overlapping [start, end)."""
    with ctx.reader() as uow:
        return [plain(e) for e in power_cases.curtailments(uow, site, start, end)]


@router.get("/pools", response_model=schemas.Page[schemas.PoolOut], tags=["fleet"])
def pools(ctx: Ctx, who: Who, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    """Pools: GPUs of one model at one site, as sold."""
    with ctx.uow() as uow:
        return paged(listings.POOLS.of(cursor, limit, uow.fleet.list_pools()))


@router.get("/sites/{site}/power/profile", response_model=schemas.PowerProfileOut, tags=["fleet"])
def site_power_profile(
    ctx: Ctx,
    who: Who,
    site: Annotated[str, Path(min_length=1, max_length=200)],
    start: TimeQuery,
    end: TimeQuery,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Steps per node at most")] = 1_000,
) -> dict[str, Any]:
    """What contracts draw on each node of the site's power tree (its feed, its halls) over [start, end), step
    by step, against the node's limit: the ledger's power, as its GPUs are the pools' profiles."""
    with ctx.reader() as uow:
        nodes = power_cases.power_profile(uow, site, start, end, limit)
    return {"site": site, "start": start, "end": end, "nodes": [node_power_view(n) for n in nodes]}


@router.get("/capacity/free", response_model=schemas.FreeOut, tags=["capacity"])
def capacity_free(
    pool: PoolQuery,
    start: TimeQuery,
    end: TimeQuery,
    ctx: Ctx,
    who: Who,
    power: Annotated[bool, Query(description="Add the power free above the pool")] = False,
    cap_w: Annotated[int | None, Query(ge=1, le=bounds.MAX_CAP_W, description="Power cap per GPU, W")] = None,
) -> JSONResponse:
    """GPUs free over the whole of [start, end); with power=true (or a cap), how many of them the power nodes
    above the pool have power for at the cap, and each node's free power."""
    with ctx.reader() as uow:
        if power or cap_w is not None:
            found = power_cases.free_power(uow, ctx.catalog, pool, start, end, cap_w)
            nodes = [node_power_view(n) for n in found.nodes]
            more = {"power": {"cap_w": cap_w, "gpus": found.gpus, "nodes": nodes}}
            return JSONResponse({"pool": pool, "start": start, "end": end, "free": found.free, **more})
        free = services.free_capacity(uow, pool, start, end)
    # The hottest read: return the response directly (the model above documents it; no re-validation).
    return JSONResponse({"pool": pool, "start": start, "end": end, "free": free})


@router.get("/capacity/profile", response_model=schemas.Page[schemas.StepOut], tags=["capacity"])
def capacity_profile(
    pool: PoolQuery, start: TimeQuery, end: TimeQuery, ctx: Ctx, who: Who, cursor: Cursor = None, limit: Limit = 100
) -> dict[str, Any]:
    """The pool's capacity step function over [start, end), step by step."""
    with ctx.reader() as uow:
        steps = services.capacity_profile(uow, pool, start, end)
    page = listings.PROFILE.of(cursor, limit, steps)
    return paged(page, lambda s: {**plain(s), "capacity": s.capacity, "free": s.free})


@router.get("/capacity/earliest", response_model=schemas.EarliestOut, tags=["capacity"])
def capacity_earliest(
    pool: PoolQuery,
    gpus: Annotated[int, Query(ge=1, le=bounds.MAX_GPUS)],
    duration: Annotated[int, Query(ge=1, le=bounds.MAX_DURATION, description="Seconds")],
    not_before: TimeQuery,
    ctx: Ctx,
    who: Who,
) -> dict[str, Any]:
    """The earliest start for `gpus` GPUs during `duration` seconds, not before `not_before`."""
    with ctx.reader() as uow:
        start = services.earliest_start(uow, pool, gpus, duration, not_before)
    return {"pool": pool, "gpus": gpus, "duration": duration, "start": start, "end": start + duration}


@router.get("/holds", response_model=schemas.Page[schemas.HoldOut], tags=["fleet"])
def holds(pool: PoolQuery, ctx: Ctx, who: Operator, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    """Every hold on a pool: contracts' and maintenance (operator)."""
    with ctx.reader() as uow:
        return paged(listings.HOLDS.of(cursor, limit, services.list_holds(uow, pool)))


@router.post("/maintenance", status_code=201, response_model=schemas.HoldOut, tags=["fleet"])
async def add_maintenance(body: schemas.MaintenanceIn, ctx: Ctx, once: OperatorOnce) -> Response:
    """Take GPUs out of service; refused (409) where they are already sold, or inside an invoiced month."""
    return await once(
        lambda uow: services.schedule_maintenance(uow, body.pool, body.gpus, body.start, body.end, ctx.new_id)
    )


@router.post("/maintenance/{hold_id}/cancel", response_model=schemas.HoldOut, tags=["fleet"])
def cancel_maintenance(
    hold_id: Annotated[str, Path(max_length=bounds.MAX_ID, pattern=bounds.ID)], pool: PoolQuery, ctx: Ctx, who: Operator
) -> Any:
    """Put GPUs back in service."""
    with ctx.uow() as uow:
        return plain(services.cancel_maintenance(uow, pool, hold_id))
