"""Analyses (operator): scenarios and policy comparisons, queued here and run by a worker process; their
progress, findings and reports."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from neocloud.adapters import analysis_runs
from neocloud.adapters.replay_power import ReplayPower
from neocloud.api import schemas
from neocloud.api.deps import Ctx, Operator, OperatorOnce
from neocloud.app import analyses
from neocloud.app.records import Analysis, AnalysisStatus
from neocloud.app.views import plain
from neocloud.core import bounds
from neocloud.core.errors import NotFound, quoted

router = APIRouter(tags=["analyses"])
AnalysisId = Annotated[str, Path(max_length=bounds.MAX_ID, pattern=bounds.ID)]
REPORT_HEADERS = {  # a report styles itself and draws inline SVG; it runs nothing and loads nothing
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
    "X-Content-Type-Options": "nosniff",
}


def analysis_view(a: Analysis, *, with_result: bool = False) -> dict[str, Any]:
    shown = {k: v for k, v in plain(a).items() if k not in ("result", "report", "key_id")}
    has_report = a.kind == "scenario" and a.status is AnalysisStatus.DONE  # a done scenario always has one
    return {**shown, "result": a.result if with_result else None, "has_report": has_report}


async def _queue(request: Request, once: Any, checked: analysis_runs.Checked) -> Response:
    ctx = request.app.state.ctx
    answer: Response = await once(
        lambda uow: analysis_view(
            analyses.queue(
                uow, checked.kind, checked.title, checked.request, checked.steps, ctx.now(), ctx.new_id, once.who.key_id
            )
        ),
        202,
    )
    if answer.status_code == 202:
        request.app.state.analysts.ensure()
    return answer


@router.post("/analyses/scenario", status_code=202, response_model=schemas.AnalysisOut)
async def run_scenario(body: schemas.ScenarioRunIn, request: Request, ctx: Ctx, once: OperatorOnce) -> Response:
    """Queue the default scenario, or an uploaded one over it (checked now: a bad one is refused, 422)."""
    traces = FilePath(ctx.settings.traces)
    return await _queue(request, once, analysis_runs.check_scenario(body.scenario, body.title, traces))


@router.post("/analyses/comparison", status_code=202, response_model=schemas.AnalysisOut)
async def run_comparison(body: schemas.ComparisonIn, request: Request, ctx: Ctx, once: OperatorOnce) -> Response:
    """Queue policies side by side on one trace and cluster (at most 12 simulations)."""
    checked = analysis_runs.check_comparison(
        body.trace,
        body.fleet,
        body.policies,
        body.placements,
        body.seed,
        body.title,
        FilePath(ctx.settings.traces),
        (body.tiresias_queues, body.tiresias_starvation),
        None if body.power is None else _power(body.power),
        ctx.catalog,
        (body.caps, body.work_kind),
    )
    return await _queue(request, once, checked)


def _power(body: schemas.ReplayPowerIn) -> ReplayPower:
    cuts = tuple((c.depth, c.start, c.seconds) for c in body.curtailments)
    return ReplayPower(cuts, body.ramp_mw_per_s, body.fall_mw_per_s, body.capping)


@router.get("/analyses", response_model=schemas.AnalysesOut)
def list_analyses(
    request: Request, ctx: Ctx, who: Operator, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> dict[str, Any]:
    """The latest analyses, newest first, without their findings."""
    with ctx.reader() as uow:
        runs, total = uow.analyses.latest(limit)
    if any(a.status is AnalysisStatus.QUEUED for a in runs):
        request.app.state.analysts.ensure()  # work left from before a restart
    return {"items": [analysis_view(a) for a in runs], "total": total}


@router.get("/analyses/{analysis_id}", response_model=schemas.AnalysisOut)
def show_analysis(analysis_id: AnalysisId, ctx: Ctx, who: Operator) -> dict[str, Any]:
    with ctx.reader() as uow:
        return analysis_view(analyses.get(uow, analysis_id), with_result=True)


@router.get(
    "/analyses/{analysis_id}/report",
    response_class=Response,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
def analysis_report(analysis_id: AnalysisId, ctx: Ctx, who: Operator) -> Response:
    """A scenario's self-contained HTML report, once done."""
    with ctx.reader() as uow:
        found = analyses.get(uow, analysis_id)
    if found.report is None:
        raise NotFound(f"analysis {quoted(analysis_id)} has no report (yet)", analysis=analysis_id)
    return HTMLResponse(found.report, headers=REPORT_HEADERS)
