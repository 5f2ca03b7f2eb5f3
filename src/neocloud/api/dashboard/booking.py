"""The dashboard's booking page: a quote (the price the tenant signs at, GPUs free over the window, the
earliest start that fits) and, from the quote, signing at those terms through the API's signing desk. A
tenant books for itself; the operator names the tenant."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from neocloud import bootstrap
from neocloud.api import metrics
from neocloud.api.dashboard.common import ctx_of, poster, signed_page, whole
from neocloud.api.errors import status_of
from neocloud.app import services
from neocloud.app.auth import Principal
from neocloud.app.ports import UnitOfWork
from neocloud.app.signing import SigningDesk, SignRequest
from neocloud.core.contracts import ContractKind
from neocloud.core.errors import InvalidInput, NeocloudError
from neocloud.core.timeutil import DAY, seconds_of

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Query(max_length=200)]
FormText = Annotated[str, Form(max_length=200)]
KINDS = [k.value for k in ContractKind if k is not ContractKind.INTERNAL]  # what tenants sign
DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
MAX_DAYS = 3660


def _request(who: Principal, form: dict[str, str], now: int) -> services.ContractRequest:
    """The contract a booking form asks for, its fields checked as the API checks them."""
    tenant = form["tenant"] if who.is_operator else who.tenant_id or ""
    if not tenant:
        raise InvalidInput("choose the tenant the contract is for", field="tenant")
    if form["kind"] not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", field="kind")
    days = whole(form["days"], "days")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be 1 to {MAX_DAYS:,}", field="days")
    start = _start(form["start"], now)
    return services.ContractRequest(
        tenant=tenant,
        kind=ContractKind(form["kind"]),
        pool=form["pool"],
        start=start,
        end=start + days * DAY,
        gpus=whole(form["gpus"], "GPUs") if form["kind"] == ContractKind.RESERVED.value else 0,
    )


def _start(text: str, now: int) -> int:
    """Now (empty), or midnight UTC of a date from today on (today's: now)."""
    if not text.strip():
        return now
    try:
        day = date.fromisoformat(text.strip()) if DATE.fullmatch(text.strip()) else None
    except ValueError:
        raise InvalidInput(f"no such date {text.strip()!r}", field="start") from None
    if day is None:
        raise InvalidInput("start must be a date, YYYY-MM-DD (UTC)", field="start")
    start = seconds_of(day.year, day.month, day.day)
    if start < now - now % DAY:
        raise InvalidInput("start must be today or later", field="start")
    return max(start, now)


def _booking(request: Request, form: dict[str, str], error: str | None = None, status: int = 200) -> Response:
    def gather(uow: UnitOfWork, who: Principal, ctx: bootstrap.Context, now: int) -> dict[str, Any]:
        pools = uow.fleet.list_pools()
        shown: dict[str, Any] = {
            "form": form,
            "pools": pools,
            "kinds": KINDS,
            "tenants": uow.tenants.page() if who.is_operator else [],
            "error": error,
            "quote": None,
        }
        if form["pool"] and error is None:
            try:
                shown["quote"] = services.quote(uow, _request(who, form, now), ctx.catalog)
            except NeocloudError as refused:
                shown["error"] = refused.message
        return shown

    return signed_page(request, "book.html", gather, status)


def _form(pool: str, kind: str, gpus: str, days: str, start: str, tenant: str) -> dict[str, str]:
    return {"pool": pool, "kind": kind or "reserved", "gpus": gpus, "days": days, "start": start, "tenant": tenant}


@router.get("/book")
def book_page(
    request: Request,
    pool: Text = "",
    kind: Text = "reserved",
    gpus: Text = "8",
    days: Text = "30",
    start: Text = "",
    tenant: Text = "",
) -> Response:
    return _booking(request, _form(pool, kind, gpus, days, start, tenant))


@router.post("/book")
async def sign(
    request: Request,
    pool: FormText,
    csrf: FormText,
    kind: FormText = "reserved",
    gpus: FormText = "0",
    days: FormText = "30",
    start: FormText = "",
    tenant: FormText = "",
) -> Response:
    """Sign what the quote showed, at the terms the tenant signs at now (they are read again when signing)."""
    form = _form(pool, kind, gpus, days, start, tenant)
    who = poster(request, csrf)
    if isinstance(who, Response):
        return who
    ctx = ctx_of(request)
    desk: SigningDesk = request.app.state.signing
    try:
        contract = _request(who, form, ctx.now())
        if not who.is_operator:
            ctx.settings.policy.check_start(contract.start, ctx.now())
        signed_contract = await desk.sign(SignRequest(contract, who.key_id))
    except NeocloudError as refused:
        return _booking(request, form, refused.message, status_of(refused))
    metrics.CONTRACTS_SIGNED.inc()
    return RedirectResponse(f"/contracts/{json.loads(signed_contract.body)['id']}", 303)
