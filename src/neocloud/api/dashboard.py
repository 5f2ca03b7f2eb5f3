"""The dashboard: HTML pages rendered on the server (Jinja2) from what the API reads, for the operator and
for tenants, signed in with an API key (app/sessions.py). No script and no file from elsewhere: the pages
work offline, every chart is drawn here, and a tenant sees only what its key shows through the API."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from neocloud import bootstrap
from neocloud.api import charts
from neocloud.app import nodes, services, sessions
from neocloud.app.auth import Principal, Unauthenticated
from neocloud.app.views import site_view
from neocloud.core import bounds
from neocloud.core.errors import NeocloudError

SESSION, SIGN_IN = "neocloud_session", "neocloud_sign_in"  # cookies: the session; the sign-in form's CSRF
PAGES = frozenset(
    {"/", "/sign-in", "/sign-out", "/contracts", "/capacity", "/static/dashboard.css"}
)  # past the API's door
HEADERS = {  # the pages load nothing but their own stylesheet, and no other site may frame or post to them
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

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
    cookie = request.cookies.get(SESSION)
    if cookie is None:
        return None
    ctx = _ctx(request)
    try:
        with ctx.uow() as uow:
            return sessions.session_principal(uow, cookie, ctx.now()), cookie
    except Unauthenticated:
        return None


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
        return _page(request, "error.html", 403, message="This form did not come from this session.")
    return _to_sign_in()


@router.get("/")
def overview(request: Request) -> Response:
    signed = _signed_in(request)
    if signed is None:
        return _to_sign_in()
    who, cookie = signed
    ctx = _ctx(request)
    now = ctx.now()
    with ctx.reader() as uow:
        pools = uow.fleet.list_pools()
        ledger = uow.ledger.load([p.name for p in pools], lock=False)
        capacity = [(p, ledger.profile(p.name, now, now + 1)[0]) for p in pools]
        sites = [site_view(s, ctx.catalog) for s in uow.fleet.list_sites()] if who.is_operator else []
        states = nodes.summary(nodes.inventory(uow, ctx.catalog)) if who.is_operator else []
        mine = [] if who.is_operator or who.tenant_id is None else uow.contracts.page(who.tenant_id)
    return _page(
        request,
        "overview.html",
        who=who,
        csrf=sessions.csrf_token(cookie),
        now=now,
        sites=sites,
        capacity=capacity,
        states=states,
        contracts=[c for c in mine if c.end > now],
    )


@router.get("/contracts")
def contracts(request: Request) -> Response:
    signed = _signed_in(request)
    if signed is None:
        return _to_sign_in()
    who, cookie = signed
    ctx = _ctx(request)
    with ctx.reader() as uow:
        shown = uow.contracts.page(None if who.is_operator else who.tenant_id or "-", limit=1000)
        names = {t.id: t.name for t in uow.tenants.page()} if who.is_operator else {}
    return _page(
        request,
        "contracts.html",
        who=who,
        csrf=sessions.csrf_token(cookie),
        now=ctx.now(),
        contracts=shown,
        names=names,
    )


@router.get("/capacity")
def capacity(
    request: Request,
    pool: Annotated[str, Query(min_length=1, max_length=200, pattern=bounds.ID)],
    days: Annotated[int, Query(ge=1, le=3660)] = 365,
) -> Response:
    """A pool's timeline: installed, in maintenance, held and free, from now on."""
    signed = _signed_in(request)
    if signed is None:
        return _to_sign_in()
    who, cookie = signed
    ctx = _ctx(request)
    now = ctx.now()
    start, end = now - now % 86_400, now - now % 86_400 + days * 86_400
    try:
        with ctx.reader() as uow:
            steps = services.capacity_profile(uow, pool, start, end)
    except NeocloudError as refused:
        return _page(request, "error.html", 404, who=who, csrf=sessions.csrf_token(cookie), message=refused.message)
    chart = charts.capacity_chart(steps, start, end, f"{pool}: GPUs held and in maintenance, {days} days from today")
    return _page(
        request,
        "capacity.html",
        who=who,
        csrf=sessions.csrf_token(cookie),
        now=now,
        pool=pool,
        days=days,
        chart=chart,
        steps=steps,
    )


@router.get("/static/dashboard.css")
def stylesheet() -> Response:
    from importlib import resources

    css = resources.files("neocloud.api").joinpath("templates/dashboard.css").read_text()
    return Response(css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})
