"""Clusters for the engine, from a spec string: a fleet (packaged name or YAML), a trace's cluster spec,
or a uniform shape."""

from __future__ import annotations

import csv
from pathlib import Path

from neocloud.adapters.specs import load_fleet
from neocloud.core.catalog import Catalog
from neocloud.core.engine.cluster import Cluster, cluster_of
from neocloud.core.errors import InvalidSpec


def load_cluster(spec: str, catalog: Catalog) -> Cluster:
    """`uniform:NODESxGPUS`, `muri:PATH` (Muri/Tiresias cluster spec CSV), or a fleet: a packaged name such as
    colossus-1 or a fleet YAML file (all its sites' nodes, with NVLink domains and fabric blocks)."""
    kind, _, rest = spec.partition(":")
    if kind == "uniform":
        try:
            nodes, gpus = (int(x) for x in rest.lower().split("x"))
        except ValueError:
            raise InvalidSpec(f"bad cluster {spec!r}: use uniform:NODESxGPUS, e.g. uniform:64x8") from None
        if nodes <= 0 or gpus <= 0:
            raise InvalidSpec(f"bad cluster {spec!r}: nodes and GPUs must be positive")
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
