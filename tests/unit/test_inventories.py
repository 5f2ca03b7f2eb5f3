"""Importers on the real inventories in shared/traces, and on broken copies of them."""

from pathlib import Path

import pytest

from neocloud.adapters.inventories import import_nodes
from neocloud.core.catalog import Catalog
from neocloud.core.errors import InvalidSpec, UnknownGpuModel

CASES = [
    ("openb", "alibaba-openb-gpu-v2023/csv/openb_node_list_gpu_node.csv", 1213, 6212),
    ("openb", "alibaba-openb-gpu-v2023/csv/openb_node_list_all_node.csv", 1213, 6212),  # CPU nodes skipped
    ("pai", "alibaba-pai-gpu-v2020/data/pai_machine_spec.tar.gz", 1814, 6742),
    ("spot", "alibaba-spot-gpu-v2026/node_info_df.csv", 4278, 10412),
    ("muri", "muri-sigcomm22/cluster_spec/n8g8.csv", 8, 64),
]


@pytest.mark.parametrize(("fmt", "path", "nodes", "gpus"), CASES)
def test_real_inventories_import_with_published_counts(
    catalog: Catalog, traces: Path, fmt: str, path: str, nodes: int, gpus: int
) -> None:
    site = import_nodes(fmt, traces / path, catalog, fmt)
    assert sum(g.nodes for g in site.blocks) == nodes
    assert site.gpus == gpus
    assert sum(p.gpus for p in site.pools()) == gpus


def test_openb_keeps_the_trace_model_names(catalog: Catalog, traces: Path) -> None:
    site = import_nodes("openb", traces / CASES[0][1], catalog, "openb")
    assert site.gpus_by_model() == {
        "A10": 2,
        "G2": 4392,
        "G3": 312,
        "P100": 265,
        "T4": 842,
        "V100M16": 195,
        "V100M32": 204,
    }


def test_bad_row_names_file_and_line(tmp_path: Path, catalog: Catalog) -> None:
    bad = tmp_path / "nodes.csv"
    bad.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,2,P100\nn1,64000,lots,2,P100\n")
    with pytest.raises(InvalidSpec, match=r"nodes.csv:3: column 'memory_mib' is not a number: 'lots'"):
        import_nodes("openb", bad, catalog, "x")
    bad.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,2\n")
    with pytest.raises(InvalidSpec, match=r"nodes.csv:2: expected 5 fields"):
        import_nodes("openb", bad, catalog, "x")
    bad.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,2,Z9\n")
    with pytest.raises(UnknownGpuModel, match=r"nodes.csv:2: unknown GPU model 'Z9'"):
        import_nodes("openb", bad, catalog, "x")
    with pytest.raises(InvalidSpec, match="cannot read"):
        import_nodes("openb", tmp_path / "missing.csv", catalog, "x")
    with pytest.raises(InvalidSpec, match="unknown inventory format 'slurm'"):
        import_nodes("slurm", bad, catalog, "x")
