"""What every dashboard page shares: the templates and their filters, the signed-in caller, the error page,
and the headers that keep pages from loading or being framed by anything else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from neocloud import bootstrap
from neocloud.api.errors import status_of
from neocloud.app import sessions
from neocloud.app.auth import Principal
from neocloud.app.ports import UnitOfWork
from neocloud.core.errors import InvalidInput, NeocloudError
from neocloud.core.timeutil import human_duration

SESSION, SIGN_IN = "neocloud_session", "neocloud_sign_in"  # cookies: the session; the sign-in form's CSRF
HEADERS = {  # the pages load nothing but their own stylesheet, and no other site may frame or post to them
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

ROWS = 200  # rows a list shows at most, the latest first (the API and the CLI page through the rest)
FOREIGN_FORM = "This form did not come from this session; reload the page and try again."

templates = Environment(loader=PackageLoader("neocloud.api", "templates"), autoescape=select_autoescape())


def _utc(t: int | None) -> str:
    return "" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _number(n: int | Decimal | str | None) -> str:
    return "" if n is None else f"{Decimal(n):,}"


def _money(n: Decimal | str | None) -> str:
    """US dollars to the cent, with thousands separators; negative amounts (credits) with a minus sign."""
    return "" if n is None else f"{Decimal(n):,.2f}".replace("-", "\u2212") + " $"


def _rate(n: Decimal | str | None) -> str:
    """A price per unit: to the cent, or to its last significant digit below one (2.40, 0.0125)."""
    if n is None:
        return ""
    d = Decimal(n)
    return f"{d:,.2f}" if d == d.quantize(Decimal("0.01")) else f"{d.normalize():,f}"


templates.filters.update(utc=_utc, n=_number, duration=human_duration, money=_money, rate=_rate)


def page(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = templates.get_template(name).render(request=request, **values)
    return HTMLResponse(html, status, headers=HEADERS)


def ctx_of(request: Request) -> bootstrap.Context:
    return request.app.state.ctx  # type: ignore[no-any-return]


def signed_in(request: Request) -> tuple[Principal, str] | None:
    """The session's caller and cookie (the door has looked the session up already: this reads its cache)."""
    cookie = request.cookies.get(SESSION)
    ctx = ctx_of(request)
    who = request.app.state.sessions.principal(ctx.uow, cookie, ctx.now())
    return None if who is None or cookie is None else (who, cookie)


def to_sign_in() -> Response:
    answer = RedirectResponse("/sign-in", 303)
    answer.delete_cookie(SESSION)
    return answer


Gather = Callable[[UnitOfWork, Principal, bootstrap.Context, int], dict[str, Any]]


def signed_page(request: Request, template: str, gather: Gather, status: int = 200) -> Response:
    """A page for the signed-in caller (else to the sign-in page): `gather(uow, who, ctx, now)` reads what it
    shows in one read-only unit of work; a refusal shows as an error page with the API's status for it."""
    signed = signed_in(request)
    if signed is None:
        return to_sign_in()
    who, cookie = signed
    ctx = ctx_of(request)
    now = ctx.now()
    shown = {"who": who, "csrf": sessions.csrf_token(cookie), "now": now}
    try:
        with ctx.reader() as uow:
            values = gather(uow, who, ctx, now)
    except NeocloudError as refused:
        return page(request, "error.html", status_of(refused), **shown, message=refused.message)
    return page(request, template, status, **shown, **values)


def poster(request: Request, csrf: str) -> Principal | Response:
    """Who posted a form: the signed-in caller if the form came from its session; else what to answer (the
    sign-in page, or a 403 page)."""
    signed = signed_in(request)
    if signed is None:
        return to_sign_in()
    who, cookie = signed
    if not sessions.csrf_ok(cookie, csrf):
        return page(request, "error.html", 403, who=who, csrf=sessions.csrf_token(cookie), message=FOREIGN_FORM)
    return who


Again = Callable[[Request, str, int], Response]  # a form's page again, with the reason its action was refused


def act(
    request: Request,
    csrf: str,
    action: Callable[[UnitOfWork, Principal, bootstrap.Context], object],
    again: Again,
    then: str,
) -> Response:
    """A form's action as the signed-in caller in one unit of work, then `then` (303); or the form's page
    again with the reason, and the API's status for it."""
    who = poster(request, csrf)
    if isinstance(who, Response):
        return who
    ctx = ctx_of(request)
    try:
        with ctx.uow() as uow:
            action(uow, who, ctx)
    except NeocloudError as refused:
        return again(request, refused.message, status_of(refused))
    return RedirectResponse(then, 303)


def whole(text: str, field: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise InvalidInput(f"{field} must be a whole number, got {text[:20]!r}", field=field)
    return int(text)


def refused_page(request: Request, status: int, message: str) -> Response:
    """A request the framework refused (a malformed query or form), as a page rather than JSON."""
    signed = signed_in(request)
    shown = {"who": signed[0], "csrf": sessions.csrf_token(signed[1])} if signed else {}
    return page(request, "error.html", status, **shown, message=message)
