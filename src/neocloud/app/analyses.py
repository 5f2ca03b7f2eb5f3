"""Analysts' runs as a queue in the store: asked for by the API or the CLI, run by a worker process (see
adapters/analysis_runs.py) that claims one at a time and reports its progress, so that a run outlives the
request that asked for it and any page can show how far it is."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from neocloud.app.ports import UnitOfWork
from neocloud.app.records import Analysis, AnalysisStatus
from neocloud.app.services import NewId
from neocloud.core.bounds import check_text
from neocloud.core.errors import NotFound, quoted

KINDS = ("scenario", "comparison")
STALE_S = 600  # a running analysis whose worker said nothing for this long is taken up again
MAX_ERROR = 2_000  # characters of a failure kept


def queue(
    uow: UnitOfWork, kind: str, title: str, request: dict[str, Any], steps: int, now: int, new_id: NewId, key_id: str
) -> Analysis:
    """A checked request, queued for a worker."""
    assert kind in KINDS, kind
    check_text(title, "title")
    analysis = Analysis(new_id("an"), kind, title, request, now, key_id, steps=steps)
    uow.analyses.add(analysis)
    return analysis


def get(uow: UnitOfWork, analysis_id: str) -> Analysis:
    found = uow.analyses.get(analysis_id)
    if found is None:
        raise NotFound(f"unknown analysis {quoted(analysis_id)}", analysis=analysis_id)
    return found


def claim(uow: UnitOfWork, now: int) -> Analysis | None:
    """The next run for this worker, now marked running; None when nothing waits."""
    return uow.analyses.claim(now, now - STALE_S)


def progress(uow: UnitOfWork, analysis_id: str, step: str, done: int, now: int) -> None:
    found = get(uow, analysis_id)
    uow.analyses.save(replace(found, step=step[:200], done=done, heartbeat=now))


def finish(uow: UnitOfWork, analysis_id: str, result: dict[str, Any], report: str | None, now: int) -> Analysis:
    found = get(uow, analysis_id)
    done = replace(
        found, status=AnalysisStatus.DONE, step="done", done=found.steps, finished=now, result=result, report=report
    )
    uow.analyses.save(done)
    return done


def fail(uow: UnitOfWork, analysis_id: str, error: str, now: int) -> Analysis:
    found = get(uow, analysis_id)
    failed = replace(found, status=AnalysisStatus.FAILED, step="failed", finished=now, error=error[:MAX_ERROR])
    uow.analyses.save(failed)
    return failed
