"""What the store keeps beyond the core's own objects: invoices as issued, incidents, API keys, replayable
responses and workloads with their progress."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from neocloud.core.billing.rating import Line
from neocloud.core.workload import Job, WorkloadStatus


@dataclass(frozen=True, slots=True)
class StoredInvoice:
    id: str
    tenant_id: str
    period: str  # YYYY-MM
    issued_at: int
    lines: tuple[Line, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), start=Decimal("0.00"))


@dataclass(frozen=True, slots=True)
class CurtailmentEvent:
    """A site's power budget cut by `depth` (a share) over [start, end), as applied: the live engine keeps its
    work within what is left, and reserved power cut below contract was recorded as incidents."""

    id: str
    site: str
    depth: Decimal
    start: int
    end: int
    recorded_at: int
    description: str = ""
    incidents: tuple[str, ...] = ()  # recorded for reserved power it cut below contract


@dataclass(frozen=True, slots=True)
class Incident:
    """GPUs out of service by failure, as recorded (an Outage for rating, with its id and description)."""

    id: str
    pool: str
    start: int
    end: int
    gpus: int | None
    contract_id: str | None
    description: str = ""


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    digest: str
    role: str  # operator | tenant
    tenant_id: str | None
    created_at: int
    revoked_at: int | None = None
    expires_at: int | None = None
    last_used_at: int | None = None


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The answer to an idempotent request, replayed to a retry that carries the same key."""

    fingerprint: str
    status: int
    body: str


@dataclass(frozen=True, slots=True)
class Command:
    """What a workload runs on a real executor: a shell line, its environment, its working directory and the
    file its output goes to (empty: the executor's defaults)."""

    run: str
    env: tuple[tuple[str, str], ...] = ()
    workdir: str = ""
    output: str = ""


@dataclass(frozen=True, slots=True)
class StoredWorkload:
    """A submitted job, its contract, and its progress (see core.engine.state.JobState)."""

    job: Job
    contract_id: str
    status: WorkloadStatus
    remaining: int
    attained: int = 0
    started: int | None = None
    first_start: int | None = None
    finished: int | None = None
    preemptions: int = 0
    allocation: tuple[tuple[str, int], ...] | None = None  # (node name, GPUs)
    command: Command | None = None  # None: the executor's stand-in (the timed one waits; Slurm sleeps)
    # A running workload capped below its contract's power for a site's budget: its GPUs' cap, its pace (wall
    # seconds per second of work) and since when (`remaining` is then as of that instant).
    cap_w: int | None = None
    pace: float = 1.0
    paced_at: int | None = None
    stops_at: int | None = None  # told, with its contract's notice, that it is capped or stopped then (power)
    # Interleaving (Muri): the workloads running on its GPUs with it, itself included, while it runs in a group
    # (its `pace` is then its pace in the group); () when it runs alone or waits.
    group: tuple[str, ...] = ()


class AnalysisStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Analysis:
    """An analyst's run kept for browsing: a scenario (rent it out or keep it) or a comparison of scheduling
    policies on a trace; what it was asked, how far it is, and what it found."""

    id: str
    kind: str  # scenario | comparison
    title: str
    request: dict[str, Any]  # what was asked: the scenario's YAML; the trace, fleet and policies
    created: int
    key_id: str  # who asked
    status: AnalysisStatus = AnalysisStatus.QUEUED
    step: str = ""  # what it is doing now
    done: int = 0  # steps done of `steps`
    steps: int = 0
    started: int | None = None
    heartbeat: int | None = None  # last sign of life of the run
    finished: int | None = None
    result: dict[str, Any] | None = None  # the findings, as JSON
    report: str | None = None  # a self-contained HTML report, where the kind has one
    error: str | None = None
