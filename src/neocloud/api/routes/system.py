"""Liveness, readiness and metrics: no key needed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from neocloud.api import metrics, schemas
from neocloud.api.deps import Ctx

router = APIRouter(tags=["system"])


@router.get("/health", response_model=schemas.Health)
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready", response_model=schemas.Health, responses={503: {"model": schemas.ErrorOut}})
def ready(ctx: Ctx) -> dict[str, str]:
    """Readiness: the store answers (503 `store_unavailable` while it does not)."""
    with ctx.uow() as uow:
        uow.ping()
    return {"status": "ready"}


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics_text(ctx: Ctx) -> Response:
    """Prometheus metrics of every worker, and the store's capacity and workloads now."""
    return Response(await run_in_threadpool(metrics.exposition, ctx), media_type=CONTENT_TYPE_LATEST)
