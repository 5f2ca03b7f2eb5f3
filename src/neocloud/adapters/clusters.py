"""Clusters for the engine, from a spec string: a fleet (packaged name or YAML), a trace's cluster spec,
or a uniform shape."""

from __future__ import annotations

import csv
from pathlib import Path

from neocloud.adapters.specs import load_fleet
from neocloud.adapters.traces.openb import read_nodes
from neocloud.core.catalog import Catalog
from neocloud.core.engine.cluster import Cluster, cluster_of
from neocloud.core.engine.sharing import SharedCluster
from neocloud.core.errors import InvalidSpec, quoted


def load_cluster(spec: str, catalog: Catalog, seed: int = 0) -> Cluster | SharedCluster:
    """`uniform:NODESxGPUS`, `muri:PATH` (Muri/Tiresias cluster spec CSV), `openb:PATH` (an openb node list:
    a GPU-sharing cluster with CPU and memory, its score ties broken in an order drawn from `seed`), or a
    fleet: a packaged name such as colossus-1 or a fleet YAML file (all its sites' nodes, with NVLink domains
    and fabric blocks)."""
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
