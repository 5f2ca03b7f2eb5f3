"""The FastAPI application: the door (api/door.py), error handlers (api/errors.py), the routers
(api/routes/), and the live engine in the background."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from neocloud import bootstrap
from neocloud.adapters.analysis_runs import Launcher
from neocloud.api import dashboard, docs, errors, metrics
from neocloud.api.door import Door
from neocloud.api.ratelimit import RateLimiter
from neocloud.api.routes import contracts, v1
from neocloud.app import accounting, auth, cluster_sync, sessions
from neocloud.app.signing import SigningDesk
from neocloud.core.errors import NeocloudError

log = logging.getLogger("neocloud.live")


def create_app(ctx: bootstrap.Context, tick: float | None = None, *, local: bool = False) -> FastAPI:
    """The API. With `tick` > 0 (default: the settings') the live engine reconciles every `tick` seconds.
    `local`: the API in the CLI's process (neocloud.client.local): every request is the operator's."""
    period = ctx.settings.tick if tick is None else tick

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_reconcile_forever(ctx, period)) if period > 0 else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="neocloud",
        version="1",
        description="Control plane for GPU data-center capacity: fleet, capacity ledger, contracts, workloads, "
        'usage, invoices. Errors are `{"error": {"code", "message", "details", "request_id"}}`.',
        lifespan=lifespan,
        docs_url=None,  # served by api/docs.py, from neocloud's own files
        redoc_url=None,
    )
    settings = ctx.settings
    keys = auth.KeyCache(wall=ctx.now)
    app.state.ctx = ctx
    app.state.keys = keys
    app.state.sessions = pages = sessions.SessionCache()
    app.state.analysts = Launcher(
        {"NEOCLOUD_DB_URL": ctx.url, "NEOCLOUD_TRACES": settings.traces}, enabled=settings.analysis_worker
    )
    app.state.signing = SigningDesk(
        ctx.uow, ctx.catalog, ctx.new_id, ctx.now, contracts.created, metrics.SIGNING_BATCH.observe
    )
    app.add_exception_handler(NeocloudError, errors.domain_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, errors.http_error)
    limiter = RateLimiter(settings.rate_limit / settings.workers, settings.rate_burst, settings.max_in_flight)
    trusted = auth.Principal("local", auth.OPERATOR, None) if local else None
    app.add_middleware(Door, ctx=ctx, keys=keys, limiter=limiter, trusted=trusted, pages=pages)
    app.include_router(v1())
    app.include_router(docs.router)
    app.include_router(dashboard.router)
    return app


def tune_collector() -> None:
    """A server process allocates fast and keeps little. With the collector's defaults (the young generation
    collected every 700 allocations) collections were most of the signing p99: 140 ms, against 62 ms with
    young collections every 50,000 allocations (medians of 4 side by side, benchmarks/api_bench.py). Freezing
    what the imports made keeps it out of the rare full collections, which took 40-70 ms here."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """The API's refusal, as JSON; a dashboard page's, as a page saying the same."""
    answer = await errors.invalid_request(request, exc)
    if dashboard.is_page(request.url.path):
        message = json.loads(bytes(answer.body))["error"]["message"]
        return dashboard.refused_page(request, answer.status_code, message)
    return answer


async def _reconcile_forever(ctx: bootstrap.Context, tick: float) -> None:
    """Each tick: the Slurm cluster's news in (failed nodes), the live engine's step (reservations' nodes,
    healing, work), and the result out to Slurm (reservations, drains). A part that fails is logged and tried
    again at the next tick, and does not stop the others; none holds up the API."""
    engine = ctx.live_engine()
    engine.on_heal = lambda healed: metrics.TIME_TO_HEAL.observe(healed.seconds)
    manager = ctx.workload_manager()
    metered_to = ctx.now() - accounting.LOOK_BACK  # usage is read from Slurm's accounting from here on

    def synced(*, meter: bool) -> None:
        nonlocal metered_to
        if manager is None:
            return
        try:
            cluster_sync.sync(ctx.uow, ctx.catalog, manager, ctx.now())
            metrics.SLURM_SYNCED.set(time.time())
            if meter:  # tenants' own jobs in their reservations, and (Slurm executor) neocloud's
                now = ctx.now()
                accounting.meter(ctx.uow, manager, metered_to, now)
                metered_to = now - accounting.OVERLAP
        except NeocloudError as exc:  # Slurm or the store is away
            log.warning("slurm sync: %s: %s", exc.code, exc.message)
        except Exception:
            log.exception("slurm sync failed")

    def step() -> None:
        synced(meter=False)
        with ctx.uow() as uow:
            engine.reconcile(uow, ctx.now())
        synced(meter=True)  # once a tick: accounting is read back over the last pass anyway

    while True:
        try:
            await asyncio.to_thread(step)
        except NeocloudError as exc:  # refused, or the store is away: the next step tries again
            log.warning("reconcile: %s: %s", exc.code, exc.message)
        except Exception:  # a fault of ours: logged, and the engine goes on
            log.exception("reconcile failed")
        await asyncio.sleep(tick)
