"""What the routes share: the context, the caller (the door has authenticated it), operator-only routes, the
one rule of what a tenant may see, paging parameters, and creating POSTs made safe to retry."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from neocloud import bootstrap
from neocloud.app import auth
from neocloud.app.pages import MAX_CURSOR, MAX_LIMIT, Page
from neocloud.app.ports import UnitOfWork
from neocloud.app.records import StoredResponse
from neocloud.app.services import get_tenant
from neocloud.app.signing import replayed
from neocloud.app.views import plain
from neocloud.core import bounds
from neocloud.core.bounds import MAX_KEY, NAME
from neocloud.core.errors import NeocloudError


async def context(request: Request) -> bootstrap.Context:
    ctx: bootstrap.Context = request.app.state.ctx
    return ctx


async def principal(
    request: Request,
    authorization: str | None = Header(None, description="Bearer <API key>"),
    x_api_key: str | None = Header(None, description="<API key>, instead of Authorization"),
) -> auth.Principal:
    """The caller, as the door authenticated it from these headers before the body was read."""
    who: auth.Principal | None = request.scope.get("state", {}).get("principal")
    if who is None:
        raise auth.Unauthenticated(auth.MISSING)
    return who


async def operator(who: auth.Principal = Depends(principal)) -> auth.Principal:
    if not who.is_operator:
        raise auth.Forbidden("this needs an operator key")
    return who


Ctx = Annotated[bootstrap.Context, Depends(context)]
Who = Annotated[auth.Principal, Depends(principal)]
Operator = Annotated[auth.Principal, Depends(operator)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=MAX_KEY,
        pattern=r"^[\x21-\x7e]+$",
        description="Retry-safe key for creating requests (printable ASCII, at most 200 characters)",
    ),
]
PoolQuery = Annotated[str, Query(min_length=1, max_length=200, pattern=bounds.ID, examples=["colossus-1/h100-sxm"])]
TimeQuery = Annotated[int, Query(ge=bounds.MIN_TIME, le=bounds.MAX_TIME, description="Unix seconds")]
TenantParam = Annotated[
    str | None, Query(max_length=64, pattern=NAME, description="Tenant id or name; a tenant key: its own only.")
]
Cursor = Annotated[str | None, Query(max_length=MAX_CURSOR, description="next_cursor of the page before.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (at most {MAX_LIMIT}).")]


# One rule of visibility: operators see everything; a tenant key sees its own tenant's contracts, workloads,
# usage, invoices, keys and limits, and asking for another tenant's is refused (403); one of another
# tenant's things asked for by id answers 404, as if it did not exist.


def sees(who: auth.Principal, tenant_id: str) -> bool:
    return who.is_operator or tenant_id == who.tenant_id


def owned(who: auth.Principal, tenant_id: str, missing: NeocloudError) -> None:
    if not sees(who, tenant_id):
        raise missing


def tenant_scope(uow: UnitOfWork, who: auth.Principal, tenant: str | None) -> str | None:
    """The tenant a request is about: an operator's choice (None: every tenant); a tenant key's own, and
    naming another is refused, not re-targeted."""
    if who.is_operator:
        return get_tenant(uow, tenant).id if tenant else None
    if tenant is not None and tenant != who.tenant_id:
        found = uow.tenants.get(tenant)
        if found is None or found.id != who.tenant_id:
            raise auth.Forbidden("a tenant key acts for its own tenant only", tenant=tenant)
    return who.tenant_id


def paged(page: Page[Any], view: Callable[[Any], Any] = plain) -> dict[str, Any]:
    return {"items": [view(item) for item in page.items], "next_cursor": page.next_cursor}


# Idempotency: every creating POST takes an Idempotency-Key; contract signing handles its own in its batches
# (app/signing.py), with the same rule (`replayed`).


async def fingerprint_of(request: Request) -> str:
    """What makes two requests the same request, for idempotency keys."""
    body = await request.body()
    return hashlib.sha256(request.method.encode() + request.url.path.encode() + b"\n" + body).hexdigest()


@dataclass(frozen=True, slots=True)
class Creating:
    """A creating POST, run once per Idempotency-Key (`await once(create)`): a repeat with the same request
    replays the first response; the same key with a different request is refused. The stored response
    commits with the effect itself. The transaction runs in the thread pool: it may wait for a pool's lock,
    and the event loop must not."""

    request: Request
    who: auth.Principal
    ctx: bootstrap.Context
    key: str | None

    async def __call__(self, create: Callable[[UnitOfWork], Any], status: int = 201) -> Response:
        fingerprint = await fingerprint_of(self.request) if self.key is not None else ""
        return await run_in_threadpool(self._run, create, status, fingerprint)

    def _run(self, create: Callable[[UnitOfWork], Any], status: int, fingerprint: str) -> Response:
        who, key = self.who, self.key
        with self.ctx.uow() as uow:
            if key is None:
                return JSONResponse(plain(create(uow)), status_code=status)
            seen = replayed(uow.keys.stored_responses([(who.key_id, key)]).get((who.key_id, key)), key, fingerprint)
            if seen is not None:
                return Response(
                    seen.body, status_code=seen.status, media_type="application/json", headers=REPLAY_HEADERS
                )
            text = json.dumps(plain(create(uow)))
            uow.keys.store_responses([(who.key_id, key, StoredResponse(fingerprint, status, text))], self.ctx.now())
            return Response(text, status_code=status, media_type="application/json")


REPLAY_HEADERS = {"Idempotent-Replay": "true"}


async def creating(request: Request, ctx: Ctx, who: Who, idempotency_key: IdempotencyKey = None) -> Creating:
    return Creating(request, who, ctx, idempotency_key)


async def operator_creating(
    request: Request, ctx: Ctx, who: Operator, idempotency_key: IdempotencyKey = None
) -> Creating:
    return Creating(request, who, ctx, idempotency_key)


Once = Annotated[Creating, Depends(creating)]  # a creating POST by any key
OperatorOnce = Annotated[Creating, Depends(operator_creating)]  # a creating POST by an operator
