"""A site from Slurm's nodes (the real cluster: tests/e2e/test_slurm_discover.py): shapes become block
groups under Slurm's names, rack-scale NVLink domains become whole racks, and what cannot be a site is
refused with its reason."""

from __future__ import annotations

import pytest

from neocloud.adapters.slurm.cli import SlurmNode
from neocloud.adapters.slurm.discover import site_from_slurm
from neocloud.core.catalog import Catalog
from neocloud.core.errors import InvalidSpec


def test_shapes_become_block_groups_under_slurms_names(catalog: Catalog) -> None:
    nodes = [SlurmNode(f"h{i}", "h100-sxm", 8, 64, 512) for i in (10, 9, 1)]
    nodes += [SlurmNode("fat1", "h100", 8, 128, 2048), *(SlurmNode(f"gb{i:02d}", "gb", 4, 72, 480) for i in range(36))]
    site = site_from_slurm(nodes, "lab", catalog, {"h100": "h100-sxm", "gb": "gb200-nvl72"})
    shapes = [(g.name, g.racks, g.nodes_per_rack, g.node_names[:3]) for g in site.blocks]
    assert shapes == [
        ("gb200-nvl72-4g", 2, 18, ("gb00", "gb01", "gb02")),  # two NVL72 racks of 18 trays
        ("h100-sxm-8g-64cpu-512gib", 1, 3, ("h1", "h9", "h10")),  # two shapes of one model and count: told apart
        ("h100-sxm-8g-128cpu-2048gib", 1, 1, ("fat1",)),
    ]
    racks = {n.name: n.rack for n in site.nodes()}
    assert racks["gb17"] != racks["gb18"]
    assert racks["gb00"] == racks["gb17"]
    assert site.gpus == 36 * 4 + 4 * 8


@pytest.mark.parametrize(
    ("nodes", "fragment"),
    [
        ([], "Slurm lists no node with GPUs"),
        ([SlurmNode("n1", "", 8, 1, 1)], "a GPU GRES without a type is no GPU model of the catalog"),
        ([SlurmNode("n1", "a100x", 8, 1, 1)], "GPU type 'a100x' is no GPU model of the catalog; name it with --model"),
        ([SlurmNode(f"g{i}", "gb200-nvl72", 4, 1, 1) for i in range(20)], "not whole 72-GPU NVLink domains"),
    ],
)
def test_what_cannot_be_a_site_is_refused(catalog: Catalog, nodes: list[SlurmNode], fragment: str) -> None:
    with pytest.raises(InvalidSpec, match=fragment):
        site_from_slurm(nodes, "lab", catalog)
