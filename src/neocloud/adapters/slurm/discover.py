"""A site from a Slurm cluster's own nodes (`neocloud fleet discover`): every node with GPUs, under Slurm's
names, so that the books, the reservations and the accounting speak of the same machines.

Slurm says what a node has (GRES, CPUs, memory) but not where it stands in the fabric, so the topology is
the plainest one that holds: nodes of one shape (GPU model and count, CPUs, memory) form a block group of one
block, taken in Slurm's name order; a model whose NVLink domain spans nodes (NVL72) gets racks of whole
domains, every other model one rack. Where the real racks and blocks matter, print the spec (`--yaml`),
edit it, and load it with `neocloud init --fleet`."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from neocloud.adapters.slurm.cli import SlurmCli, SlurmNode, is_file
from neocloud.core.bounds import check_name, has_control, parse_decimal
from neocloud.core.catalog import Catalog
from neocloud.core.errors import InvalidInput, InvalidSpec, quoted
from neocloud.core.fleet import BlockGroup, NodeSpec, Site, validate_site

DEFAULT_PUE, DEFAULT_USD_PER_MWH = Decimal("1.25"), Decimal("80")  # as for imported inventories
MAX_MW = Decimal(100_000)  # no site draws more


def discover(slurm_conf: str, name: str, catalog: Catalog, models: Sequence[str], power_mw: str | None) -> Site:
    """The site of the Slurm cluster `slurm_conf` configures; `models` as TYPE=MODEL pairs."""
    pairs = {}
    for pair in models:
        gpu_type, equals, model = pair.partition("=")
        if not (equals and gpu_type and model) or has_control(pair):
            raise InvalidInput(f"--model wants TYPE=MODEL, got {quoted(pair)}", option="--model")
        pairs[gpu_type] = model
    check_name(name, "--name")
    budget = None if power_mw is None else parse_decimal(power_mw, "--power-mw", low=Decimal("0.001"), high=MAX_MW)
    if not is_file(slurm_conf):
        raise InvalidInput(f"--slurm-conf: no Slurm configuration at {slurm_conf[:200]!r}", option="--slurm-conf")
    return site_from_slurm(SlurmCli(Path(slurm_conf)).gpu_nodes(), name, catalog, pairs, budget)


def site_from_slurm(
    nodes: Sequence[SlurmNode],
    name: str,
    catalog: Catalog,
    models: Mapping[str, str] | None = None,
    power_mw: Decimal | None = None,
) -> Site:
    """`models`: catalog model per GRES type, for types that are not a model's name themselves."""
    if not nodes:
        raise InvalidSpec("Slurm lists no node with GPUs (GRES gpu)")
    shapes: dict[tuple[str, int, int, int], list[str]] = defaultdict(list)
    for node in nodes:
        shapes[(_model(node, catalog, models or {}), node.gpus, node.cpus, node.memory_gib)].append(node.name)
    groups = []
    for (model, gpus, cpus, memory_gib), names in sorted(shapes.items()):
        domain = catalog[model].nvlink_domain
        per_rack = domain // gpus if domain > gpus and domain % gpus == 0 else len(names)
        if len(names) % per_rack:
            raise InvalidSpec(
                f"Slurm has {len(names)} {model} nodes of {gpus} GPUs: not whole {domain}-GPU NVLink domains"
                f" of {per_rack} nodes",
                gpu_model=model,
            )
        group = f"{model}-{gpus}g"
        if sum((m, g) == (model, gpus) for m, g, _, _ in shapes) > 1:
            group += f"-{cpus}cpu-{memory_gib}gib"  # two shapes of one model and count: told apart
        ordered = tuple(sorted(names, key=_natural))
        groups.append(
            BlockGroup(group, 1, len(names) // per_rack, per_rack, NodeSpec(model, gpus, cpus, memory_gib), ordered)
        )
    site = Site(name, "", power_mw, DEFAULT_PUE, DEFAULT_USD_PER_MWH, tuple(groups))
    validate_site(site, catalog)
    return site


def spec_of(site: Site) -> dict[str, Any]:
    """The site as a fleet spec (YAML's data), to edit and load with `neocloud init --fleet`."""
    blocks = [
        {
            "name": g.name,
            "count": g.count,
            "racks": g.racks,
            "nodes_per_rack": g.nodes_per_rack,
            "node": {
                "gpu_model": g.node.gpu_model,
                "gpus": g.node.gpus,
                "cpus": g.node.cpus,
                "memory_gib": g.node.memory_gib,
            },
            "node_names": list(g.node_names),
        }
        for g in site.blocks
    ]
    power = {} if site.power_mw is None else {"power_mw": float(site.power_mw)}
    return {"sites": [{"name": site.name, **power, "pue": float(site.pue), "blocks": blocks}]}


def _model(node: SlurmNode, catalog: Catalog, models: Mapping[str, str]) -> str:
    named = models.get(node.gpu_type, node.gpu_type)
    if named and named in catalog:
        return catalog[named].name
    said = f"GPU type {quoted(node.gpu_type)}" if node.gpu_type else "a GPU GRES without a type"
    raise InvalidSpec(
        f"node {node.name}: {said} is no GPU model of the catalog; name it with --model"
        f" {node.gpu_type or 'TYPE'}=MODEL (models: {', '.join(sorted(catalog))})",
        node=node.name,
    )


def _natural(name: str) -> list[Any]:
    """gpu2 before gpu10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
