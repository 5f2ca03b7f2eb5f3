"""GPU models: power, memory, speed, NVLink domain and prices."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

from neocloud.core.errors import UnknownGpuModel, quoted


@dataclass(frozen=True, slots=True)
class GpuModel:
    name: str
    vendor: str
    tdp_w: int
    mem_gb: int
    nvlink_domain: int  # GPUs that share one scale-up (NVLink or equivalent) domain
    gpus_per_node: int
    it_kw_per_gpu: Decimal  # IT power per GPU at typical load, host share included
    bf16_tflops: Decimal | None = None
    list_price_usd: Decimal | None = None
    on_demand_usd_per_hr: Decimal | None = None
    reserved_1y_usd_per_hr: Decimal | None = None
    spot_usd_per_hr: Decimal | None = None
    floor_usd_per_hr: Decimal | None = None  # least price of an external contract; None: the spot price
    aliases: tuple[str, ...] = ()
    node_kw_max: Decimal | None = None  # a node's most IT power (its GPUs at TDP and its host)
    rack_kw_max: Decimal | None = None  # an NVLink rack's, where one domain spans nodes
    min_cap_w: int | None = None  # the lowest power cap the GPU accepts; None: not published

    @property
    def spans_nodes(self) -> bool:
        """Whether one NVLink domain spans several nodes (NVL72: a rack), not only one node's GPUs."""
        return self.nvlink_domain > self.gpus_per_node


class Catalog(Mapping[str, GpuModel]):
    """GPU models by name; trace aliases (e.g. "A100-SXM4-80GB") resolve to the same model."""

    def __init__(self, models: Iterable[GpuModel]) -> None:
        self._models: dict[str, GpuModel] = {}
        self._aliases: dict[str, str] = {}
        for model in models:
            self._models[model.name] = model
        for model in self._models.values():
            for alias in model.aliases:
                self._aliases[alias] = model.name

    def __getitem__(self, name: str) -> GpuModel:
        resolved = self._aliases.get(name, name)
        try:
            return self._models[resolved]
        except KeyError:
            raise UnknownGpuModel(
                f"unknown GPU model {quoted(name)}; known: {', '.join(sorted(self._models))}",
                gpu_model=name,
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._models or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)

    def merged(self, models: Iterable[GpuModel]) -> Catalog:
        """A new catalog with these models added, replacing any of the same name."""
        by_name = dict(self._models)
        by_name.update((m.name, m) for m in models)
        return Catalog(by_name.values())
