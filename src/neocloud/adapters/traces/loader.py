"""Job traces by spec string: FORMAT:PATH, or synthetic:N with options."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from neocloud.adapters.traces.history import CSV_FIELDS, check_tenant, read_jobs_csv, read_sacct
from neocloud.adapters.traces.jobs import (
    PAI_ESTIMATES,
    TraceRead,
    read_gavel,
    read_muri,
    read_pai,
    read_philly,
    synthetic,
)
from neocloud.adapters.traces.openb import read_pod_jobs
from neocloud.core.errors import InvalidSpec, quoted

FORMATS = ("muri", "tiresias", "philly", "gavel", "openb", "pai", "sacct", "csv", "synthetic")
OPTIONS = {  # the options a format takes after its path
    "pai": ("estimate", "per_minute"),
    "muri": ("overhead",),
    "tiresias": ("overhead",),
    "sacct": ("tenant",),
    "csv": ("tenant", *CSV_FIELDS),
}


def trace_path(where: str, traces: Path, confined: bool = False) -> Path:
    """A trace file named in a spec: relative to the `traces` folder, or absolute. `confined` (a server
    reading for its callers): only within that folder."""
    path = Path(where)
    if not confined:
        return path if path.is_absolute() else traces / path
    inside = (traces / path).resolve()
    if path.is_absolute() or not inside.is_relative_to(traces.resolve()):
        raise InvalidSpec(f"trace {quoted(where)} is outside the traces folder; name it relative to that folder")
    return inside


def load_trace(
    spec: str, *, skip_bad_rows: bool = False, since: datetime | None = None, until: datetime | None = None
) -> TraceRead:
    """`muri:PATH` (ms), `tiresias:PATH` (s), `philly:PATH` (Pollux's philly.csv), `gavel:PATH` (an MSR
    trace; throughputs from simulation_throughputs.json in the folder above `traces/`), `openb:PATH` (an
    openb pod list: GPU pods with milli-GPU, CPU and memory requests, from creation to deletion),
    `muri:PATH,overhead=muri` and `tiresias:PATH,overhead=muri` (the Muri simulator's run-time model: iteration
    time x 1.015, and a start overhead by model and GPUs),
    `pai:PATH[,estimate=user_dur|group_dur|group_gpu_dur][,per_minute=N]`,
    `sacct:PATH[,tenant=account|user|partition]` (`sacct --json`, or `sacct -P` text: traces/history.py),
    `csv:PATH[,FIELD=COLUMN...][,tenant=...]` (a CSV of jobs, columns mapped to submit, start, end or
    duration, gpus, ...) (the Alibaba PAI 2020 simulator's
    input: arrivals N a minute in submit order, 1,000 by default as it does; 0 for the real submit times), or
    `synthetic:N[,seed=S][,gpus=G][,load=L][,duration=SECONDS]`. `since`/`until` keep the jobs submitted
    between two dates: Philly's is the only format with dates."""
    kind, _, rest = spec.partition(":")
    if (since or until) and kind != "philly":
        raise InvalidSpec(f"since/until select dates in a philly trace; a {kind} trace has none ({quoted(spec)})")
    if kind in ("muri", "tiresias"):
        where, _, settings = rest.partition(",")
        overhead = trace_options(kind, settings, spec)["overhead"]
        return read_muri(Path(where), millis=kind == "muri", overhead=overhead, skip_bad_rows=skip_bad_rows)
    if kind == "philly":
        return read_philly(Path(rest), since=since, until=until, skip_bad_rows=skip_bad_rows)
    if kind == "openb":
        return read_pod_jobs(Path(rest), skip_bad_rows=skip_bad_rows)
    if kind == "gavel":
        trace = Path(rest)
        table = next(
            (p / "simulation_throughputs.json" for p in trace.parents if (p / "simulation_throughputs.json").is_file()),
            trace.parent / "simulation_throughputs.json",
        )
        return read_gavel(trace, table, skip_bad_rows=skip_bad_rows)
    if kind == "pai":
        where, _, settings = rest.partition(",")
        return read_pai(Path(where), **trace_options(kind, settings, spec), skip_bad_rows=skip_bad_rows)
    if kind in ("sacct", "csv"):
        where, _, settings = rest.partition(",")
        columns = trace_options(kind, settings, spec)
        tenant = columns.pop("tenant")
        if kind == "sacct":
            return read_sacct(Path(where), tenant=tenant, skip_bad_rows=skip_bad_rows)
        return read_jobs_csv(Path(where), columns, tenant=tenant, skip_bad_rows=skip_bad_rows)
    if kind == "synthetic":
        count, *options = rest.split(",")
        try:
            opts = {k.strip(): float(v) for k, v in (o.split("=", 1) for o in options)}
            unknown = set(opts) - {"seed", "gpus", "load", "duration"}
            if unknown:
                raise ValueError(f"unknown options {sorted(unknown)}")
            return TraceRead(
                synthetic(
                    int(count),
                    seed=int(opts.get("seed", 0)),
                    gpus=int(opts.get("gpus", 1000)),
                    load=opts.get("load", 0.9),
                    mean_duration=int(opts.get("duration", 3600)),
                )
            )
        except ValueError as exc:
            raise InvalidSpec(f"bad synthetic trace {quoted(spec)}: {exc}") from None
    raise InvalidSpec(f"unknown trace format {quoted(kind)} in {quoted(spec)}; use one of {', '.join(FORMATS)}:PATH")


def trace_options(kind: str, options: str, spec: str) -> dict[str, Any]:
    """A trace's options after its path (`NAME=VALUE,...`), checked, as its reader's keyword arguments:
    pai `estimate=COLUMN,per_minute=N`; muri and tiresias `overhead=muri|none`; sacct `tenant=account|user|
    partition`; csv the same and FIELD=COLUMN for its fields (history.CSV_FIELDS)."""
    known = OPTIONS.get(kind, ())
    try:
        settings = dict(o.split("=", 1) for o in options.split(",") if o)
    except ValueError:
        raise InvalidSpec(f"bad {kind} trace {quoted(spec)}: options are NAME=VALUE, separated by commas") from None
    unknown = set(settings) - set(known)
    if unknown:
        raise InvalidSpec(f"bad {kind} trace {quoted(spec)}: unknown options {sorted(unknown)}; known: "
                          f"{', '.join(known) or 'none'}")  # fmt: skip
    if kind in ("sacct", "csv"):
        try:
            return {**settings, "tenant": check_tenant(settings.get("tenant", "account"))}
        except InvalidSpec as exc:
            raise InvalidSpec(f"bad {kind} trace {quoted(spec)}: {exc}") from None
    if kind != "pai":
        overhead = settings.get("overhead", "none")
        if overhead not in ("muri", "none"):
            raise InvalidSpec(f"bad {kind} trace {quoted(spec)}: overhead is muri or none")
        return {"overhead": overhead == "muri"}
    estimate = settings.get("estimate")
    if estimate is not None and estimate not in PAI_ESTIMATES:
        raise InvalidSpec(f"bad pai trace {quoted(spec)}: estimate is one of {', '.join(PAI_ESTIMATES)}")
    per_minute = settings.get("per_minute", "1000")
    if not per_minute.isdigit() or len(per_minute) > 9:
        raise InvalidSpec(f"bad pai trace {quoted(spec)}: per_minute is 0 (the real submit times) or positive")
    return {"estimate": estimate, "per_minute": int(per_minute)}
