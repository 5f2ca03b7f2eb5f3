"""Importers for real GPU inventories published with public cluster traces.

Each reader turns a node list into a Site: nodes with the same configuration become one block group (the
traces publish no rack or fabric topology, so each group is one block of one rack). CPU-only nodes are
skipped: neocloud sells GPUs. A malformed row is an error naming the file and the line.
"""

from __future__ import annotations

import csv
import io
import tarfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path

from neocloud.core.catalog import Catalog
from neocloud.core.errors import InvalidSpec, quoted
from neocloud.core.fleet import BlockGroup, NodeSpec, Site, validate_site

Row = dict[str, str]
NodeReader = Callable[[Row], NodeSpec | None]


def _int(row: Row, column: str) -> int:
    value = row.get(column)
    if value is None or value.strip() == "":
        raise ValueError(f"column {quoted(column)} is empty")
    try:
        return int(float(value))
    except ValueError:
        raise ValueError(f"column {quoted(column)} is not a number: {quoted(value)}") from None


def _openb(row: Row) -> NodeSpec | None:
    # sn,cpu_milli,memory_mib,gpu,model
    gpus = _int(row, "gpu")
    if gpus == 0:
        return None
    return NodeSpec(row["model"], gpus, _int(row, "cpu_milli") // 1000, _int(row, "memory_mib") // 1024)


def _pai(row: Row) -> NodeSpec | None:
    # machine,gpu_type,cap_cpu,cap_mem,cap_gpu (memory in GB)
    gpus = _int(row, "cap_gpu")
    if gpus == 0:
        return None
    return NodeSpec(row["gpu_type"], gpus, _int(row, "cap_cpu"), _int(row, "cap_mem"))


def _spot(row: Row) -> NodeSpec | None:
    # gpu_model,gpu_capacity_num,cpu_num,node_name (memory not published)
    gpus = _int(row, "gpu_capacity_num")
    if gpus == 0:
        return None
    return NodeSpec(row["gpu_model"], gpus, _int(row, "cpu_num"), 0)


FORMATS: dict[str, tuple[list[str], NodeReader]] = {
    "openb": (["sn", "cpu_milli", "memory_mib", "gpu", "model"], _openb),
    "pai": (["machine", "gpu_type", "cap_cpu", "cap_mem", "cap_gpu"], _pai),
    "spot": (["gpu_model", "gpu_capacity_num", "cpu_num", "node_name"], _spot),
}


def _rows(path: Path, columns: list[str]) -> Iterator[tuple[int, Row]]:
    """(line number, row) pairs; PAI's machine spec ships headerless inside a .tar.gz."""
    if path.name.endswith(".tar.gz"):
        with tarfile.open(path) as tar:
            member = next((m for m in tar.getmembers() if m.name.endswith(".csv")), None)
            if member is None:
                raise InvalidSpec(f"{path}: no .csv inside the archive", file=str(path))
            extracted = tar.extractfile(member)
            assert extracted is not None
            text = extracted.read().decode()
    else:
        text = path.read_text()
    reader = csv.reader(io.StringIO(text))
    first = next(reader, None)
    if first is None:
        raise InvalidSpec(f"{path}: empty file", file=str(path))
    header = [c.strip() for c in first]
    start = 2
    if header != columns:
        if set(header) & set(columns):
            raise InvalidSpec(f"{path}:1: expected columns {columns}, got {header}", file=str(path), line=1)
        reader = csv.reader(io.StringIO(text))  # headerless
        start = 1
    for line, values in enumerate(reader, start=start):
        if not values:
            continue
        if len(values) != len(columns):
            raise InvalidSpec(
                f"{path}:{line}: expected {len(columns)} fields ({', '.join(columns)}), got {len(values)}",
                file=str(path),
                line=line,
            )
        yield line, dict(zip(columns, (v.strip() for v in values), strict=True))


def _group(specs: Iterable[NodeSpec]) -> tuple[BlockGroup, ...]:
    # Keep the trace's own model names (V100M16 and V100M32 are different parts); the catalog resolves them.
    counts = Counter((s.gpu_model, s.gpus, s.cpus, s.memory_gib) for s in specs)
    return tuple(
        BlockGroup(f"{model}-{gpus}g-{cpus}c-{mem}m", 1, 1, n, NodeSpec(model, gpus, cpus, mem))
        for (model, gpus, cpus, mem), n in sorted(counts.items())
    )


def import_nodes(fmt: str, path: Path, catalog: Catalog, site_name: str) -> Site:
    if fmt == "muri":
        return import_muri(path, catalog, site_name)
    if fmt not in FORMATS:
        raise InvalidSpec(f"unknown inventory format {quoted(fmt)}; known: {', '.join(sorted([*FORMATS, 'muri']))}")
    columns, read = FORMATS[fmt]
    specs = []
    for line, row in _read_rows(path, columns):
        try:
            spec = read(row)
            if spec is not None:
                catalog[spec.gpu_model]
                specs.append(spec)
        except (ValueError, KeyError) as exc:
            raise InvalidSpec(f"{path}:{line}: {exc}", file=str(path), line=line) from None
        except InvalidSpec:
            raise
        except Exception as exc:  # unknown GPU model and the like: keep the error's own code
            exc.args = (f"{path}:{line}: {exc}",)
            if hasattr(exc, "message"):
                exc.message = exc.args[0]
            raise
    if not specs:
        raise InvalidSpec(f"{path}: no GPU nodes found", file=str(path))
    return _site(site_name, _group(specs), catalog)


def import_muri(path: Path, catalog: Catalog, site_name: str, gpu_model: str = "v100") -> Site:
    """Muri's cluster spec: switches x nodes per switch x GPUs per node (a V100 cluster in the paper)."""
    columns = ["num_switch", "num_node_p_switch", "num_gpu_p_node", "num_cpu_p_node", "mem_p_node"]
    rows = list(_read_rows(path, columns))
    if len(rows) != 1:
        raise InvalidSpec(f"{path}: expected one row of {columns}, got {len(rows)}", file=str(path))
    line, row = rows[0]
    try:
        switches, nodes, gpus, cpus, mem = (_int(row, c) for c in columns)
    except ValueError as exc:
        raise InvalidSpec(f"{path}:{line}: {exc}", file=str(path), line=line) from None
    node = NodeSpec(catalog[gpu_model].name, gpus, cpus, mem)
    return _site(site_name, (BlockGroup("switch", switches, 1, nodes, node),), catalog)


def _read_rows(path: Path, columns: list[str]) -> Iterator[tuple[int, Row]]:
    try:
        yield from _rows(path, columns)
    except OSError as exc:
        raise InvalidSpec(f"{path}: cannot read: {exc.strerror or exc}", file=str(path)) from None
    except (tarfile.TarError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidSpec(f"{path}: unreadable: {exc}", file=str(path)) from None


def _site(name: str, blocks: tuple[BlockGroup, ...], catalog: Catalog) -> Site:
    # Inventories carry no power budget: the site is unbounded, at the catalog's default PUE and tariff.
    site = Site(name, "", None, Decimal("1.25"), Decimal("80"), blocks)
    validate_site(site, catalog)
    return site
