"""Job traces by spec string: FORMAT:PATH, or synthetic:N with options."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from neocloud.adapters.traces.jobs import TraceRead, read_gavel, read_muri, read_philly, synthetic
from neocloud.adapters.traces.openb import read_pod_jobs
from neocloud.core.errors import InvalidSpec, quoted

FORMATS = ("muri", "tiresias", "philly", "gavel", "openb", "synthetic")


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
    openb pod list: GPU pods with milli-GPU, CPU and memory requests, from creation to deletion), or
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
