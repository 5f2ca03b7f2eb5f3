"""YAML spec files (catalog overrides, fleets) validated with pydantic into core objects.

Every error names the file, the path inside the document and what was expected, e.g.
`fleet.yaml: sites[0].blocks[1].node.gpus: Input should be greater than 0 (got -8)`.
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from neocloud.core.bounds import (
    MAX_GPUS,
    MAX_GPUS_PER_TASK,
    MAX_MONEY,
    MAX_NAME,
    MAX_RAMP_MW_PER_S,
    MAX_RATE,
    MAX_TEXT,
    NAME,
)
from neocloud.core.catalog import Catalog, GpuModel
from neocloud.core.errors import InvalidSpec, NeocloudError
from neocloud.core.fleet import BlockGroup, Hall, NodeSpec, Site, validate_site

DEFAULT_FLEET = "colossus-1"
M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """A spec's part: no unknown keys, no NaN or infinity, no text longer than anyone writes by hand."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, str_max_length=10_000)


class GpuModelIn(Strict):
    name: str = Field(min_length=1)
    vendor: str
    tdp_w: int = Field(gt=0, le=100_000)
    mem_gb: int = Field(gt=0, le=100_000)
    nvlink_domain: int = Field(gt=0, le=100_000)
    gpus_per_node: int = Field(gt=0, le=MAX_GPUS_PER_TASK)
    it_kw_per_gpu: Decimal = Field(gt=0)
    bf16_tflops: Decimal | None = Field(default=None, gt=0)
    mem_bw_tbps: Decimal | None = None
    node_kw_max: Decimal | None = None
    node_kw_typical: Decimal | None = None
    gpus_per_rack: int | None = None
    rack_kw_max: Decimal | None = None
    list_price_usd: Decimal | None = Field(default=None, ge=0, le=MAX_MONEY)
    on_demand_usd_per_hr: Decimal | None = Field(default=None, ge=0, le=MAX_RATE)
    reserved_1y_usd_per_hr: Decimal | None = Field(default=None, ge=0, le=MAX_RATE)
    spot_usd_per_hr: Decimal | None = Field(default=None, ge=0, le=MAX_RATE)
    floor_usd_per_hr: Decimal | None = Field(default=None, ge=0, le=MAX_RATE)
    aliases: tuple[str, ...] = ()
    min_cap_w: int | None = Field(default=None, gt=0, le=100_000)

    def to_core(self) -> GpuModel:
        fields = set(GpuModel.__dataclass_fields__)
        return GpuModel(**{k: v for k, v in self.model_dump().items() if k in fields})


class CatalogIn(Strict):
    schema_version: Literal[1] = 1
    as_of: str | None = None
    currency: Literal["USD"] = "USD"
    gpu_models: list[dict[str, Any]]


class NodeIn(Strict):
    gpu_model: str = Field(max_length=100)
    gpus: int = Field(gt=0, le=MAX_GPUS_PER_TASK)
    cpus: int = Field(default=0, ge=0, le=100_000)
    memory_gib: int = Field(default=0, ge=0, le=100_000_000)


MAX_NODES = 1_000_000  # named nodes in one block group


class BlockGroupIn(Strict):
    name: str = Field(min_length=1, max_length=MAX_NAME, pattern=NAME)
    count: int = Field(default=1, gt=0, le=100_000)
    racks: int = Field(default=1, gt=0, le=10_000)
    nodes_per_rack: int = Field(gt=0, le=10_000)
    node: NodeIn
    # The nodes' own names (a workload manager's), one per node, blocks then racks then nodes in order.
    node_names: list[Annotated[str, Field(min_length=1, max_length=MAX_NAME, pattern=NAME)]] = Field(
        default_factory=list, max_length=MAX_NODES
    )
    rack_pdu_kw: Decimal | None = Field(default=None, gt=0, le=10_000)  # each rack's PDU rating

    @property
    def gpus(self) -> int:
        return self.count * self.racks * self.nodes_per_rack * self.node.gpus


class HallIn(Strict):
    name: str = Field(min_length=1, max_length=MAX_NAME, pattern=NAME)
    mw: Decimal = Field(gt=0, le=100_000)  # IT power
    blocks: list[Annotated[str, Field(min_length=1, max_length=MAX_NAME)]] = Field(min_length=1, max_length=1_000)


class SiteIn(Strict):
    name: str = Field(min_length=1, max_length=MAX_NAME, pattern=NAME)
    location: str = Field("", max_length=MAX_TEXT, pattern=r"^[^\x00-\x1f\x7f]*$")
    power_mw: Decimal | None = Field(default=None, gt=0)
    pue: Decimal = Field(default=Decimal("1.25"), ge=1)
    pue_by_month: dict[Annotated[int, Field(ge=1, le=12)], Annotated[Decimal, Field(ge=1, le=10)]] = Field(
        default_factory=dict
    )
    halls: list[HallIn] = Field(default_factory=list, max_length=100)
    oversubscription: Decimal = Field(default=Decimal(1), ge=1, le=3)  # power sold over the tree's limits
    ramp_mw_per_s: Decimal | None = Field(default=None, gt=0, le=MAX_RAMP_MW_PER_S)  # the draw's fastest rise
    fall_mw_per_s: Decimal | None = Field(default=None, gt=0, le=MAX_RAMP_MW_PER_S)  # and fall (power floors)
    usd_per_mwh: Decimal = Field(default=Decimal("80"), ge=0)
    pool_by_block: bool = False
    blocks: list[BlockGroupIn] = Field(min_length=1, max_length=1_000)

    @model_validator(mode="after")
    def _not_too_large(self) -> SiteIn:
        if sum(b.gpus for b in self.blocks) > MAX_GPUS:
            raise ValueError(f"a site of more than {MAX_GPUS:,} GPUs is not one")
        return self

    def to_core(self) -> Site:
        return Site(
            name=self.name,
            location=self.location,
            power_mw=self.power_mw,
            pue=self.pue,
            usd_per_mwh=self.usd_per_mwh,
            pool_by_block=self.pool_by_block,
            blocks=tuple(
                BlockGroup(
                    b.name,
                    b.count,
                    b.racks,
                    b.nodes_per_rack,
                    NodeSpec(**b.node.model_dump()),
                    tuple(b.node_names),
                    b.rack_pdu_kw,
                )
                for b in self.blocks
            ),
            halls=tuple(Hall(h.name, h.mw, tuple(h.blocks)) for h in self.halls),
            pue_by_month=tuple(sorted(self.pue_by_month.items())),
            oversubscription=self.oversubscription,
            ramp_mw_per_s=self.ramp_mw_per_s,
            fall_mw_per_s=self.fall_mw_per_s,
        )


class FleetIn(Strict):
    sites: list[SiteIn] = Field(min_length=1)


def load_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidSpec(f"{source}:{where}: malformed YAML: {problem}", file=source) from None


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def validated(model: type[M], data: Any, source: str, prefix: tuple[int | str, ...] = ()) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"path": _path(prefix + tuple(e["loc"])), "expected": e["msg"], "got": repr(e.get("input"))[:80]}
            for e in exc.errors()
        ]
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InvalidSpec(
            f"{source}: {first['path']}: {first['expected']} (got {first['got']}){more}",
            file=source,
            errors=errors,
        ) from None


def parse_catalog(text: str, source: str, base: Catalog | None = None) -> Catalog:
    """A catalog from YAML; with `base`, the document adds models to it or overrides their fields."""
    doc = validated(CatalogIn, load_yaml(text, source), source)
    models = []
    for i, item in enumerate(doc.gpu_models):
        name = item.get("name") if isinstance(item, dict) else None
        if base is not None and isinstance(name, str) and name in list(base):
            # An override names only what it changes: validate it merged onto the model it overrides.
            item = {**asdict(base[name]), **item}
        models.append(validated(GpuModelIn, item, source, ("gpu_models", i)).to_core())
    return (base or Catalog(())).merged(models)


def default_catalog() -> Catalog:
    text = resources.files("neocloud.core").joinpath("data/catalog.yaml").read_text()
    return parse_catalog(text, "neocloud:catalog.yaml")


def load_catalog(override: Path | None = None) -> Catalog:
    """The packaged catalog, with a user's YAML of added or overridden models on top."""
    catalog = default_catalog()
    if override is None:
        return catalog
    return parse_catalog(read_text(override), str(override), base=catalog)


def parse_fleet(text: str, source: str, catalog: Catalog) -> list[Site]:
    fleet = validated(FleetIn, load_yaml(text, source), source)
    sites = []
    for i, site_in in enumerate(fleet.sites):
        site = site_in.to_core()
        try:
            validate_site(site, catalog)
        except NeocloudError as exc:
            exc.message = f"{source}: sites[{i}]: {exc.message}"
            exc.args = (exc.message,)
            exc.details["file"] = source
            raise
        sites.append(site)
    names = [s.name for s in sites]
    if len(set(names)) != len(names):
        raise InvalidSpec(f"{source}: site names must be unique, got {names}", file=source)
    return sites


def load_fleet(path_or_name: str, catalog: Catalog) -> list[Site]:
    """A fleet from a YAML file, or a packaged one by name (e.g. "colossus-1")."""
    packaged = resources.files("neocloud").joinpath(f"fleets/{path_or_name}.yaml")
    if packaged.is_file():
        return parse_fleet(packaged.read_text(), f"neocloud:{path_or_name}.yaml", catalog)
    return parse_fleet(read_text(Path(path_or_name)), path_or_name, catalog)


def read_text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise InvalidSpec(f"{path}: cannot read: {exc.strerror}", file=str(path)) from None
