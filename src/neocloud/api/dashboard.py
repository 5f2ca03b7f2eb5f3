"""The dashboard: HTML pages rendered on the server (Jinja2) from what the API reads, for the operator and
for tenants, signed in with an API key (app/sessions.py). No script and no file from elsewhere: the pages
work offline, every chart is drawn here, and a tenant sees only what its key shows through the API."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from neocloud import bootstrap
from neocloud.api import charts
from neocloud.api.errors import status_of
from neocloud.app import live, nodes, services, sessions
from neocloud.app.auth import Principal, Unauthenticated
from neocloud.app.ports import UnitOfWork
from neocloud.app.views import site_view
from neocloud.core import bounds
from neocloud.core.errors import InvalidInput, NeocloudError

SESSION, SIGN_IN = "neocloud_session", "neocloud_sign_in"  # cookies: the session; the sign-in form's CSRF
PAGES = frozenset(  # past the API's door: each page checks its session
    {
        "/",
        "/sign-in",
        "/sign-out",
        "/contracts",
        "/capacity",
        "/workloads",
        "/workloads/cancel",
        "/static/dashboard.css",
    }
)
HEADERS = {  # the pages load nothing but their own stylesheet, and no other site may frame or post to them
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

ROWS = 200  # rows a list shows at most, the latest first (the API and the CLI page through the rest)
FOREIGN_FORM = "This form did not come from this session; reload the page and try again."

router = APIRouter(include_in_schema=False)
templates = Environment(loader=PackageLoader("neocloud.api", "templates"), autoescape=select_autoescape())


def _utc(t: int | None) -> str:
    return "" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _number(n: int | Decimal | str | None) -> str:
    return "" if n is None else f"{Decimal(n):,}"


templates.filters.update(utc=_utc, n=_number)


def _page(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = templates.get_template(name).render(request=request, **values)
    return HTMLResponse(html, status, headers=HEADERS)


def _ctx(request: Request) -> bootstrap.Context:
    return request.app.state.ctx  # type: ignore[no-any-return]


def _signed_in(request: Request) -> tuple[Principal, str] | None:
    """The session's caller and cookie (the door has looked the session up already: this reads its cache)."""
    cookie = request.cookies.get(SESSION)
    ctx = _ctx(request)
    who = request.app.state.sessions.principal(ctx.uow, cookie, ctx.now())
    return None if who is None or cookie is None else (who, cookie)


def _to_sign_in() -> Response:
    answer = RedirectResponse("/sign-in", 303)
    answer.delete_cookie(SESSION)
    return answer


@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    return _sign_in_form(request, None, 200)


def _sign_in_form(request: Request, error: str | None, status: int) -> Response:
    token = secrets.token_urlsafe(24)
    answer = _page(request, "sign_in.html", status, csrf=token, error=error)
    answer.set_cookie(SIGN_IN, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return answer


@router.post("/sign-in")
def sign_in(
    request: Request, key: Annotated[str, Form(max_length=200)], csrf: Annotated[str, Form(max_length=100)]
) -> Response:
    if not secrets.compare_digest(csrf, request.cookies.get(SIGN_IN, "")):
        return _sign_in_form(request, "The form expired; please sign in again.", 403)
    ctx = _ctx(request)
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
        return _page(request, "error.html", 403, message=FOREIGN_FORM)
    return _to_sign_in()


Gather = Callable[[UnitOfWork, Principal, bootstrap.Context, int], dict[str, Any]]


def _signed_page(request: Request, template: str, gather: Gather, status: int = 200) -> Response:
    """A page for the signed-in caller (else to the sign-in page): `gather(uow, who, ctx, now)` reads what it
    shows in one read-only unit of work; a refusal shows as an error page with the API's status for it."""
    signed = _signed_in(request)
    if signed is None:
        return _to_sign_in()
    who, cookie = signed
    ctx = _ctx(request)
    now = ctx.now()
    shown = {"who": who, "csrf": sessions.csrf_token(cookie), "now": now}
    try:
        with ctx.reader() as uow:
            values = gather(uow, who, ctx, now)
    except NeocloudError as refused:
        return _page(request, "error.html", status_of(refused), **shown, message=refused.message)
    return _page(request, template, status, **shown, **values)


@router.get("/")
def overview(request: Request) -> Response:
    def gather(uow: UnitOfWork, who: Principal, ctx: bootstrap.Context, now: int) -> dict[str, Any]:
        pools = uow.fleet.list_pools()
        ledger = uow.ledger.load([p.name for p in pools], lock=False)
        mine = [] if who.is_operator else uow.contracts.page(who.tenant_id or "-")
        return {
            "capacity": [(p, ledger.profile(p.name, now, now + 1)[0]) for p in pools],
            "sites": [site_view(s, ctx.catalog) for s in uow.fleet.list_sites()] if who.is_operator else [],
            "states": nodes.summary(nodes.inventory(uow, ctx.catalog)) if who.is_operator else [],
            "contracts": [c for c in mine if c.end > now],
        }

    return _signed_page(request, "overview.html", gather)


@router.get("/contracts")
def contracts(request: Request) -> Response:
    def gather(uow: UnitOfWork, who: Principal, ctx: bootstrap.Context, now: int) -> dict[str, Any]:
        latest, total = uow.contracts.latest(None if who.is_operator else who.tenant_id or "-", ROWS)
        names = {t.id: t.name for t in uow.tenants.page()} if who.is_operator else {}
        return {"contracts": latest, "total": total, "names": names}

    return _signed_page(request, "contracts.html", gather)


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

    return _signed_page(request, "capacity.html", gather)


@router.get("/workloads")
def workloads(request: Request) -> Response:
    return _workloads_page(request, None, 200)


def _workloads_page(request: Request, error: str | None, status: int) -> Response:
    """The operator: the queue and what runs, by pool and tenant. A tenant: its workloads, a form to submit
    one under a contract in force, and a button to cancel each that has not ended."""

    def gather(uow: UnitOfWork, who: Principal, ctx: bootstrap.Context, now: int) -> dict[str, Any]:
        if who.is_operator:
            rows, total = uow.workloads.latest(None, ROWS, active=True)
            usable = []
        else:
            rows, total = uow.workloads.latest(who.tenant_id or "-", ROWS)
            usable = [c for c in uow.contracts.page(who.tenant_id or "-") if c.start <= now < c.end]
        pools = {c.id: c.pool for c in uow.contracts.get_many({w.contract_id for w in rows}).values()}
        return {"workloads": rows, "total": total, "pools": pools, "usable": usable, "error": error}

    return _signed_page(request, "workloads.html", gather, status)


@router.post("/workloads")
def submit_workload(
    request: Request,
    contract: Annotated[str, Form(max_length=100)],
    gpus_per_task: Annotated[str, Form(max_length=20)],
    tasks: Annotated[str, Form(max_length=20)],
    minutes: Annotated[str, Form(max_length=20)],
    csrf: Annotated[str, Form(max_length=100)],
) -> Response:
    return _act(
        request,
        csrf,
        lambda uow, who, ctx: live.submit_workload(
            uow,
            contract,
            _whole(gpus_per_task, "GPUs per task"),
            _whole(tasks, "tasks"),
            _whole(minutes, "minutes") * 60,
            ctx.now(),
            ctx.new_id,
            tenant_id=None if who.is_operator else who.tenant_id,
            policy=ctx.settings.policy,
            catalog=ctx.catalog,
        ),
    )


@router.post("/workloads/cancel")
def cancel_workload(
    request: Request, workload: Annotated[str, Form(max_length=100)], csrf: Annotated[str, Form(max_length=100)]
) -> Response:
    return _act(
        request,
        csrf,
        lambda uow, who, ctx: live.cancel_workload(
            uow, workload, ctx.now(), None if who.is_operator else who.tenant_id, ctx.executor()
        ),
    )


def _act(request: Request, csrf: str, act: Callable[[UnitOfWork, Principal, bootstrap.Context], object]) -> Response:
    """A form's action as the signed-in caller, then the workloads again (303), or the page with the reason."""
    signed = _signed_in(request)
    if signed is None:
        return _to_sign_in()
    who, cookie = signed
    if not sessions.csrf_ok(cookie, csrf):
        return _page(request, "error.html", 403, who=who, csrf=sessions.csrf_token(cookie), message=FOREIGN_FORM)
    ctx = _ctx(request)
    try:
        with ctx.uow() as uow:
            act(uow, who, ctx)
    except NeocloudError as refused:
        return _workloads_page(request, refused.message, status_of(refused))
    return RedirectResponse("/workloads", 303)


def _whole(text: str, field: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise InvalidInput(f"{field} must be a whole number, got {text[:20]!r}", field=field)
    return int(text)


@router.get("/static/dashboard.css")
def stylesheet() -> Response:
    return Response(_css(), media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


@functools.cache
def _css() -> str:
    """Read once per process."""
    return resources.files("neocloud.api").joinpath("templates/dashboard.css").read_text()
