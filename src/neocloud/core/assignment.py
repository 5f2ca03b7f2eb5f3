"""Which nodes a reservation gets: whole NVLink domains, grouped as tightly as the fabric allows.

A reserved or internal contract whose GPUs are a whole number of its pool's assignment units (a node of 8
H100, an NVL72 rack of 72 GB200) gets its own units for its term. The units are chosen to touch as few
fabric blocks as possible, and within a block as few racks, leaving the largest free groups whole for the
next large contract: the fullest blocks are taken whole, and the remainder goes to the block that holds it
most tightly (best fit); racks within a block likewise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol


class Placed(Protocol):
    """A node as the assignment needs it: its place in the fabric."""

    @property
    def name(self) -> str: ...
    @property
    def block(self) -> str: ...
    @property
    def rack(self) -> str: ...
    @property
    def nvlink_domain(self) -> str: ...
    @property
    def gpus(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Unit:
    """One NVLink domain: what is assigned whole (one node, or every node of an NVL72 rack)."""

    name: str
    block: str
    rack: str
    nodes: tuple[str, ...]
    gpus: int


def units_of(nodes: Iterable[Placed]) -> list[Unit]:
    """The nodes grouped into their NVLink domains, by name."""
    grouped: dict[str, list[Placed]] = defaultdict(list)
    for node in nodes:
        grouped[node.nvlink_domain].append(node)
    return [
        Unit(name, members[0].block, members[0].rack, tuple(n.name for n in members), sum(n.gpus for n in members))
        for name, members in sorted(grouped.items())
    ]


def units_needed(gpus: int, unit_gpus: int) -> int | None:
    """How many units hold exactly `gpus`; None when they are not a whole number of units (such a
    reservation is honoured on the pool's shared nodes instead)."""
    return gpus // unit_gpus if gpus > 0 and gpus % unit_gpus == 0 else None


def choose(free: Sequence[Unit], count: int) -> list[Unit] | None:
    """`count` of the `free` units, aligned to the fabric (see the module's docstring); None if too few."""
    if count > len(free):
        return None
    chosen: list[Unit] = []
    for block in _fewest_groups(free, count, lambda u: u.block):
        chosen += _within(block, count - len(chosen))
    return chosen


def _within(block: list[Unit], count: int) -> list[Unit]:
    chosen: list[Unit] = []
    for rack in _fewest_groups(block, min(count, len(block)), lambda u: u.rack):
        chosen += rack[: count - len(chosen)]
    return chosen


def _fewest_groups(units: Sequence[Unit], count: int, key: Callable[[Unit], str]) -> list[list[Unit]]:
    """Groups of units (by `key`) holding at least `count` units, as few as possible: the largest taken
    whole while the rest do not fit in one, then the smallest group that holds the rest."""
    groups: dict[str, list[Unit]] = defaultdict(list)
    for unit in units:
        groups[key(unit)].append(unit)
    left = sorted(groups.values(), key=lambda g: (-len(g), key(g[0])))
    taken: list[list[Unit]] = []
    need = count
    while need > 0:
        fitting = [g for g in left if len(g) >= need]
        group = min(fitting, key=lambda g: (len(g), key(g[0]))) if fitting else left[0]
        left.remove(group)
        taken.append(group)
        need -= len(group)
    return taken


@dataclass(frozen=True, slots=True)
class Assignment:
    """Node `node` is contract `contract_id`'s from `since` (inclusive) until `until` (exclusive; None: for as
    long as the contract holds it). `down_since`: the node failed then, and is not replaced yet."""

    contract_id: str
    pool: str
    node: str
    since: int
    until: int | None = None
    down_since: int | None = None
