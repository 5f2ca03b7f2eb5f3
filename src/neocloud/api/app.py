"""The FastAPI application: wiring, authentication, errors and idempotency. Routes live in routes.py.

Errors are `{"error": {"code", "message", "details"}}` with the status REST intends: 400 malformed request,
401 no or bad key, 403 operator-only, 404 unknown (or another tenant's) resource, 409 conflicts with the
current state (overbooking, duplicates, a closed period), 422 values that are well-formed but invalid.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from neocloud import bootstrap
from neocloud.adapters.store.uow import SqlUnitOfWork
from neocloud.app import auth
from neocloud.app.live import LiveEngine
from neocloud.app.ports import StoredResponse
from neocloud.app.signing import SigningDesk, replayed
from neocloud.app.views import plain
from neocloud.core.errors import Conflict, InvalidInput, NeocloudError, NotFound

STATUS: list[tuple[type[NeocloudError], int]] = [
    (auth.Unauthenticated, 401),
    (auth.Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 422),
]


def status_of(exc: NeocloudError) -> int:
    return next((code for kind, code in STATUS if isinstance(exc, kind)), 400)


def error_response(status: int, code: str, message: str, **details: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": plain(details)}}, status_code=status)


def create_app(ctx: bootstrap.Context, tick: float = 0.0) -> FastAPI:
    """The API. With `tick` > 0 the live engine reconciles every `tick` seconds in the background."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_reconcile_forever(ctx, tick)) if tick > 0 else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="neocloud",
        version="1",
        description="Control plane for GPU data-center capacity: fleet, capacity ledger, contracts, workloads, "
        "usage, invoices.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.keys = auth.KeyCache()
    app.state.signing = SigningDesk(ctx.uow, ctx.catalog, ctx.new_id, ctx.now)

    @app.exception_handler(NeocloudError)
    async def _domain_error(request: Request, exc: NeocloudError) -> JSONResponse:
        return error_response(status_of(exc), exc.code, exc.message, **exc.details)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"path": ".".join(str(p) for p in e["loc"]), "expected": e["msg"]} for e in exc.errors()]
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return error_response(400, "malformed_request", "the request body is not valid JSON", errors=errors)
        first = errors[0] if errors else {"path": "", "expected": "valid input"}
        return error_response(422, "invalid_request", f"{first['path']}: {first['expected']}", errors=errors)

    from neocloud.api.routes import router

    app.include_router(router)
    return app


async def _reconcile_forever(ctx: bootstrap.Context, tick: float) -> None:
    engine = LiveEngine(ctx.catalog)

    def step() -> None:
        with ctx.uow() as uow:
            engine.reconcile(uow, ctx.now())

    while True:
        try:
            await asyncio.to_thread(step)
        except NeocloudError as exc:  # a refused step changes nothing; the next one tries again
            logging.getLogger("neocloud.live").warning("reconcile refused: %s", exc.message)
        await asyncio.sleep(tick)


# Dependencies are async so that a request with a known key makes a single trip to the thread pool (its
# route's); only a key not seen lately is looked up there.
async def context(request: Request) -> bootstrap.Context:
    ctx: bootstrap.Context = request.app.state.ctx
    return ctx


async def principal(
    request: Request,
    ctx: bootstrap.Context = Depends(context),
    authorization: str | None = Header(None, description="Bearer <API key>"),
    x_api_key: str | None = Header(None),
) -> auth.Principal:
    secret = x_api_key
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise auth.Unauthenticated("Authorization must be 'Bearer <API key>'")
        secret = token.strip()
    keys: auth.KeyCache = request.app.state.keys
    return await keys.look_up(ctx.uow, secret)  # from the cache when it can, without I/O


async def operator(who: auth.Principal = Depends(principal)) -> auth.Principal:
    if not who.is_operator:
        raise auth.Forbidden("this needs an operator key")
    return who


async def fingerprint_of(request: Request) -> str:
    """What makes two requests the same request, for idempotency keys."""
    body = await request.body()
    return hashlib.sha256(request.method.encode() + request.url.path.encode() + b"\n" + body).hexdigest()


async def idempotent(
    request: Request,
    who: auth.Principal,
    ctx: bootstrap.Context,
    key: str | None,
    create: Callable[[SqlUnitOfWork], Any],
    status: int = 201,
) -> Response:
    """Run a creating POST once per Idempotency-Key: a repeat with the same request replays the first response;
    the same key with a different request is refused. The stored response commits with the effect itself.
    The transaction runs in the thread pool: it may wait for a pool's lock, and the event loop must not."""
    fingerprint = await fingerprint_of(request) if key is not None else ""

    def run() -> Response:
        with ctx.uow() as uow:
            if key is None:
                return JSONResponse(plain(create(uow)), status_code=status)
            seen = replayed(uow.stored_responses([(who.key_id, key)]).get((who.key_id, key)), key, fingerprint)
            if seen is not None:
                return Response(
                    seen.body,
                    status_code=seen.status,
                    media_type="application/json",
                    headers={"Idempotent-Replay": "true"},
                )
            text = json.dumps(plain(create(uow)))
            uow.store_responses([(who.key_id, key, StoredResponse(fingerprint, status, text))], ctx.now())
            return Response(text, status_code=status, media_type="application/json")

    return await run_in_threadpool(run)
