"""An operator's own history as a trace: Slurm accounting (`sacct --json`, or `sacct -P` text), or a plain CSV
of jobs with a column mapping.

Each job that ran becomes a job to replay: it arrives at its submit time and runs as long as it ran (end -
start), on its GPUs; its time limit, when known, is the estimate the scheduler is told (what EASY backfill
and `sjf` use); the tenant is its account (or user, or partition). The clock starts at the first submission.
Jobs that never started (nothing allocated), have not ended (or whose record is a stand-in: no partition
yet), or had no GPUs are left out and counted (`TraceRead.left_out`); job steps (`123.batch`, `123.0` in
sacct's text) are not jobs. Job ids are the history's own. A row that cannot be read stops the read with
file:line, or is counted with `skip_bad_rows`.

`sacct -P` needs a header (no `-n`) and these fields; `SACCT_FORMAT` is the list to ask for:

    sacct -a -X -P --format=JobID,Submit,Start,End,AllocTRES,Account,User,Partition,Timelimit -S START -E END

Slurm's text times have no zone (the machine's local time): only their differences are used. GPUs come from
AllocTRES (`gres/gpu=N`, or the sum of typed `gres/gpu:TYPE=N`), nodes from its `node=N`; a job whose GPUs
split evenly over its nodes is a gang of one task per node, otherwise a gang of single GPUs. GPU types are not
kept: a replay may place a job on any model.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from neocloud.adapters.traces.csvrows import Row, read_rows
from neocloud.adapters.traces.jobs import TraceRead
from neocloud.core.bounds import MAX_TIME
from neocloud.core.errors import InvalidInput, InvalidSpec, quoted
from neocloud.core.workload import Job

SACCT_FORMAT = "JobID,Submit,Start,End,AllocTRES,Account,User,Partition,Timelimit"
SACCT_REQUIRED = ["JobID", "Submit", "Start", "End", "AllocTRES"]
TENANTS = ("account", "user", "partition")
# A jobs CSV's fields, each read from the column of the same name unless mapped to another.
CSV_FIELDS = ("id", "submit", "start", "end", "duration", "gpus", "nodes", "user", "account", "partition", "estimate")
NEVER_STARTED, NOT_ENDED, NO_GPUS = "never started", "not ended", "no GPUs"


@dataclass(frozen=True, slots=True)
class Ran:
    """One job of a history, as read: times in seconds on one clock (Unix, or local time as seconds)."""

    id: str
    submit: int
    start: int | None  # None: never started
    end: int | None  # None: not ended
    gpus: int
    nodes: int = 1
    owners: Mapping[str, str] | None = None  # account, user, partition: what it has of them
    limit: int | None = None  # seconds; None: unlimited or unknown

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"ends ({self.end}) before it starts ({self.start})")


def replay(ran: Iterable[Ran], skipped: list[tuple[int, str]], tenant: str) -> TraceRead:
    """Jobs to replay from what ran, the clock starting at the first submission."""
    runs = list(ran)
    left_out: Counter[str] = Counter()
    kept: list[Ran] = []
    for r in runs:
        why = NEVER_STARTED if r.start is None else NOT_ENDED if r.end is None else NO_GPUS if r.gpus <= 0 else None
        if why is None:
            kept.append(r)
        else:
            left_out[why] += 1
    origin = min((r.submit for r in kept), default=0)
    return TraceRead([_job(r, origin, tenant) for r in kept], skipped, dict(left_out))


def _job(r: Ran, origin: int, tenant: str) -> Job:
    assert r.start is not None
    assert r.end is not None
    even = r.nodes > 0 and r.gpus % r.nodes == 0
    return Job(
        r.id,
        r.submit - origin,
        max(1, r.end - r.start),
        gpus_per_task=r.gpus // r.nodes if even else 1,
        tasks=r.nodes if even else r.gpus,
        tenant=(r.owners or {}).get(tenant) or "default",
        estimate=None if r.limit is None else max(1, r.limit),
    )


def check_tenant(tenant: str) -> str:
    if tenant not in TENANTS:
        raise InvalidSpec(f"tenant is one of {', '.join(TENANTS)}, got {quoted(tenant)}")
    return tenant


# -- sacct --


def read_sacct(path: Path, *, tenant: str = "account", skip_bad_rows: bool = False) -> TraceRead:
    """`sacct --json` output, or `sacct -P` text with a header (told apart by the first character)."""
    check_tenant(tenant)
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise InvalidSpec(f"{path}: cannot read: {exc.strerror}", file=str(path)) from None
    if text.lstrip().startswith("{"):
        ran, skipped = _sacct_json(path, text, skip_bad_rows)
    else:
        rows, skipped = read_rows(path, SACCT_REQUIRED, _sacct_row, skip_bad_rows=skip_bad_rows, delimiter="|")
        ran = [r for r in rows if r is not None]
    return replay(ran, skipped, tenant)


def _sacct_row(row: Row, line: int) -> Ran | None:
    job_id = row["JobID"].strip()
    if "." in job_id:
        return None  # a step of a job, not a job
    if not job_id:
        raise ValueError("JobID is empty")
    tres = _tres(row["AllocTRES"])
    allocated = bool(row["AllocTRES"].strip())  # nothing allocated: it never started (cancelled while pending)
    whole = "Partition" not in row or bool(row["Partition"].strip())  # else a stand-in record, as if not ended
    return Ran(
        job_id,
        _when(row["Submit"], "Submit", required=True),  # type: ignore[arg-type]
        _when(row["Start"], "Start") if allocated else None,
        _when(row["End"], "End") if whole else None,
        tres.get("gpus", 0),
        tres.get("nodes", 1) or 1,
        {
            t: (row.get(c) or "").strip()
            for t, c in (("account", "Account"), ("user", "User"), ("partition", "Partition"))
        },
        _limit(row.get("Timelimit") or ""),
    )


def _tres(text: str) -> dict[str, int]:
    """AllocTRES (`billing=8,cpu=8,gres/gpu=2,mem=16G,node=1`): GPUs and nodes."""
    typed = untyped = nodes = 0
    for item in filter(None, (t.strip() for t in text.split(","))):
        name, _, value = item.partition("=")
        if name == "gres/gpu" or name.startswith("gres/gpu:") or name == "node":
            count = _count(value, f"AllocTRES {name}")
            if name == "node":
                nodes = count
            elif name == "gres/gpu":
                untyped = count
            else:
                typed += count
    return {"gpus": untyped or typed, "nodes": nodes}


def _count(value: str, what: str) -> int:
    if not value.isdigit() or len(value) > 9:
        raise ValueError(f"{what} {quoted(value)} is not a whole number")
    return int(value)


def _when(text: str, what: str, *, required: bool = False) -> int | None:
    """A time: Unix seconds, or ISO 8601 (Slurm's local time has no zone: read as if UTC, since only
    differences count). Empty, Unknown or None: not known."""
    value = text.strip()
    if value in ("", "Unknown", "None"):
        if required:
            raise ValueError(f"{what} is not known")
        return None
    if value.isdigit():
        seconds = int(value)
        if seconds > MAX_TIME:
            raise ValueError(f"{what} {quoted(value)} is after the year 9999")
        return seconds
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what} {quoted(value)} is neither Unix seconds nor an ISO 8601 time") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    seconds = math.floor(stamp.timestamp())
    if seconds < 0:
        raise ValueError(f"{what} {quoted(value)} is before 1970")
    return seconds


def _limit(text: str) -> int | None:
    """Slurm's time limit: minutes, or a clock (`[D-]HH:MM:SS`); UNLIMITED, Partition_Limit and the like: none."""
    value = text.strip()
    if not value or not value[0].isdigit():
        return None
    return min(MAX_TIME, int(value) * 60 if value.isdigit() and len(value) <= 12 else _clock(value, "Timelimit"))


def _duration(text: str, what: str) -> int:
    """Seconds, or a clock (`[D-]HH:MM:SS`, `MM:SS`)."""
    value = text.strip()
    seconds = int(value) if value.isdigit() and len(value) <= 15 else _clock(value, what)
    if seconds > MAX_TIME:
        raise ValueError(f"{what} {quoted(value)} is more than {MAX_TIME:,} s")
    return seconds


def _clock(value: str, what: str) -> int:
    """`[D-]HH:MM:SS` as Slurm writes times: after `D-`, HH, HH:MM or HH:MM:SS; without, MM:SS or HH:MM:SS."""
    days, _, clock = value.rpartition("-")
    parts = clock.split(":")
    if (days and not days.isdigit()) or len(parts) > 3 or not all(p.isdigit() and len(p) <= 9 for p in parts):
        raise ValueError(f"{what} {quoted(value)} is not seconds or [D-]HH:MM:SS")
    if not days and len(parts) == 1:
        raise ValueError(f"{what} {quoted(value)} is not seconds or [D-]HH:MM:SS")
    numbers = [int(p) for p in parts]
    h, m, sec = numbers + [0] * (3 - len(numbers)) if days else [0] * (3 - len(numbers)) + numbers
    return int(days or 0) * 86_400 + h * 3600 + m * 60 + sec


def _sacct_json(path: Path, text: str, skip_bad_rows: bool) -> tuple[list[Ran], list[tuple[int, str]]]:
    try:
        jobs = json.loads(text)["jobs"]
        if not isinstance(jobs, list):
            raise TypeError("jobs is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidSpec(f"{path}: not sacct --json output: {exc}", file=str(path)) from None
    ran: list[Ran] = []
    skipped: list[tuple[int, str]] = []
    for index, j in enumerate(jobs, start=1):
        try:
            ran.append(_sacct_job(j))
        except (ValueError, KeyError, TypeError, AttributeError, InvalidInput) as exc:
            why = f"job {index} of {len(jobs)}: {exc if isinstance(exc, ValueError) else f'malformed ({exc!r})'}"
            if not skip_bad_rows:
                raise InvalidSpec(f"{path}: {why}", file=str(path)) from None
            skipped.append((index, why))
    return ran, skipped


def _sacct_job(j: dict[str, Any]) -> Ran:
    times = j["time"]
    tres = {t["type"] if t["type"] != "gres" else f"gres/{t['name']}": t.get("count") for t in j["tres"]["allocated"]}
    gpus = _whole(tres.get("gres/gpu") or 0, "GPUs")
    nodes = _whole(tres.get("node") or 1, "nodes")
    owners = {t: str(j.get(t) or "") for t in TENANTS}
    submit = _whole(times["submission"], "submission time")
    start, end = (_whole(times[k] or 0, k) or None for k in ("start", "end"))
    if not j["tres"]["allocated"]:
        start = None  # nothing allocated: it never started (cancelled while pending)
    if not j.get("partition"):
        end = None  # a stand-in record (slurmdbd heard of the end first): not whole yet, as if not ended
    return Ran(str(j["job_id"]), submit, start, end, gpus, max(1, nodes), owners, _json_limit(times.get("limit")))


def _whole(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIME:
        raise ValueError(f"{what} {value!r} is not a whole number in range")
    return value


def _json_limit(limit: object) -> int | None:
    """Minutes: a number (22.05), or {set, infinite, number} (later versions)."""
    if isinstance(limit, dict):
        limit = limit.get("number") if limit.get("set") and not limit.get("infinite") else None
    if limit is None:
        return None
    minutes = _whole(limit, "time limit")
    return None if minutes in (0, 0xFFFFFFFF, 0xFFFFFFFE) else minutes * 60  # Slurm's INFINITE and NO_VAL


# -- a plain CSV of jobs --


def read_jobs_csv(
    path: Path, columns: Mapping[str, str], *, tenant: str = "account", skip_bad_rows: bool = False
) -> TraceRead:
    """A CSV of jobs: `columns` maps fields (CSV_FIELDS) to the file's column names; a field not mapped is read
    from the column of its own name when there is one. Needed: submit, gpus, and a duration or start and end.
    Times are Unix seconds or ISO 8601; a duration (or an estimate) is seconds or [D-]HH:MM:SS."""
    check_tenant(tenant)
    unknown = set(columns) - set(CSV_FIELDS)
    if unknown:
        raise InvalidSpec(f"unknown fields {sorted(unknown)}; known: {', '.join(CSV_FIELDS)}")
    named = {f: columns.get(f, f) for f in CSV_FIELDS}
    header = _header(path)
    timed = ["duration"] if named["duration"] in header else ["start", "end"]
    ids = iter(range(1, 1 << 62))

    def field(row: Row, name: str) -> str:
        return (row.get(named[name]) or "").strip()

    def parse(row: Row, line: int) -> Ran:
        submit = _when(field(row, "submit"), named["submit"], required=True)
        assert submit is not None
        start = _when(field(row, "start"), named["start"])
        if timed == ["duration"]:
            ran = field(row, "duration")
            start = start if start is not None else submit if ran else None
            end = None if start is None or not ran else start + _duration(ran, named["duration"])
        else:
            end = _when(field(row, "end"), named["end"])
        if start is not None and start < submit:
            raise ValueError(f"starts ({start}) before it is submitted ({submit})")
        gpus = _count(field(row, "gpus"), named["gpus"]) if field(row, "gpus") else 0
        nodes = _count(field(row, "nodes"), named["nodes"]) if field(row, "nodes") else 1
        limit = _duration(field(row, "estimate"), named["estimate"]) if field(row, "estimate") else None
        owners = {t: field(row, t) for t in TENANTS}
        return Ran(field(row, "id") or f"r{next(ids)}", submit, start, end, gpus, max(1, nodes), owners, limit)

    required = [named[f] for f in ("submit", "gpus", *timed)]
    rows, skipped = read_rows(path, required, parse, skip_bad_rows=skip_bad_rows)
    return replay(rows, skipped, tenant)


def _header(path: Path) -> list[str]:
    try:
        with path.open(newline="") as handle:
            return next(csv.reader(handle), [])
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise InvalidSpec(f"{path}: cannot read: {exc}", file=str(path)) from None
