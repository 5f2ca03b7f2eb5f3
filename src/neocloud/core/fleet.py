"""The fleet: sites with a power budget, fabric blocks, racks (NVLink domains) and nodes.

A site is described compactly as groups of identical blocks ("293 arrays of 8 racks of 8 nodes of 8 H100");
`nodes()` expands the topology when something needs individual nodes. Capacity is sold from pools: GPUs of
one model at one site, optionally split per fabric block.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from neocloud.core.bounds import MAX_RAMP_MW_PER_S
from neocloud.core.catalog import Catalog
from neocloud.core.errors import InvalidSpec, PowerBudgetExceeded
from neocloud.core.timeutil import DAY, civil_from_days


@dataclass(frozen=True, slots=True)
class NodeSpec:
    gpu_model: str
    gpus: int
    cpus: int
    memory_gib: int


@dataclass(frozen=True, slots=True)
class BlockGroup:
    """`count` identical fabric blocks, each of `racks` racks of `nodes_per_rack` nodes. `node_names`: the
    nodes' own names (as a workload manager knows them), one per node in the order `Site.nodes` lists them;
    empty: names made from the topology (`<block>-r<rack>-n<node>`)."""

    name: str
    count: int
    racks: int
    nodes_per_rack: int
    node: NodeSpec
    node_names: tuple[str, ...] = ()
    rack_pdu_kw: Decimal | None = None  # each rack's PDU rating; None: not given

    @property
    def gpus(self) -> int:
        return self.count * self.racks * self.nodes_per_rack * self.node.gpus

    @property
    def rack_gpus(self) -> int:
        return self.nodes_per_rack * self.node.gpus

    @property
    def nodes(self) -> int:
        return self.count * self.racks * self.nodes_per_rack

    def block_names(self) -> list[str]:
        return [block_name(self.name, i) for i in range(self.count)]


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    site: str
    block: str
    rack: str
    gpu_model: str
    gpus: int
    cpus: int
    memory_gib: int


@dataclass(frozen=True, slots=True)
class Pool:
    name: str
    site: str
    gpu_model: str
    block: str | None
    gpus: int


@dataclass(frozen=True, slots=True)
class Hall:
    """Block groups fed together (a hall, a substation's share): their IT power may not exceed `mw`."""

    name: str
    mw: Decimal
    blocks: tuple[str, ...]  # block group names


@dataclass(frozen=True, slots=True)
class Site:
    name: str
    location: str
    power_mw: Decimal | None  # facility power budget; None when the inventory does not say
    pue: Decimal
    usd_per_mwh: Decimal
    blocks: tuple[BlockGroup, ...]
    pool_by_block: bool = False
    halls: tuple[Hall, ...] = ()
    pue_by_month: tuple[tuple[int, Decimal], ...] = ()  # (month of the year, PUE) where it differs from `pue`
    # How far contracts may draw beyond each limit of the power tree at their caps (1: not at all): the
    # operator's explicit policy of selling more than the feed; what runs is held to the feed (docs/power.md).
    oversubscription: Decimal = Decimal(1)
    # The fastest its draw may rise, facility MW per second (a utility's ramp-rate limit); None: no limit.
    ramp_mw_per_s: Decimal | None = None
    # The fastest its draw may fall, facility MW per second: the GPUs' power floors hold what work stops
    # drawing and bring it down at this rate (core/engine/budget.Ramp); None: no limit.
    fall_mw_per_s: Decimal | None = None

    def pue_in(self, month_of_year: int) -> Decimal:
        return dict(self.pue_by_month).get(month_of_year, self.pue)

    def pue_at(self, t: int) -> Decimal:
        """The PUE of the month `t` (Unix seconds, UTC) falls in."""
        return self.pue_in(civil_from_days(t // DAY)[1])

    @property
    def worst_pue(self) -> tuple[Decimal, int | None]:
        """The highest PUE of the year and its month (None: the same all year)."""
        worst = max(self.pue_by_month, key=lambda mp: (mp[1], -mp[0]), default=None)
        return (worst[1], worst[0]) if worst and worst[1] > self.pue else (self.pue, None)

    @property
    def gpus(self) -> int:
        return sum(group.gpus for group in self.blocks)

    def gpus_by_model(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for group in self.blocks:
            counts[group.node.gpu_model] += group.gpus
        return dict(sorted(counts.items()))

    def it_power_kw(self, catalog: Catalog) -> Decimal:
        return sum((catalog[g.node.gpu_model].it_kw_per_gpu * g.gpus for g in self.blocks), start=Decimal(0))

    def facility_power_mw(self, catalog: Catalog) -> Decimal:
        """IT power x PUE, in MW: what the site draws from its budget."""
        return self.it_power_kw(catalog) * self.pue / 1000

    def pools(self) -> list[Pool]:
        counts: Counter[tuple[str, str | None]] = Counter()
        for group in self.blocks:
            per_block = group.gpus // group.count
            for block in group.block_names() if self.pool_by_block else [None]:
                counts[(group.node.gpu_model, block)] += per_block if block else group.gpus
        return [
            Pool(pool_name(self.name, model, block), self.name, model, block, gpus)
            for (model, block), gpus in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
        ]

    def pool_groups(self, pool: Pool) -> list[BlockGroup]:
        """The block groups whose GPUs a pool sells."""
        return [
            g for g in self.blocks
            if g.node.gpu_model == pool.gpu_model and (pool.block is None or pool.block in g.block_names())
        ]  # fmt: skip

    def hall_of(self, pool: Pool) -> Hall | None:
        """The hall that feeds a pool (validate_site makes halls hold whole pools), if any."""
        groups = {g.name for g in self.pool_groups(pool)}
        return next((h for h in self.halls if groups & set(h.blocks)), None)

    def pool_of(self, node: Node) -> str:
        """The pool a node's GPUs are sold from."""
        return pool_name(self.name, node.gpu_model, node.block if self.pool_by_block else None)

    def nodes(self) -> Iterator[Node]:
        for group in self.blocks:
            n = group.node
            index = 0
            for block in group.block_names():
                for r in range(group.racks):
                    rack = rack_name(block, r)
                    for k in range(group.nodes_per_rack):
                        name = group.node_names[index] if group.node_names else node_name(rack, k)
                        index += 1
                        yield Node(name, self.name, block, rack, n.gpu_model, n.gpus, n.cpus, n.memory_gib)

    def node(self, name: str) -> Node | None:
        """The node of this name, found from the name (`<group>-<block>-r<rack>-n<node>`, as `nodes` makes
        them) rather than by listing every node; a group's own names are looked up in it."""
        for group in self.blocks:
            if name in group.node_names:
                rack_index, _ = divmod(group.node_names.index(name), group.nodes_per_rack)
                b, rk = divmod(rack_index, group.racks)
                n = group.node
                block = block_name(group.name, b)
                return Node(name, self.name, block, rack_name(block, rk), n.gpu_model, n.gpus, n.cpus, n.memory_gib)
        rack, _, k = name.rpartition("-n")
        block, _, r = rack.rpartition("-r")
        group_name, _, i = block.rpartition("-")
        if not (i.isdigit() and r.isdigit() and k.isdigit()):
            return None
        for group in self.blocks:
            made = node_name(rack_name(block_name(group.name, int(i)), int(r)), int(k))  # as `nodes` writes it
            inside = int(i) < group.count and int(r) < group.racks and int(k) < group.nodes_per_rack
            if group.name == group_name and inside and made == name and not group.node_names:
                n = group.node
                return Node(name, self.name, block, rack, n.gpu_model, n.gpus, n.cpus, n.memory_gib)
        return None


# Names of a fleet's parts, made from its spec: blocks `<group>-000`, racks `<block>-r00`, nodes `<rack>-n00`.
def block_name(group: str, i: int) -> str:
    return f"{group}-{i:03d}"


def rack_name(block: str, r: int) -> str:
    return f"{block}-r{r:02d}"


def node_name(rack: str, k: int) -> str:
    return f"{rack}-n{k:02d}"


def pool_name(site: str, gpu_model: str, block: str | None = None) -> str:
    return f"{site}/{gpu_model}" + (f"/{block}" if block else "")


def validate_site(site: Site, catalog: Catalog) -> None:
    """Check a site against the catalog: known models, whole NVLink domains, and its power budget."""
    names = Counter(group.name for group in site.blocks)
    for name, seen in names.items():
        if seen > 1:
            raise InvalidSpec(f"site {site.name}: block group {name!r} appears {seen} times", site=site.name)
    for group in site.blocks:
        model = catalog[group.node.gpu_model]
        for field in ("count", "racks", "nodes_per_rack"):
            if getattr(group, field) <= 0:
                raise InvalidSpec(
                    f"site {site.name}, block group {group.name}: {field} must be positive",
                    site=site.name,
                    block=group.name,
                    field=field,
                )
        if group.node.gpus <= 0 or group.node.cpus < 0 or group.node.memory_gib < 0:
            raise InvalidSpec(
                f"site {site.name}, block group {group.name}: node needs gpus > 0, cpus and memory >= 0",
                site=site.name,
                block=group.name,
            )
        if group.node_names and len(group.node_names) != group.nodes:
            raise InvalidSpec(
                f"site {site.name}, block group {group.name}: {len(group.node_names)} node names for"
                f" {group.nodes} nodes",
                site=site.name,
                block=group.name,
            )
        rack_gpus = group.nodes_per_rack * group.node.gpus
        # Rack-scale domains (NVL72) span nodes: a rack must hold whole domains.
        if model.nvlink_domain > model.gpus_per_node and rack_gpus % model.nvlink_domain:
            raise InvalidSpec(
                f"site {site.name}, block group {group.name}: a rack of {rack_gpus} {model.name} is not a whole"
                f" number of {model.nvlink_domain}-GPU NVLink domains",
                site=site.name,
                block=group.name,
            )
    _validate_power_tree(site)
    if any(group.node_names for group in site.blocks):  # given names may clash with each other or made ones
        named = Counter(n.name for n in site.nodes())
        if twice := sorted(n for n, seen in named.items() if seen > 1):
            raise InvalidSpec(f"site {site.name}: node names used twice: {', '.join(twice[:5])}", site=site.name)
    if site.power_mw is not None:
        demand = site.facility_power_mw(catalog)
        if demand > site.power_mw:
            raise PowerBudgetExceeded(
                f"site {site.name} needs {demand:.1f} MW (IT {site.it_power_kw(catalog) / 1000:.1f} MW x PUE"
                f" {site.pue}) but its budget is {site.power_mw} MW",
                site=site.name,
                budget_mw=str(site.power_mw),
                demand_mw=f"{demand:.3f}",
            )


def _validate_power_tree(site: Site) -> None:
    """Halls name block groups of the site, each in one hall at most; ratings and PUEs are sensible."""

    def refuse(message: str) -> InvalidSpec:
        return InvalidSpec(f"site {site.name}: {message}", site=site.name)

    groups = {g.name for g in site.blocks}
    fed: dict[str, str] = {}
    if len({h.name for h in site.halls}) != len(site.halls):
        raise refuse("hall names must be unique")
    for hall in site.halls:
        if not hall.mw > 0:
            raise refuse(f"hall {hall.name}: its MW must be positive")
        for block in hall.blocks:
            if block not in groups:
                raise refuse(f"hall {hall.name}: no block group {block!r}")
            if block in fed:
                raise refuse(f"block group {block} is in halls {fed[block]} and {hall.name}")
            fed[block] = hall.name
    for group in site.blocks:
        if group.rack_pdu_kw is not None and not group.rack_pdu_kw > 0:
            raise refuse(f"block group {group.name}: a rack PDU's kW must be positive")
    for pool in site.pools() if site.halls else ():  # the ledger keeps a hall's power only over whole pools
        halls = {fed.get(g.name) for g in site.pool_groups(pool)}
        if len(halls) > 1:
            named = ", ".join(sorted(h or "no hall" for h in halls))
            raise refuse(
                f"pool {pool.name} is fed by {named}: a hall must feed whole pools (put a GPU model's block groups"
                " in one hall, or sell by block with pool_by_block)"
            )
    if not 1 <= site.oversubscription <= 3:
        raise refuse("oversubscription is from 1 (none) to 3")
    for name, rate in (("ramp_mw_per_s", site.ramp_mw_per_s), ("fall_mw_per_s", site.fall_mw_per_s)):
        if rate is not None and not 0 < rate <= MAX_RAMP_MW_PER_S:
            raise refuse(f"{name} is above 0 and at most {MAX_RAMP_MW_PER_S:,}")
    months = [m for m, _ in site.pue_by_month]
    if len(set(months)) != len(months) or any(not 1 <= m <= 12 for m in months):
        raise refuse("pue_by_month names months 1-12, each once")
    if any(p < 1 for _, p in site.pue_by_month):
        raise refuse("a PUE is at least 1")
