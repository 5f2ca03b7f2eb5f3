"""Clusters for the engine, from a spec string: a fleet (packaged name or YAML), a trace's cluster spec,
or a uniform shape."""

from __future__ import annotations

import csv
from pathlib import Path

from neocloud.adapters.specs import load_fleet
from neocloud.adapters.traces.openb import read_nodes
from neocloud.core.catalog import Catalog
from neocloud.core.engine.cluster import Cluster, cluster_of
from neocloud.core.engine.pooled import PooledCluster
from neocloud.core.engine.sharing import SharedCluster
from neocloud.core.errors import InvalidSpec, quoted


def load_cluster(spec: str, catalog: Catalog, seed: int = 0) -> Cluster | SharedCluster | PooledCluster:
    """`uniform:NODESxGPUS`, `pooled:GPUS[,cpus=N]` (one pool without nodes, CPUs counted when given; the
    PAI 2020 simulator's cluster is pooled:6500,cpus=150930), `muri:PATH` (Muri/Tiresias cluster spec CSV),
    `openb:PATH` (an openb node list: a GPU-sharing cluster with CPU and memory, its score ties broken in an
    order drawn from `seed`), or a fleet: a packaged name such as colossus-1 or a fleet YAML file (all its
    sites' nodes, with NVLink domains and fabric blocks)."""
    kind, _, rest = spec.partition(":")
    if kind == "openb":
        return SharedCluster(read_nodes(Path(rest)), seed=seed)
    if kind == "uniform":
        try:
            nodes, gpus = (int(x) for x in rest.lower().split("x"))
        except ValueError:
            raise InvalidSpec(f"bad cluster {quoted(spec)}: use uniform:NODESxGPUS, e.g. uniform:64x8") from None
        if nodes <= 0 or gpus <= 0:
            raise InvalidSpec(f"bad cluster {quoted(spec)}: nodes and GPUs must be positive")
        return Cluster.uniform(nodes, gpus)
    if kind in ("muri", "tiresias"):
        return _muri(Path(rest))
    if kind == "pooled":
        return _pooled(spec, rest)
    return cluster_of(load_fleet(spec, catalog), catalog)


def _muri(path: Path) -> Cluster:
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        row = rows[0]
        switches, per_switch, gpus = (int(row[c]) for c in ("num_switch", "num_node_p_switch", "num_gpu_p_node"))
    except OSError as exc:
        raise InvalidSpec(f"{path}: cannot read: {exc.strerror}", file=str(path)) from None
    except (IndexError, KeyError, ValueError) as exc:
        raise InvalidSpec(
            f"{path}:2: expected num_switch,num_node_p_switch,num_gpu_p_node,...: {exc}", file=str(path)
        ) from None
    return Cluster.uniform(switches * per_switch, gpus, nodes_per_block=per_switch)


def _pooled(spec: str, rest: str) -> PooledCluster:
    gpus, *options = rest.split(",")
    try:
        opts = {k.strip(): int(v) for k, v in (o.split("=", 1) for o in options)}
        if set(opts) - {"cpus"}:
            raise ValueError(f"unknown options {sorted(set(opts) - {'cpus'})}")
        count = int(gpus)
        if count <= 0 or opts.get("cpus", 1) <= 0 or count > 10_000_000:
            raise ValueError("GPUs (at most 10,000,000) and CPUs must be positive")
    except ValueError as exc:
        raise InvalidSpec(f"bad cluster {quoted(spec)}: use pooled:GPUS[,cpus=N], e.g. pooled:6500 ({exc})") from None
    return PooledCluster(count, opts.get("cpus"))
