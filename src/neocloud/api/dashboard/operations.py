"""The dashboard's operations pages: signing in and out, the overview (sites, power, pools, nodes), contracts,
a pool's capacity over time, and workloads (the operator's queue; a tenant's own, with submit and cancel)."""

from __future__ import annotations

import functools
import secrets
from decimal import Decimal
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from neocloud import bootstrap
from neocloud.api import charts
from neocloud.api.dashboard.common import (
    FOREIGN_FORM,
    ROWS,
    SESSION,
    SIGN_IN,
    act,
    ctx_of,
    page,
    signed_page,
    to_sign_in,
    whole,
)
from neocloud.app import live, nodes, services, sessions
from neocloud.app.auth import Principal, Unauthenticated
from neocloud.app.ports import CONTRACT_ORDERS, ContractFilter, UnitOfWork
from neocloud.app.records import CurtailmentEvent
from neocloud.app.views import site_power_view, site_view
from neocloud.core import bounds
from neocloud.core.catalog import Catalog
from neocloud.core.contracts import ContractKind, ContractStatus
from neocloud.core.errors import UnknownContract, quoted
from neocloud.core.fleet import Site
from neocloud.core.ledger import Ledger, kw
from neocloud.core.power import feed_node, site_power

router = APIRouter(include_in_schema=False)


@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    return _sign_in_form(request, None, 200)


def _sign_in_form(request: Request, error: str | None, status: int) -> Response:
    token = secrets.token_urlsafe(24)
    answer = page(request, "sign_in.html", status, csrf=token, error=error)
    answer.set_cookie(SIGN_IN, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return answer


@router.post("/sign-in")
def sign_in(
    request: Request, key: Annotated[str, Form(max_length=200)], csrf: Annotated[str, Form(max_length=100)]
) -> Response:
    if not secrets.compare_digest(csrf, request.cookies.get(SIGN_IN, "")):
        return _sign_in_form(request, "The form expired; please sign in again.", 403)
    ctx = ctx_of(request)
    try:
        with ctx.uow() as uow:
            cookie = sessions.open_session(uow, key.strip(), ctx.now())
    except Unauthenticated as refused:
        return _sign_in_form(request, refused.message, 401)
    answer = RedirectResponse("/", 303)
    answer.set_cookie(
        SESSION,
        cookie,
        max_age=sessions.LIFETIME,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    answer.delete_cookie(SIGN_IN)
    return answer


@router.post("/sign-out")
def sign_out(request: Request, csrf: Annotated[str, Form(max_length=100)]) -> Response:
    if not sessions.csrf_ok(request.cookies.get(SESSION), csrf):
        return page(request, "error.html", 403, message=FOREIGN_FORM)
    return to_sign_in()


@router.get("/")
def overview(request: Request) -> Response:
    def gather(uow: UnitOfWork, who: Principal, ctx: bootstrap.Context, now: int) -> dict[str, Any]:
        pools = uow.fleet.list_pools()
        ledger = uow.ledger.load([p.name for p in pools], lock=False)
        mine = [] if who.is_operator else uow.contracts.page(who.tenant_id or "-")
        cuts: dict[str, CurtailmentEvent] = {}
        for event in uow.fleet.curtailments(None, now, bounds.MAX_TIME) if who.is_operator else ():
            cuts.setdefault(event.site, event)  # in force now, or the next
        return {
            "capacity": [(p, ledger.profile(p.name, now, now + 1)[0]) for p in pools],
            "sites": [_site_with_power(s, ctx.catalog, ledger, now, cuts.get(s.name)) for s in uow.fleet.list_sites()]
            if who.is_operator
            else [],
            "states": nodes.summary(nodes.inventory(uow, ctx.catalog)) if who.is_operator else [],
            "contracts": [c for c in mine if c.end > now],
        }

    return signed_page(request, "overview.html", gather)


def _site_with_power(
    site: Site, catalog: Catalog, ledger: Ledger, now: int, cut: CurtailmentEvent | None
) -> dict[str, Any]:
    """A site as the overview shows it: its draw at typical load and at its GPUs' TDP against its budget, the
    IT power its contracts hold now at their caps against what its feed may sell (the ledger's), and the
    curtailment in force now or the next one."""
    shown = site_power_view(site_power(site, catalog))
    over = sum(n["over"] for n in shown["tree"])
    feed = feed_node(site)
    held = sellable = None
    if ledger.power is not None and feed in ledger.power.limits:
        [(_, _, drawn)] = ledger.power_profile(feed, now, now + 1)
        held, sellable = ((kw(mw) / 1000).quantize(Decimal("0.001")) for mw in (drawn, ledger.power_limit(feed)))
    return site_view(site, catalog) | {
        "tdp_mw": shown["facility_power_mw"], "tdp_headroom_mw": shown["power_headroom_mw"], "tree_over": over,
        "contracted_it_mw": held, "sellable_it_mw": sellable, "curtailment": cut,
    }  # fmt: skip


Choice = Annotated[str, Query(max_length=40, pattern=r"^[a-z-]*$")]


@router.get("/contracts")
def contracts(
    request: Request,
    kind: Choice = "",
    status: Choice = "",
    pool: Annotated[str, Query(max_length=200, pattern=f"^$|{bounds.ID}")] = "",
    order: Annotated[str, Query(pattern="^(" + "|".join(CONTRACT_ORDERS) + ")$")] = "start",
) -> Response:
    """Contracts, filtered by kind, status and pool, the largest first by start, end, GPUs or price."""

    def gather(uow: UnitOfWork, who: Principal, ctx: bootstrap.Context, now: int) -> dict[str, Any]:
        where = ContractFilter(kind or None, pool or None, status or None, order)
        latest, total = uow.contracts.latest(None if who.is_operator else who.tenant_id or "-", ROWS, where=where)
        names = {t.id: t.name for t in uow.tenants.page()} if who.is_operator else {}
        return {
            "contracts": latest,
            "total": total,
            "names": names,
            "where": where,
            "kinds": [k.value for k in ContractKind],
            "statuses": [s.value for s in ContractStatus],
            "orders": CONTRACT_ORDERS,
            "pools": [p.name for p in uow.fleet.list_pools()],
        }

    return signed_page(request, "contracts.html", gather)


@router.get("/contracts/{contract_id}")
def contract_detail(
    request: Request, contract_id: Annotated[str, Path(max_length=bounds.MAX_ID, pattern=bounds.ID)]
) -> Response:
    """One contract: its terms, the nodes it holds span by span, and its workloads."""

    def gather(uow: UnitOfWork, who: Principal, ctx: bootstrap.Context, now: int) -> dict[str, Any]:
        contract = uow.contracts.get(contract_id)
        if contract is None or not (who.is_operator or contract.tenant_id == who.tenant_id):
            raise UnknownContract(f"unknown contract {quoted(contract_id)}", contract=contract_id)
        return {
            "contract": contract,
            "tenant": services.get_tenant(uow, contract.tenant_id).name,
            "spans": uow.assignments.of_contract(contract_id),
        }

    return signed_page(request, "contract.html", gather)


@router.get("/capacity")
def capacity(
    request: Request,
    pool: Annotated[str, Query(min_length=1, max_length=200, pattern=bounds.ID)],
    days: Annotated[int, Query(ge=1, le=3660)] = 365,
) -> Response:
    """A pool's timeline: installed, in maintenance, held and free, from today on."""

    def gather(uow: UnitOfWork, who: Principal, ctx: bootstrap.Context, now: int) -> dict[str, Any]:
        start = now - now % 86_400
        end = start + days * 86_400
        steps = services.capacity_profile(uow, pool, start, end)
        title = f"{pool}: GPUs held and in maintenance, {days} days from today"
        return {"pool": pool, "days": days, "steps": steps, "chart": charts.capacity_chart(steps, start, end, title)}

    return signed_page(request, "capacity.html", gather)


@router.get("/workloads")
def workloads(request: Request) -> Response:
    return _workloads_page(request, None, 200)


def _workloads_page(request: Request, error: str | None, status: int, form: dict[str, str] | None = None) -> Response:
    """The operator: the queue and what runs, by pool and tenant. A tenant: its workloads, a form to submit
    one under a contract in force, and a button to cancel each that has not ended."""

    def gather(uow: UnitOfWork, who: Principal, ctx: bootstrap.Context, now: int) -> dict[str, Any]:
        if who.is_operator:
            rows, total = uow.workloads.latest(None, ROWS, active=True)
            usable = []
        else:
            rows, total = uow.workloads.latest(who.tenant_id or "-", ROWS)
            usable = uow.contracts.in_force(now, now + 1, tenant_id=who.tenant_id or "-")
        pools = {c.id: c.pool for c in uow.contracts.get_many({w.contract_id for w in rows}).values()}
        given = {"contract": "", "gpus_per_task": "8", "tasks": "1", "minutes": "60", "stages": "", **(form or {})}
        return {"workloads": rows, "total": total, "pools": pools, "usable": usable, "error": error, "form": given}

    return signed_page(request, "workloads.html", gather, status)


@router.post("/workloads")
def submit_workload(
    request: Request,
    contract: Annotated[str, Form(max_length=100)],
    gpus_per_task: Annotated[str, Form(max_length=20)],
    tasks: Annotated[str, Form(max_length=20)],
    minutes: Annotated[str, Form(max_length=20)],
    csrf: Annotated[str, Form(max_length=100)],
    stages: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    given = {"contract": contract, "gpus_per_task": gpus_per_task, "tasks": tasks, "minutes": minutes, "stages": stages}
    return act(
        request,
        csrf,
        lambda uow, who, ctx: live.submit_workload(
            uow,
            contract,
            whole(gpus_per_task, "GPUs per task"),
            whole(tasks, "tasks"),
            whole(minutes, "minutes") * 60,
            ctx.now(),
            ctx.new_id,
            tenant_id=None if who.is_operator else who.tenant_id,
            policy=ctx.settings.policy,
            catalog=ctx.catalog,
            stages=tuple(bounds.parse_seconds_list(stages, "stage seconds")) if stages.strip() else (),
        ),
        lambda again, message, status: _workloads_page(again, message, status, given),
        "/workloads",
    )


@router.post("/workloads/cancel")
def cancel_workload(
    request: Request, workload: Annotated[str, Form(max_length=100)], csrf: Annotated[str, Form(max_length=100)]
) -> Response:
    return act(
        request,
        csrf,
        lambda uow, who, ctx: live.cancel_workload(
            uow, workload, ctx.now(), None if who.is_operator else who.tenant_id, ctx.executor()
        ),
        _workloads_page,
        "/workloads",
    )


@router.get("/static/dashboard.css")
def stylesheet() -> Response:
    return Response(_css(), media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


@functools.cache
def _css() -> str:
    """Read once per process."""
    return resources.files("neocloud.api").joinpath("templates/dashboard.css").read_text()
