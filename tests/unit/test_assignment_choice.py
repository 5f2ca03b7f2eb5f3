"""Which units a reservation gets: as few blocks as possible, whole racks where the size allows, the
tightest fit for the remainder, and nothing when too few units are free."""

from __future__ import annotations

from neocloud.core.assignment import Unit, choose, units_needed


def units(layout: dict[str, dict[str, int]]) -> list[Unit]:
    """Free 8-GPU units: {block: {rack: how many free}}."""
    return [
        Unit(f"{rack}-n{k}", block, rack, (f"{rack}-n{k}",), 8)
        for block, racks in layout.items()
        for rack, free in racks.items()
        for k in range(free)
    ]


def where(chosen: list[Unit] | None) -> dict[str, int]:
    assert chosen is not None
    counts: dict[str, int] = {}
    for u in chosen:
        counts[u.rack] = counts.get(u.rack, 0) + 1
    return counts


FREE = {
    "A": {"A-r0": 8, "A-r1": 8, "A-r2": 3},  # 19 free
    "B": {"B-r0": 5, "B-r1": 2},  # 7 free
    "C": {"C-r0": 8, "C-r1": 4},  # 12 free
}


def test_one_block_when_one_holds_it_the_tightest_one() -> None:
    assert where(choose(units(FREE), 6)) == {"B-r0": 5, "B-r1": 1}  # B (7) fits 6 more tightly than C or A
    assert where(choose(units(FREE), 8)) == {"C-r0": 8}  # C's whole rack, not B's 7 nor A's
    assert where(choose(units(FREE), 12)) == {"C-r0": 8, "C-r1": 4}
    assert where(choose(units(FREE), 16)) == {"A-r0": 8, "A-r1": 8}  # only A holds 16: its two whole racks


def test_several_blocks_the_fullest_whole_then_the_tightest_for_the_rest() -> None:
    chosen = choose(units(FREE), 24)
    assert where(chosen) == {"A-r0": 8, "A-r1": 8, "A-r2": 3, "B-r0": 5}  # A whole (19) + 5 of B (7)
    assert len({u.block for u in chosen or []}) == 2
    assert len(choose(units(FREE), 38) or []) == 38  # every free unit


def test_too_few_free_units_is_none() -> None:
    assert choose(units(FREE), 39) is None
    assert choose([], 1) is None
    assert choose([], 0) == []


def test_only_whole_units_are_assigned() -> None:
    assert units_needed(16, 8) == 2
    assert units_needed(72, 72) == 1
    assert units_needed(12, 8) is None  # honoured on the shared nodes
    assert units_needed(0, 8) is None
