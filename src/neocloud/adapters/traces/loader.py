"""Job traces by spec string: FORMAT:PATH, or synthetic:N with options."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

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

FORMATS = ("muri", "tiresias", "philly", "gavel", "openb", "pai", "synthetic")


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
    `pai:PATH[,estimate=user_dur|group_dur|group_gpu_dur][,per_minute=N]` (the Alibaba PAI 2020 simulator's
    input: arrivals N a minute in submit order, 1,000 by default as it does; 0 for the real submit times), or
    `synthetic:N[,seed=S][,gpus=G][,load=L][,duration=SECONDS]`. `since`/`until` keep the jobs submitted
    between two dates: Philly's is the only format with dates."""
    kind, _, rest = spec.partition(":")
    if (since or until) and kind != "philly":
        raise InvalidSpec(f"since/until select dates in a philly trace; a {kind} trace has none ({quoted(spec)})")
    if kind == "muri":
        return read_muri(Path(rest), skip_bad_rows=skip_bad_rows)
    if kind == "tiresias":
        return read_muri(Path(rest), millis=False, skip_bad_rows=skip_bad_rows)
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
        estimate, per_minute = pai_options(settings, spec)
        return read_pai(Path(where), estimate=estimate, per_minute=per_minute, skip_bad_rows=skip_bad_rows)
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


def pai_options(options: str, spec: str) -> tuple[str | None, int]:
    """A pai trace's options after its path (`estimate=COLUMN,per_minute=N`): (estimate, per_minute)."""
    try:
        settings = dict(o.split("=", 1) for o in options.split(",") if o)
        unknown = set(settings) - {"estimate", "per_minute"}
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}; known: estimate, per_minute")
        per_minute = int(settings.get("per_minute", "1000"))
    except ValueError as exc:
        raise InvalidSpec(f"bad pai trace {quoted(spec)}: {exc}") from None
    estimate = settings.get("estimate")
    if estimate is not None and estimate not in PAI_ESTIMATES:
        raise InvalidSpec(f"bad pai trace {quoted(spec)}: estimate is one of {', '.join(PAI_ESTIMATES)}")
    if per_minute < 0:
        raise InvalidSpec(f"bad pai trace {quoted(spec)}: per_minute is 0 (the real submit times) or positive")
    return estimate, per_minute
