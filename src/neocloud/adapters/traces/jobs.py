"""Job traces: Muri/Tiresias (times in ms or s), Philly as Pollux publishes it, the Alibaba PAI 2020 simulator's
input, and the synthetic generator.

A malformed row raises InvalidSpec naming file and line; with `skip_bad_rows` it is counted and reported
instead (TraceRead.skipped), and the rest of the file is read.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from neocloud.adapters.traces.csvrows import Row, number, read_rows
from neocloud.core.errors import InvalidSpec, quoted
from neocloud.core.workload import Job


@dataclass(frozen=True, slots=True)
class TraceRead:
    jobs: list[Job]
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, why)
    left_out: dict[str, int] = field(default_factory=dict)  # jobs not to replay (never ran, no GPUs), by why


def _read(path: Path, required: list[str], parse: Callable[[Row, int], Job | None], skip_bad_rows: bool) -> TraceRead:
    jobs, skipped = read_rows(path, required, parse, skip_bad_rows=skip_bad_rows)
    return TraceRead(jobs, skipped)


# The Muri simulator's run-time model (Muri artifact, simulator/jobs.py and run_sim.py `overhead_dict`): each
# iteration takes 1.015 times its traced time, and each start of a job costs seconds by model and GPU count
# (10 for a model it does not list). GPU counts between those listed take the next listed count up.
MURI_SLOWDOWN = 1.015
MURI_START_OVERHEAD: dict[int, dict[str, int]] = {
    1: {"vgg16": 7, "vgg19": 7, "resnet18": 4, "shufflenet_v2_x1_0": 4, "bert": 10, "gpt2": 10, "a2c": 38, "dqn": 5},
    2: {"vgg16": 7, "vgg19": 7, "resnet18": 5, "shufflenet_v2_x1_0": 4, "bert": 10, "gpt2": 10, "a2c": 39, "dqn": 5},
    4: {"vgg16": 8, "vgg19": 8, "resnet18": 5, "shufflenet_v2_x1_0": 5, "bert": 10, "gpt2": 10, "a2c": 39, "dqn": 6},
    8: {"vgg16": 9, "vgg19": 9, "resnet18": 7, "shufflenet_v2_x1_0": 5, "bert": 10, "gpt2": 10, "a2c": 46, "dqn": 6},
    16: {"vgg16": 9, "vgg19": 10, "resnet18": 7, "shufflenet_v2_x1_0": 7, "bert": 10, "gpt2": 10, "a2c": 46, "dqn": 8},
    32: {"vgg16": 10, "vgg19": 10, "resnet18": 7, "shufflenet_v2_x1_0": 8, "bert": 10, "gpt2": 10, "a2c": 46, "dqn": 8},
}
MURI_OTHER_MODEL = 10


def muri_start_overhead(model: str, gpus: int) -> int:
    listed = next((n for n in sorted(MURI_START_OVERHEAD) if n >= gpus), max(MURI_START_OVERHEAD))
    return MURI_START_OVERHEAD[listed].get(model, MURI_OTHER_MODEL)


def read_muri(path: Path, *, millis: bool = True, overhead: bool = False, skip_bad_rows: bool = False) -> TraceRead:
    """Muri's extended Tiresias format (job_id,num_gpu,submit_time,...,duration,...). Muri's traces give
    times in milliseconds; Tiresias's own sample gives seconds (millis=False). With `overhead`, the Muri
    simulator's run-time model: run time is iterations x iteration_time (or duration) x 1.015, and every start
    (the first, and each restart after a preemption) costs the start overhead of the job's model and GPUs.
    Job ids are zero-padded so that they sort as the trace's numbers (the order of jobs submitted together)."""
    scale = 1000 if millis else 1

    def parse(row: Row, line: int) -> Job:
        job_id = row["job_id"].strip()
        if not job_id.isdigit() or len(job_id) > 12:
            raise ValueError(f"job_id {quoted(job_id)} is not a whole number of at most 12 digits")
        gpus = int(number(row, "num_gpu"))
        if gpus <= 0:
            raise ValueError("num_gpu must be positive")
        run = number(row, "duration") / scale
        start = 0
        timed = (row.get("iterations") or "").strip() and (row.get("iteration_time") or "").strip()
        iteration = number(row, "iteration_time") / scale if timed else 0.0
        if overhead:
            run = (number(row, "iterations") * iteration if timed else run) * MURI_SLOWDOWN
            iteration *= MURI_SLOWDOWN
            start = muri_start_overhead((row.get("model_name") or "").strip(), gpus)
        # The stages stay as traced: the artifact's interleaving model works on them unstretched.
        stages = tuple(number(row, c) / scale for c in row if c.startswith("resource_time") and row[c].strip())
        return Job(
            str(int(job_id)),
            int(number(row, "submit_time") // scale),
            max(1, math.ceil(run)) + start,
            gpus_per_task=1,
            tasks=gpus,
            restart_overhead=start,
            iteration=iteration if stages else 0.0,
            stages=stages if iteration > 0 else (),
        )

    read = _read(path, ["job_id", "num_gpu", "submit_time", "duration"], parse, skip_bad_rows)
    width = max((len(j.id) for j in read.jobs), default=1)
    return TraceRead([replace(j, id=f"j{j.id:0>{width}}") for j in read.jobs], read.skipped)


PHILLY_EPOCH = datetime(2017, 10, 1, tzinfo=UTC)


def read_philly(
    path: Path, *, since: datetime | None = None, until: datetime | None = None, skip_bad_rows: bool = False
) -> TraceRead:
    """Pollux's philly.csv (timestamp,duration,num_gpus,gpu_time,cluster); the virtual cluster is the
    tenant. Submit times count seconds from 2017-10-01 00:00 UTC; `since`/`until` filter on them."""

    def parse(row: Row, line: int) -> Job | None:
        try:
            stamp = datetime.strptime(row["timestamp"].strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            raise ValueError(f"timestamp {quoted(row['timestamp'])} is not YYYY-MM-DD HH:MM:SS") from None
        if (since and stamp < since) or (until and stamp >= until):
            return None
        gpus = int(number(row, "num_gpus"))
        if gpus <= 0:
            raise ValueError("num_gpus must be positive")
        duration = max(1, math.ceil(number(row, "duration")))
        offsets[line] = int((stamp - PHILLY_EPOCH).total_seconds())
        return Job(f"p{line}", 0, duration, gpus_per_task=1, tasks=gpus, tenant=row["cluster"].strip())

    offsets: dict[int, int] = {}  # line -> seconds from the epoch, negative before it
    read = _read(path, ["timestamp", "duration", "num_gpus", "cluster"], parse, skip_bad_rows)
    origin = min(0, *offsets.values()) if offsets else 0  # jobs before the epoch: shift so the clock starts at 0
    return TraceRead([_shift(j, offsets[int(j.id[1:])] - origin) for j in read.jobs], read.skipped)


PAI_ESTIMATES = ("user_dur", "group_dur", "group_gpu_dur")  # the PAI simulator's estimate columns


def read_pai(
    path: Path, *, estimate: str | None = None, per_minute: int = 1000, skip_bad_rows: bool = False
) -> TraceRead:
    """The Alibaba PAI 2020 simulator's input (columns by name: job_id, submit_time, duration, num_gpu per
    instance, and optionally num_inst, num_cpu per instance, user, and the estimate columns). An instance is a
    task of a gang; `user` is the tenant. `estimate` names the column the scheduler is told (its SJU, SJG and
    SJGG orderings are `sjf` with user_dur, group_dur or group_gpu_dur); without it `sjf` uses the true
    duration, as its SJF does. Arrivals follow its rule: the job at rank k in (submit_time, job_id) order
    arrives at floor(k / per_minute) minutes; per_minute=0 keeps submit_time. Job ids sort as numbers."""
    if estimate is not None and estimate not in PAI_ESTIMATES:
        raise InvalidSpec(f"unknown estimate column {quoted(estimate)}; use one of {', '.join(PAI_ESTIMATES)}")
    if per_minute < 0:
        raise InvalidSpec(f"arrivals per minute must be 0 (the real submit times) or positive, got {per_minute}")

    def optional(row: Row, column: str, default: float) -> float:
        """An optional column's number; missing or empty: `default`."""
        return number(row, column) if (row.get(column) or "").strip() else default

    def parse(row: Row, line: int) -> tuple[int, float, Job]:
        job_id = row["job_id"].strip()
        if not job_id.isdigit() or len(job_id) > 12:
            raise ValueError(f"job_id {quoted(job_id)} is not a whole number of at most 12 digits")
        gpus = number(row, "num_gpu")
        if gpus <= 0:
            raise ValueError("num_gpu is 0: a CPU-only job, which a GPU simulation does not run")
        if gpus > 1 and not gpus.is_integer():
            raise ValueError(f"num_gpu {gpus:g}: a fraction of a GPU is at most 1")
        instances = int(optional(row, "num_inst", 1))
        if instances <= 0:
            raise ValueError("num_inst must be positive")
        told = int(number(row, estimate)) if estimate else None
        job = Job(
            f"{int(job_id):012d}",
            0,
            max(1, int(number(row, "duration"))),
            gpus_per_task=max(1, int(gpus)),
            tasks=instances,
            tenant=(row.get("user") or "").strip() or "default",
            estimate=None if told is None else max(1, told),
            cpu_milli_per_task=round(optional(row, "num_cpu", 0) * 1000),
            gpu_milli=round(gpus * 1000) if gpus < 1 else 1000,
        )
        return int(job_id), number(row, "submit_time"), job

    required = ["job_id", "submit_time", "duration", "num_gpu", *([estimate] if estimate else [])]
    rows, skipped = read_rows(path, required, parse, skip_bad_rows=skip_bad_rows)
    ids = [job_id for job_id, _, _ in rows]
    if len(set(ids)) != len(ids):
        raise InvalidSpec(f"{path}: job_id repeats; each job needs its own", file=str(path))
    ranked = sorted(rows, key=lambda r: (r[1], r[0]))
    if per_minute:
        return TraceRead([_shift(job, k // per_minute * 60) for k, (_, _, job) in enumerate(ranked)], skipped)
    return TraceRead([_shift(job, int(submit)) for _, submit, job in ranked], skipped)


def _shift(job: Job, by: int) -> Job:
    return replace(job, submit=job.submit + by)


def read_philly_vcs(path: Path) -> dict[str, int]:
    """Helios's philly_vc.csv: virtual cluster -> number of 8-GPU nodes."""
    vcs: dict[str, int] = {}

    def parse(row: Row, line: int) -> None:
        nodes = int(number(row, "node num"))
        if nodes <= 0:
            raise ValueError("node num must be positive")
        vcs[row["vc"].strip()] = nodes
        return None

    _read(path, ["vc", "node num"], parse, skip_bad_rows=False)
    return vcs


def synthetic(
    jobs: int,
    *,
    seed: int,
    gpus: int,
    load: float = 0.9,
    mean_duration: int = 3600,
    sizes: tuple[tuple[int, float], ...] = ((1, 0.6), (2, 0.1), (4, 0.1), (8, 0.15), (16, 0.03), (64, 0.02)),
    tenants: int = 4,
) -> list[Job]:
    """Poisson arrivals sized so the offered load is `load` x `gpus`; GPU counts from `sizes`; durations
    log-normal (sigma 1.0) around `mean_duration`. Deterministic for a seed."""
    rng = random.Random(seed)
    values, weights = zip(*sizes, strict=True)
    mean_gpus = sum(v * w for v, w in sizes) / sum(weights)
    rate = load * gpus / (mean_gpus * mean_duration)  # arrivals per second
    mu = math.log(mean_duration) - 0.5
    t = 0.0
    out = []
    for i in range(jobs):
        t += rng.expovariate(rate)
        size = rng.choices(values, weights)[0]
        out.append(
            Job(
                f"s{i}",
                int(t),
                max(1, int(rng.lognormvariate(mu, 1.0))),
                gpus_per_task=min(size, 8),
                tasks=max(1, size // 8),
                tenant=f"t{i % tenants}",
            )
        )
    return out


def read_gavel(path: Path, throughputs: Path, *, worker: str = "v100", skip_bad_rows: bool = False) -> TraceRead:
    """Gavel's MSR-derived traces (tab-separated: job type, command, steps flag, needs data dir, total steps,
    arrival time in s, scale factor = GPUs). A job runs for total steps / its isolated throughput on
    `worker` GPUs, from Gavel's simulation_throughputs.json. The table stops at 8 GPUs: larger (or odd) scale
    factors, and ones the table lacks, use the largest measured power of two below, scaled linearly (an
    assumption of ours)."""
    try:
        table = json.loads(throughputs.read_text())[worker]
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidSpec(f"{throughputs}: no throughputs for {quoted(worker)}: {exc}", file=str(throughputs)) from None
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise InvalidSpec(f"{path}: cannot read: {exc.strerror}", file=str(path)) from None
    jobs, skipped = [], []
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            fields = line.split("\t")
            if len(fields) != 7:
                raise ValueError(f"expected 7 tab-separated fields, got {len(fields)}")
            job_type, steps, arrival, scale = fields[0], int(fields[4]), float(fields[5]), int(fields[6])
            if steps <= 0 or scale <= 0 or arrival < 0:
                raise ValueError("steps and scale factor must be positive, arrival not negative")
            measured = 1 << min(3, scale.bit_length() - 1)
            while measured and f"('{job_type}', {measured})" not in table:
                measured //= 2
            if not measured:
                raise ValueError(f"no {worker} throughput for {quoted(job_type)}")
            rate = table[f"('{job_type}', {measured})"]["null"] * scale / measured
            jobs.append(
                Job(
                    f"{path.stem}-{line_no}",
                    int(arrival),
                    max(1, math.ceil(steps / rate)),
                    gpus_per_task=1,
                    tasks=scale,
                    tenant=path.stem,
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            if not skip_bad_rows:
                raise InvalidSpec(f"{path}:{line_no}: {exc}", file=str(path), line=line_no) from None
            skipped.append((line_no, str(exc)))
    return TraceRead(jobs, skipped)
