"""The /v1 endpoints, one router per resource. Each opens one unit of work, calls a use case, and returns plain
JSON; who may do what is in api/deps.py, errors in api/errors.py."""

from __future__ import annotations

from fastapi import APIRouter

from neocloud.api import schemas
from neocloud.api.routes import analyses, billing, commercial, contracts, fleet, nodes, system, workloads

ERRORS = {status: {"model": schemas.ErrorOut} for status in (400, 401, 402, 403, 404, 409, 413, 422, 429, 503)}


def v1() -> APIRouter:
    router = APIRouter(prefix="/v1", responses=ERRORS)  # type: ignore[arg-type]
    for module in (system, fleet, nodes, contracts, commercial, workloads, billing, analyses):
        router.include_router(module.router)
    return router
