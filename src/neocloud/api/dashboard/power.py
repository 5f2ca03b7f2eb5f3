"""The dashboard's power page (operators): each site's feed and the curtailments applied to it, a curtailment
drill (whose work a cut would cap or stop, and the credits), and, from the drill, applying it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from neocloud import bootstrap
from neocloud.api.dashboard.common import act, signed_page
from neocloud.app import auth
from neocloud.app import power as power_cases
from neocloud.app.auth import Principal
from neocloud.app.ports import UnitOfWork
from neocloud.core.errors import InvalidInput
from neocloud.core.power import check_depth
from neocloud.core.timeutil import DAY

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Query(max_length=200)]
FormText = Annotated[str, Form(max_length=200)]
OPERATORS_ONLY = "Power is for operator keys."
SHOWN_DAYS = 90  # curtailments shown from now on


def _operator(who: Principal) -> None:
    if not who.is_operator:
        raise auth.Forbidden(OPERATORS_ONLY)


def _time(text: str, field: str) -> int:
    """A time in UTC as YYYY-MM-DD HH:MM (or the T form a browser's datetime-local input sends)."""
    try:
        parsed = datetime.strptime(text.strip().replace("T", " "), "%Y-%m-%d %H:%M")
    except ValueError:
        raise InvalidInput(f"{field} is YYYY-MM-DD HH:MM (UTC), got {text[:40]!r}", field=field) from None
    return int(parsed.replace(tzinfo=UTC).timestamp())


def _depth(text: str) -> Decimal:
    try:
        depth = Decimal(text.strip().removesuffix("%").strip()) / (100 if text.strip().endswith("%") else 1)
    except InvalidOperation:
        raise InvalidInput(f"depth is a share such as 0.25 or 25 %, got {text[:40]!r}", field="depth") from None
    return depth


def _page(request: Request, form: dict[str, str], error: str | None = None, status: int = 200) -> Response:
    def gather(uow: UnitOfWork, who: Principal, ctx: bootstrap.Context, now: int) -> dict[str, Any]:
        _operator(who)
        sites = [s for s in uow.fleet.list_sites() if s.power_mw is not None]
        cuts = uow.fleet.curtailments(None, now, now + SHOWN_DAYS * DAY)
        drill = None
        if form["site"] and form["start"] and error is None:  # asked for: the drill, as the apply will run it
            start, end = _time(form["start"], "start"), _time(form["end"], "end")
            drill = power_cases.curtailment_drill(
                uow, ctx.catalog, form["site"], _depth(form["depth"]), start, end, now
            )
        pues = {s.name: s.pue_at(now) for s in sites}
        found = {"sites": sites, "pues": pues, "curtailments": cuts, "drill": drill, "form": form, "error": error}
        return found | {"now_s": now}

    return signed_page(request, "power.html", gather, status)


@router.get("/power")
def power(request: Request, site: Text = "", depth: Text = "0.25", start: Text = "", end: Text = "") -> Response:
    """The sites' curtailments; with a site, a depth and a window, the drill."""
    form = {"site": site, "depth": depth, "start": start, "end": end, "description": ""}
    if site and start:
        try:  # what the form says is checked here, so that the page says it (the drill checks the rest)
            _time(start, "start"), _time(end, "end")
            check_depth(_depth(depth), "depth")
        except InvalidInput as refused:
            return _page(request, form, refused.message, 422)
    return _page(request, form)


@router.post("/power/lift")
def lift(
    request: Request,
    site: FormText,
    curtailment: Annotated[str, Form(max_length=100)],
    csrf: Annotated[str, Form(max_length=100)],
) -> Response:
    """Lift a curtailment now (withdraw it, if it has not begun): its incidents end now too, or go."""

    def lifted(uow: UnitOfWork, who: Principal, ctx: bootstrap.Context) -> object:
        _operator(who)
        return power_cases.lift_curtailment(uow, site, curtailment, None, ctx.now())

    form = {"site": "", "depth": "0.25", "start": "", "end": "", "description": ""}
    return act(request, csrf, lifted, lambda again, message, status: _page(again, form, message, status), "/power")


@router.post("/power/curtail")
def curtail(
    request: Request,
    site: FormText,
    depth: FormText,
    start: FormText,
    end: FormText,
    csrf: Annotated[str, Form(max_length=100)],
    description: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Apply the drilled curtailment: recorded for the live engine, incidents for reserved power cut."""
    form = {"site": site, "depth": depth, "start": start, "end": end, "description": description}

    def apply(uow: UnitOfWork, who: Principal, ctx: bootstrap.Context) -> object:
        _operator(who)
        begins, ends = _time(start, "start"), _time(end, "end")
        return power_cases.apply_curtailment(
            uow, ctx.catalog, site, _depth(depth), begins, ends, ctx.now(), ctx.new_id, description
        )

    return act(request, csrf, apply, lambda again, message, status: _page(again, form, message, status), "/power")
