"""The dashboard's analyst pages (operator keys): past analyses with their progress, forms to run the default
scenario, an uploaded one, or a comparison of scheduling policies, and each analysis's findings with charts
(a scenario's full report too). The work runs in a worker process (adapters/analysis_runs.py); pages that
show work in progress refresh themselves."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from neocloud import bootstrap
from neocloud.adapters import analysis_runs
from neocloud.adapters.replay_power import ReplayPower, parse_curtailment, parse_rate
from neocloud.api import charts
from neocloud.api.dashboard.common import ctx_of, page, poster, signed_in, signed_page, to_sign_in
from neocloud.api.errors import status_of
from neocloud.api.routes.analyses import REPORT_HEADERS
from neocloud.app import analyses, auth, sessions
from neocloud.app.auth import Principal
from neocloud.app.ports import UnitOfWork
from neocloud.app.records import AnalysisStatus
from neocloud.core import bounds
from neocloud.core.engine.ordering import ORDERINGS
from neocloud.core.engine.placement import PLACEMENTS
from neocloud.core.engine.tiresias import thresholds
from neocloud.core.errors import InvalidInput, NeocloudError
from neocloud.core.power import parse_caps

router = APIRouter(include_in_schema=False)
AnalysisId = Annotated[str, Path(max_length=bounds.MAX_ID, pattern=bounds.ID)]
LISTED = 50
OPERATORS_ONLY = "Analyses are for operator keys."
DEFAULT_TRACE = "synthetic:2000,seed=1,gpus=64,load=0.9"
COMPARED = (  # what a comparison's charts show, per policy: (result key, label, scale, unit)
    ("avg_jct", "Average JCT", 3600, "h"),
    ("p99_jct", "p99 JCT", 3600, "h"),
    ("avg_queueing", "Average wait", 3600, "h"),
    ("utilization", "GPU utilization", 0.01, "%"),  # a fraction, shown in per cent
)


def _operator(who: Principal) -> None:
    if not who.is_operator:
        raise auth.Forbidden(OPERATORS_ONLY)


def _list(
    request: Request, error: str | None = None, status: int = 200, form: dict[str, Any] | None = None
) -> Response:
    def gather(uow: UnitOfWork, who: Principal, ctx: bootstrap.Context, now: int) -> dict[str, Any]:
        _operator(who)
        runs, total = uow.analyses.latest(LISTED)
        busy = any(a.status in (AnalysisStatus.QUEUED, AnalysisStatus.RUNNING) for a in runs)
        if any(a.status is AnalysisStatus.QUEUED for a in runs):
            request.app.state.analysts.ensure()
        shown = form or {"trace": DEFAULT_TRACE, "fleet": "uniform:8x8", "policies": ["fifo", "sjf", "srtf"]}
        return {
            "runs": runs,
            "total": total,
            "refresh": busy,
            "error": error,
            "form": {
                "placements": ["bestfit"],
                "seed": "0",
                "tiresias_queues": "3250,7200",
                "tiresias_starvation": "0",
                **{"power": False, "stop_only": False, "curtail": "", "ramp": "", "fall": ""},
                **{"caps": "", "work_kind": "training"},
                **shown,
            },
            "orderings": list(ORDERINGS),
            "placements": list(PLACEMENTS),
        }

    return signed_page(request, "analyses.html", gather, status)


@router.get("/analyses")
def analyses_page(request: Request) -> Response:
    return _list(request)


async def _queue(request: Request, csrf: str, check: Any, form: dict[str, Any] | None = None) -> Response:
    """Check a request (off the event loop: it may read a trace), queue it, start a worker, show it."""
    who = poster(request, csrf)
    if isinstance(who, Response):
        return who
    ctx = ctx_of(request)
    try:
        _operator(who)
        checked: analysis_runs.Checked = await run_in_threadpool(check, FilePath(ctx.settings.traces))
        with ctx.uow() as uow:
            queued = analyses.queue(
                uow, checked.kind, checked.title, checked.request, checked.steps, ctx.now(), ctx.new_id, who.key_id
            )
    except NeocloudError as refused:
        return _list(request, refused.message, status_of(refused), form)
    request.app.state.analysts.ensure()
    return RedirectResponse(f"/analyses/{queued.id}", 303)


@router.post("/analyses/scenario")
async def run_scenario(
    request: Request,
    csrf: Annotated[str, Form(max_length=100)],
    title: Annotated[str, Form(max_length=200)] = "",
    scenario: UploadFile | None = None,
) -> Response:
    """The default scenario, or the uploaded YAML over it."""
    text = None
    if scenario is not None and scenario.filename:
        raw = await scenario.read(analysis_runs.MAX_SCENARIO + 1)
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            text = "\ufffd"  # refused below with the others: a scenario is UTF-8 text
        if len(raw) > analysis_runs.MAX_SCENARIO or text == "\ufffd":
            problem = "is not UTF-8 text" if text == "\ufffd" else f"is over {analysis_runs.MAX_SCENARIO // 1024} KiB"
            return _list(request, f"the uploaded scenario {problem}", 422)
    return await _queue(request, csrf, lambda traces: analysis_runs.check_scenario(text, title, traces))


@router.post("/analyses/comparison")
async def run_comparison(
    request: Request,
    csrf: Annotated[str, Form(max_length=100)],
    trace: Annotated[str, Form(max_length=300)],
    fleet: Annotated[str, Form(max_length=100)] = "uniform:8x8",
    policies: Annotated[list[str] | None, Form(max_length=20)] = None,
    placements: Annotated[list[str] | None, Form(max_length=20)] = None,
    seed: Annotated[str, Form(max_length=12)] = "0",
    title: Annotated[str, Form(max_length=200)] = "",
    tiresias_queues: Annotated[str, Form(max_length=100)] = "3250,7200",
    tiresias_starvation: Annotated[str, Form(max_length=20)] = "0",
    power: Annotated[bool, Form()] = False,
    curtail: Annotated[str, Form(max_length=600)] = "",
    ramp: Annotated[str, Form(max_length=20)] = "",
    fall: Annotated[str, Form(max_length=20)] = "",
    stop_only: Annotated[bool, Form()] = False,
    caps: Annotated[str, Form(max_length=600)] = "",
    work_kind: Annotated[str, Form(max_length=20)] = "training",
) -> Response:
    form: dict[str, Any] = {"trace": trace, "fleet": fleet, "policies": policies or [], "placements": placements or []}
    form |= {"seed": seed, "tiresias_queues": tiresias_queues, "tiresias_starvation": tiresias_starvation}
    form |= {"power": power, "curtail": curtail, "ramp": ramp, "fall": fall, "stop_only": stop_only}
    form |= {"caps": caps, "work_kind": work_kind}
    catalog = ctx_of(request).catalog

    def kept() -> ReplayPower | None:
        """The site power asked for: any of its fields names it."""
        if not (power or curtail.strip() or ramp.strip() or fall.strip()):
            return None
        cuts = tuple(parse_curtailment(part.strip()) for part in curtail.split(",") if part.strip())
        rise, down = (parse_rate(text.strip() or None, name) for text, name in ((ramp, "ramp"), (fall, "fall")))
        return ReplayPower(cuts, rise, down, not stop_only)

    def check(traces: FilePath) -> analysis_runs.Checked:
        if not (seed.isascii() and seed.isdigit()) or int(seed) >= 2**31:
            raise InvalidInput("seed must be a whole number below 2^31", field="seed")
        try:
            starvation = float(tiresias_starvation)
        except ValueError:
            raise InvalidInput("Tiresias promotion is a number, 0 for never", field="tiresias_starvation") from None
        return analysis_runs.check_comparison(
            trace.strip(),
            fleet.strip(),
            policies or [],
            placements or [],
            int(seed),
            title,
            traces,
            (list(thresholds(tiresias_queues)), starvation),
            kept(),
            catalog,
            (parse_caps([part.strip() for part in caps.split(",") if part.strip()]), work_kind),
        )

    return await _queue(request, csrf, check, form)


@router.get("/analyses/{analysis_id}")
def analysis_page(request: Request, analysis_id: AnalysisId) -> Response:
    def gather(uow: UnitOfWork, who: Principal, ctx: bootstrap.Context, now: int) -> dict[str, Any]:
        _operator(who)
        found = analyses.get(uow, analysis_id)
        if found.status is AnalysisStatus.QUEUED:
            request.app.state.analysts.ensure()
        shown: dict[str, Any] = {"a": found, "refresh": found.status in (AnalysisStatus.QUEUED, AnalysisStatus.RUNNING)}
        if found.result is not None and found.kind == "comparison":
            shown["charts"] = [_policy_chart(found.result["results"], *spec) for spec in COMPARED]
        if found.result is not None and found.kind == "scenario":
            strategies = found.result["strategies"]
            shown["chart"] = charts.bar_chart(
                [(s["name"], Decimal(s["totals"]["value"]) / 10**9) for s in strategies],
                "Value of each strategy over the horizon, US$ billions",
                highlight=found.result["decision"]["best"],
            )
        return shown

    return signed_page(request, "analysis.html", gather)


def _policy_chart(results: list[dict[str, Any]], key: str, label: str, scale: float, unit: str) -> Any:
    bars = [(f"{r['ordering']}/{r['placement']}", Decimal(str(r[key])) / Decimal(str(scale))) for r in results]
    return label + (f", {unit}" if unit else ""), charts.bar_chart(bars, f"{label}, {unit}", width=480, height=260)


@router.get("/analyses/{analysis_id}/report")
def report_page(request: Request, analysis_id: AnalysisId) -> Response:
    """A scenario's full report, as the CLI writes it: it styles itself and draws inline SVG, nothing more."""
    signed = signed_in(request)
    if signed is None:
        return to_sign_in()
    shown = {"who": signed[0], "csrf": sessions.csrf_token(signed[1])}
    try:
        _operator(signed[0])
        with ctx_of(request).reader() as uow:
            report = analyses.get(uow, analysis_id).report
    except NeocloudError as refused:
        return page(request, "error.html", status_of(refused), **shown, message=refused.message)
    if report is None:
        return page(request, "error.html", 404, **shown, message="This analysis has no report (yet).")
    return HTMLResponse(report, headers={**REPORT_HEADERS, "Cache-Control": "no-store"})
