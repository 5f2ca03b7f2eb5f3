"""Alibaba openb (cluster-trace-gpu-v2023): GPU node and pod lists, as the GPU-sharing model reads them."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from neocloud.core.errors import InvalidSpec
from neocloud.core.gpushare.model import MILLI, NodeState, Pod

T = TypeVar("T")

NODE_COLUMNS = ["sn", "cpu_milli", "memory_mib", "gpu", "model"]
POD_COLUMNS = ["name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec"]


def _read(path: Path, required: list[str], parse: Callable[[dict[str, str]], T]) -> list[T]:
    try:
        handle = path.open(newline="")
    except OSError as exc:
        raise InvalidSpec(f"{path}: cannot read: {exc.strerror}", file=str(path)) from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidSpec(f"{path}:1: missing columns {missing}", file=str(path), line=1)
        out = []
        for row in reader:
            try:
                out.append(parse(row))
            except (ValueError, TypeError) as exc:
                line = reader.line_num
                raise InvalidSpec(f"{path}:{line}: {exc}", file=str(path), line=line) from None
        return out


def _int(row: dict[str, str], column: str) -> int:
    value = (row.get(column) or "").strip()
    if not value:
        raise ValueError(f"column {column!r} is empty")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"column {column!r} is not an integer: {value!r}") from None
    if number < 0:
        raise ValueError(f"column {column!r} is negative: {number}")
    return number


def _node(row: dict[str, str]) -> NodeState:
    gpus = _int(row, "gpu")
    cpu = _int(row, "cpu_milli")
    return NodeState(row["model"].strip(), cpu, cpu, _int(row, "memory_mib"), (MILLI,) * gpus)


def _pod(row: dict[str, str]) -> Pod:
    num_gpu, gpu_milli = _int(row, "num_gpu"), _int(row, "gpu_milli")
    if gpu_milli > MILLI:
        raise ValueError(f"gpu_milli {gpu_milli} is over {MILLI} (it is per GPU)")
    if (num_gpu == 0) != (gpu_milli == 0):
        raise ValueError(f"num_gpu {num_gpu} and gpu_milli {gpu_milli} disagree")
    if num_gpu > 1 and gpu_milli < MILLI:
        raise ValueError(f"a pod sharing GPUs asks for {num_gpu} of them; only one can be shared")
    types = tuple(t for t in (row.get("gpu_spec") or "").split("|") if t)
    return Pod(row["name"], _int(row, "cpu_milli"), _int(row, "memory_mib"), num_gpu, gpu_milli, types)


def read_nodes(path: Path) -> list[NodeState]:
    """GPU nodes only: CPU-only nodes take no part in GPU allocation."""
    return [n for n in _read(path, NODE_COLUMNS, _node) if n.gpu_count]


def read_pods(path: Path) -> list[Pod]:
    return _read(path, POD_COLUMNS, _pod)
