"""Power in the capacity ledger: holds draw their GPUs at their cap, and no node of the power tree (a site's
feed, a hall) ever carries more than its limit, by hand and against a brute-force model."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from neocloud.adapters.specs import default_catalog, parse_fleet
from neocloud.core.errors import InvalidInput, InvalidSpec, Overbooked, PowerOverbooked
from neocloud.core.ledger import Hold, HoldKind, Ledger
from neocloud.core.power import PowerBook, power_book

H = 3_600
SMALL = """
sites:
  - name: s
    power_mw: 0.2
    pue: 1.25
    blocks:
      - {name: h, count: 1, racks: 2, nodes_per_rack: 8, node: {gpu_model: h100-sxm, gpus: 8}}
"""  # 128 H100; the feed carries 0.2 MW / 1.25 = 160 kW of IT power


def ledger_of(fleet: str) -> Ledger:
    catalog = default_catalog()
    sites = parse_fleet(fleet, "fleet.yaml", catalog)
    book = power_book(sites, catalog)
    return Ledger({p.name: p.gpus for s in sites for p in s.pools()}, power=book)


def reserved(hid: str, gpus: int, start: int = 0, end: int = 10 * H, cap_w: int | None = None) -> Hold:
    return Hold(hid, "s/h100-sxm", gpus, start, end, HoldKind.RESERVED, cap_w=cap_w)


def test_a_feed_holds_the_gpus_that_fit_at_their_cap_by_hand() -> None:
    ledger = ledger_of(SMALL)
    assert ledger.power_limit("s") == 160_000_000  # IT milliwatts
    # At 700 W an H100 and its host share draw (0.7 + 0.575) x 1.1 = 1.4025 kW: 114 fit in 160 kW (114.08).
    ledger.book(reserved("a", 100))
    with pytest.raises(PowerOverbooked, match=r"s: 15 GPUs at their TDP draw 21.0 kW .* by up to 1.3 kW") as refused:
        ledger.book(reserved("b", 15))
    assert refused.value.code == "power_overbooked"
    assert refused.value.details["excess_kw"] == "1.2875"  # 115 x 1.4025 = 161.2875 kW
    assert isinstance(refused.value, Overbooked)  # a refusal like the GPU ledger's
    assert ledger.free("s/h100-sxm", 0, 10 * H) == 28  # nothing of the refusal was written
    ledger.book(reserved("b", 14))
    assert ledger.power_free("s", 0, 10 * H) == 160_000_000 - 114 * 1_402_500
    # Capped to 500 W a GPU draws (0.5 + 0.575) x 1.1 = 1.1825 kW: what is left, 0.115 kW, holds none.
    with pytest.raises(PowerOverbooked):
        ledger.book(reserved("c", 1, cap_w=500))
    ledger.cancel("b")
    ledger.book(reserved("c", 14, cap_w=500))  # 14 x 1.1825 = 16.555 kW of the 19.75 kW left
    assert ledger.power_free("s", 0, 10 * H) == 160_000_000 - 100 * 1_402_500 - 14 * 1_182_500
    # After the holds end, the whole feed is free; before, what they draw, step by step.
    assert ledger.power_free("s", 10 * H, 11 * H) == 160_000_000
    assert ledger.power_profile("s", 0, 12 * H) == [
        (0, 10 * H, 100 * 1_402_500 + 14 * 1_182_500),
        (10 * H, 12 * H, 0),
    ]


def test_maintenance_and_spares_draw_nothing_and_caps_are_checked() -> None:
    ledger = ledger_of(SMALL)
    ledger.book(reserved("a", 114))
    ledger.book(Hold("m", "s/h100-sxm", 8, 0, H, HoldKind.MAINTENANCE))  # off: no power
    ledger.book(Hold("sp", "s/h100-sxm", 6, 0, H, HoldKind.SPARE))
    with pytest.raises(InvalidInput, match="can be capped to 200-700 W, not 150 W"):
        ledger.book(reserved("low", 1, 20 * H, 21 * H, cap_w=150))
    assert not ledger.has("low")


def test_extending_into_power_that_is_taken_is_refused_and_changes_nothing() -> None:
    ledger = ledger_of(SMALL)
    ledger.book(reserved("a", 100, 0, 10 * H))
    ledger.book(reserved("later", 28, 20 * H, 30 * H))  # 39.27 kW from hour 20
    with pytest.raises(PowerOverbooked, match="first at"):
        ledger.extend("a", end=21 * H)  # 179.52 kW in hour 20, though its 128 GPUs are free
    assert ledger.hold("a").end == 10 * H
    assert ledger.power_profile("s", 0, 30 * H)[0] == (0, 10 * H, 140_250_000)
    ledger.extend("a", end=20 * H)
    ledger.shrink("a", gpus=10)
    assert ledger.power_free("s", 0, 20 * H) == 160_000_000 - 10 * 1_402_500
    # 90 GPUs at TDP for 6 hours from hour 15 fit 100 GPUs and 140.25 kW until hour 20, then with the later
    # hold 165.5 kW: they start when it ends. Capped to 500 W (145.7 kW with it) they start at once.
    assert ledger.earliest_start("s/h100-sxm", 90, 6 * H, 15 * H) == 30 * H
    assert ledger.earliest_start("s/h100-sxm", 90, 6 * H, 15 * H, cap_w=500) == 15 * H
    with pytest.raises(PowerOverbooked, match="can never fit"):
        ledger.earliest_start("s/h100-sxm", 120, H, 0)  # 168.3 kW: more than the feed


TWO_HALLS = """
sites:
  - name: s
    power_mw: 0.085
    pue: 1.25
    oversubscription: 1.1
    halls: [{name: a, mw: 0.03, blocks: [h]}, {name: b, mw: 0.04, blocks: [g]}]
    blocks:
      - {name: h, count: 1, racks: 1, nodes_per_rack: 4, node: {gpu_model: h100-sxm, gpus: 8}}
      - {name: g, count: 1, racks: 1, nodes_per_rack: 4, node: {gpu_model: h200-sxm, gpus: 8}}
"""  # 32 H100 in hall a, 32 H200 in hall b; sold 10 % over every limit


def test_every_node_of_the_tree_and_the_oversubscription_policy() -> None:
    ledger = ledger_of(TWO_HALLS)
    assert ledger.power_nodes("s/h100-sxm") == ("s", "s/a")
    # Feed: 0.085 MW x 1.1 / 1.25 = 74.8 kW of IT; hall a: 33 kW; hall b: 44 kW.
    assert (ledger.power_limit("s"), ledger.power_limit("s/a"), ledger.power_limit("s/b")) == (
        74_800_000, 33_000_000, 44_000_000,
    )  # fmt: skip
    ledger.book(reserved("a", 23))  # 32.2575 kW of hall a's 33
    with pytest.raises(PowerOverbooked, match=r"^s/a: 1 GPUs"):
        ledger.book(reserved("a2", 1))
    # An H200 draws as an H100 (DGX H200: 10.2 kW for 8): 31 of them, 43.4775 kW, fit hall b's 44 kW, but
    # with hall a's 32.2575 kW the feed would carry 75.735 kW of its 74.8.
    with pytest.raises(PowerOverbooked, match=r"^s: 31 GPUs"):
        ledger.book(Hold("g", "s/h200-sxm", 31, 0, 10 * H, HoldKind.INTERNAL))
    ledger.book(Hold("g", "s/h200-sxm", 30, 0, 10 * H, HoldKind.INTERNAL))
    assert ledger.power_free("s", 0, 10 * H) == 74_800_000 - 53 * 1_402_500
    assert ledger.power_free("s/b", 0, 10 * H) == 44_000_000 - 30 * 1_402_500
    # Without the policy (oversubscription 1), 23 H100 do not fit hall a's 30 kW.
    strict = ledger_of(TWO_HALLS.replace("    oversubscription: 1.1\n", ""))
    with pytest.raises(PowerOverbooked, match=r"^s/a: 23 GPUs"):
        strict.book(reserved("a", 23))


def test_halls_must_feed_whole_pools() -> None:
    split = TWO_HALLS.replace("gpu_model: h200-sxm", "gpu_model: h100-sxm")
    with pytest.raises(InvalidSpec, match="pool s/h100-sxm is fed by a, b: a hall must feed whole pools"):
        ledger_of(split)
    assert ledger_of(split.replace("    pue: 1.25\n", "    pue: 1.25\n    pool_by_block: true\n")).power_nodes(
        "s/h100-sxm/h-000"
    ) == ("s", "s/a")


# Random books, cancels, extends and shrinks against a brute-force model of every node's draw.

HORIZON = 60
CAPS = st.sampled_from([None, 200, 450, 700])
POOLS = ("s/h100-sxm", "s/h200-sxm")


def drawn(book: PowerBook, holds: list[Hold], node: str, t: int) -> int:
    return sum(book.draw(h) for h in holds if node in book.nodes_of(h.pool) and h.start <= t < h.end)


def gpus_used(holds: list[Hold], pool: str, t: int) -> int:
    return sum(h.gpus for h in holds if h.pool == pool and h.start <= t < h.end)


class PowerLedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ledger = ledger_of(TWO_HALLS)
        assert self.ledger.power is not None
        self.book_ = self.ledger.power
        self.model: dict[str, Hold] = {}
        self.next_id = 0

    def _fits(self, candidate: Hold, without: str | None = None) -> bool:
        others = [h for k, h in self.model.items() if k != without]
        after = [*others, candidate]
        for t in range(candidate.start, candidate.end):
            if gpus_used(after, candidate.pool, t) > 32:
                return False
            if any(drawn(self.book_, after, n, t) > lim for n, lim in self.book_.limits.items()):
                return False
        return True

    def _try(self, candidate: Hold, change: object, without: str | None = None) -> None:
        before = sorted(self.ledger.holds(), key=lambda h: h.id)
        if self._fits(candidate, without):
            assert change() == candidate  # type: ignore[operator]
            self.model[candidate.id] = candidate
        else:
            with pytest.raises(Overbooked):
                change()  # type: ignore[operator]
            assert sorted(self.ledger.holds(), key=lambda h: h.id) == before

    @rule(
        pool=st.sampled_from(POOLS),
        gpus=st.integers(1, 20),
        start=st.integers(0, HORIZON - 1),
        length=st.integers(1, 30),
        cap=CAPS,
        kind=st.sampled_from([HoldKind.RESERVED, HoldKind.INTERNAL, HoldKind.MAINTENANCE]),
    )
    def book(self, pool: str, gpus: int, start: int, length: int, cap: int | None, kind: HoldKind) -> None:
        self.next_id += 1
        h = Hold(f"h{self.next_id}", pool, gpus, start, start + length, kind, cap_w=cap)
        self._try(h, lambda: self.ledger.book(h))

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        hid = data.draw(st.sampled_from(sorted(self.model)))
        assert self.ledger.cancel(hid) == self.model.pop(hid)

    @precondition(lambda self: self.model)
    @rule(data=st.data(), more_time=st.integers(0, 20), more_gpus=st.integers(0, 8))
    def extend(self, data: st.DataObject, more_time: int, more_gpus: int) -> None:
        hid = data.draw(st.sampled_from(sorted(self.model)))
        old = self.model[hid]
        new = Hold(hid, old.pool, old.gpus + more_gpus, old.start, old.end + more_time, old.kind, cap_w=old.cap_w)
        self._try(new, lambda: self.ledger.extend(hid, end=new.end, gpus=new.gpus), without=hid)

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def shrink(self, data: st.DataObject) -> None:
        hid = data.draw(st.sampled_from(sorted(self.model)))
        old = self.model[hid]
        end, gpus = data.draw(st.integers(old.start + 1, old.end)), data.draw(st.integers(1, old.gpus))
        self.model[hid] = self.ledger.shrink(hid, end=end, gpus=gpus)

    @invariant()
    def every_node_within_its_limit_and_as_the_model_says(self) -> None:
        holds = list(self.model.values())
        for node, limit in self.book_.limits.items():
            for t in range(0, HORIZON + 50, 2):
                assert drawn(self.book_, holds, node, t) <= limit
                assert self.ledger.power_free(node, t, t + 1) == limit - drawn(self.book_, holds, node, t)

    @invariant()
    def a_copy_and_a_reload_agree(self) -> None:
        reloaded = ledger_of(TWO_HALLS)
        reloaded.restore(self.ledger.holds())
        for ledger in (self.ledger.copy(), reloaded):
            for node in self.book_.limits:
                assert ledger.power_profile(node, 0, HORIZON + 60) == self.ledger.power_profile(node, 0, HORIZON + 60)


TestPowerLedgerMachine = PowerLedgerMachine.TestCase
TestPowerLedgerMachine.settings = settings(max_examples=50, stateful_step_count=20, deadline=None)
