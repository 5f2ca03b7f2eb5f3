"""Alibaba openb (cluster-trace-gpu-v2023): GPU node and pod lists, as the GPU-sharing model reads them."""

from __future__ import annotations

from pathlib import Path

from neocloud.adapters.traces.csvrows import Row, integer, read_rows
from neocloud.adapters.traces.jobs import TraceRead
from neocloud.core.gpushare.model import NodeState, Pod
from neocloud.core.workload import MILLI, Job

NODE_COLUMNS = ["sn", "cpu_milli", "memory_mib", "gpu", "model"]
POD_COLUMNS = ["name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"]  # gpu_spec is optional


def _node(row: Row, line: int) -> NodeState:
    gpus = integer(row, "gpu")
    cpu = integer(row, "cpu_milli")
    return NodeState(row["model"].strip(), cpu, cpu, integer(row, "memory_mib"), (MILLI,) * gpus)


def _pod(row: Row, line: int) -> Pod:
    num_gpu, gpu_milli = integer(row, "num_gpu"), integer(row, "gpu_milli")
    if gpu_milli > MILLI:
        raise ValueError(f"gpu_milli {gpu_milli} is over {MILLI} (it is per GPU)")
    if (num_gpu == 0) != (gpu_milli == 0):
        raise ValueError(f"num_gpu {num_gpu} and gpu_milli {gpu_milli} disagree")
    if num_gpu > 1 and gpu_milli < MILLI:
        raise ValueError(f"a pod sharing GPUs asks for {num_gpu} of them; only one can be shared")
    types = tuple(t for t in (row.get("gpu_spec") or "").split("|") if t)
    return Pod(row["name"], integer(row, "cpu_milli"), integer(row, "memory_mib"), num_gpu, gpu_milli, types)


def read_nodes(path: Path) -> list[NodeState]:
    """GPU nodes only: CPU-only nodes take no part in GPU allocation."""
    return [n for n in read_rows(path, NODE_COLUMNS, _node)[0] if n.gpu_count]


def read_pods(path: Path) -> list[Pod]:
    return read_rows(path, POD_COLUMNS, _pod)[0]


def read_pod_jobs(path: Path, *, skip_bad_rows: bool = False) -> TraceRead:
    """An openb pod list as jobs with departures: each GPU pod is a one-task job submitted at its
    creation_time that runs until its deletion_time (at least a second), with its CPU, memory, milli-GPU and
    GPU-model requests. CPU-only pods are left out: the engine schedules GPU work."""

    def parse(row: Row, line: int) -> Job | None:
        pod = _pod(row, line)
        if pod.num_gpu == 0:
            return None
        created, deleted = integer(row, "creation_time"), integer(row, "deletion_time")
        if deleted < created:
            raise ValueError(f"deletion_time {deleted} is before creation_time {created}")
        return Job(
            pod.name,
            created,
            max(1, deleted - created),
            gpus_per_task=pod.num_gpu,
            gpu_model="|".join(pod.gpu_types) or None,
            cpu_milli_per_task=pod.cpu_milli,
            memory_mib_per_task=pod.memory_mib,
            gpu_milli=pod.gpu_milli,
        )

    jobs, skipped = read_rows(
        path, [*POD_COLUMNS, "creation_time", "deletion_time"], parse, skip_bad_rows=skip_bad_rows
    )
    return TraceRead(jobs, skipped)
