"""The engine's rule under a power budget (core/engine/budget.py), shared by the simulator and the live engine:
running work stops in contract order while a node above it is over its limit, and the headroom left is shared
among the free GPUs below; by hand, then for random trees against a brute-force check."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from neocloud.core.engine.budget import Cap, Draw, Feed, Ramp, dark_nodes, fit

D = Decimal
# Pool a in the hall (2 kW a GPU), pool b straight off the feed (1 kW a GPU).
FEEDS = {"a": Feed(("feed", "hall"), D(2)), "b": Feed(("feed",), D(1))}
RUNNING = [
    Draw("sa", "a", 8, D(16), "spot", started=10),
    Draw("sb", "b", 20, D(20), "spot", started=20),
    Draw("oa", "a", 16, D(32), "on-demand", started=5),
    Draw("rb", "b", 40, D(40), "reserved", started=0),
]


def test_spot_stops_first_the_last_started_first_and_the_headroom_is_shared_by_hand() -> None:
    # The feed carries 108 kW against 100; the hall 48 against 60. The spot job started last (sb, 20 kW)
    # stops, and that is enough: 88 kW on the feed. 12 kW of headroom are left for 46 kW of free GPUs (a's 8
    # at 2 kW, b's 10 and the 20 sb freed at 1 kW): a keeps floor(8 x 12/46) = 2, b floor(30 x 12/46) = 7.
    found = fit({"feed": D(100), "hall": D(60)}, FEEDS, {"a": 8, "b": 10}, RUNNING)
    assert found.stop == ("sb",)
    assert dict(found.powered) == {"a": 2, "b": 7}
    assert found.over_kw == {}
    # 88 + 2 x 2 + 7 x 1 = 99 kW on the feed, 48 + 4 = 52 on the hall.


def test_a_tight_hall_stops_the_work_under_it_only() -> None:
    # Hall at 40 kW: after sb (which eased the feed only), the hall is still over at 48: sa stops (a's spot
    # work), and on-demand work under it runs on. Nothing is left for free GPUs in the hall beyond 8 kW.
    found = fit({"feed": D(100), "hall": D(40)}, FEEDS, {"a": 8, "b": 10}, RUNNING)
    assert found.stop == ("sb", "sa")
    # a: 16 free GPUs (32 kW) for 8 kW of hall headroom: 4. b: 30 free for the feed's 28 kW left, less a's
    # claim on it (the feed's share is 28 / (32 + 30)): floor(30 x 28/62) = 13.
    assert dict(found.powered) == {"a": 4, "b": 13}


def test_work_that_may_not_stop_is_what_stays_over() -> None:
    pinned = [*RUNNING[:3], Draw("rb", "b", 40, D(40), "reserved", started=0, preemptible=False)]
    found = fit({"feed": D(30), "hall": D(60)}, FEEDS, {"a": 0, "b": 0}, pinned)
    assert found.stop == ("sb", "sa", "oa")  # spot, latest first; then on-demand
    assert found.over_kw == {"feed": D(10)}
    assert dict(found.powered) == {"a": 0, "b": 0}


CAPPABLE = [  # the same work, but for the reservation its GPUs may be capped from 700 W to 200 W (1.1 W each)
    Draw("sa", "a", 8, D(16), "spot", started=10, cap=Cap(700, 200, D("0.0088"))),
    Draw("sb", "b", 20, D(20), "spot", started=20, cap=Cap(700, 200, D("0.022"))),
    Draw("oa", "a", 16, D(32), "on-demand", started=5, cap=Cap(700, 200, D("0.0176"))),
    Draw("rb", "b", 40, D(40), "reserved", started=0),
]


def test_work_is_capped_before_it_is_stopped_by_hand() -> None:
    # 8 kW over the feed: the spot job started last (sb, 22 W a watt) is capped by ceil(8 / 0.022) = 364 W, to
    # 336 W, saving 8.008 kW; nothing stops, and the 0.008 kW left powers no free GPU.
    found = fit({"feed": D(100), "hall": D(60)}, FEEDS, {"a": 8, "b": 10}, CAPPABLE)
    assert (found.stop, dict(found.caps), dict(found.powered)) == ((), {"sb": 336}, {"a": 0, "b": 0})
    # 28 kW over: both spot jobs capped to 200 W save 11 + 4.4 kW; 12.6 kW still over, so spot work stops, the
    # last started first: sb (9 kW left) and then sa (11.6 kW). On-demand work is untouched; 72 kW drawn.
    found = fit({"feed": D(80), "hall": D(60)}, FEEDS, {"a": 8, "b": 10}, CAPPABLE)
    assert (found.stop, dict(found.caps)) == (("sb", "sa"), {})
    assert found.over_kw == {}


def test_pools_under_no_node_keep_every_free_gpu() -> None:
    found = fit({}, {"x": Feed((), D(1))}, {"x": 64}, [Draw("j", "x", 8, D(8), "spot", 0)])
    assert (found.stop, dict(found.powered)) == ((), {"x": 64})


def test_nodes_go_dark_most_free_first_and_a_reservations_own_last() -> None:
    assert dark_nodes([8, 3, 8, 0, 5], 6) == [0, 2, 4]  # 24 free: 16, 8, 3 left
    assert dark_nodes([8, 3, 8, 0, 5], 6, kept={0}) == [2, 4, 1, 0]  # the others are not enough
    assert dark_nodes([8, 3, 8, 0, 5], 24) == []


@st.composite
def trees(draw: st.DrawFn) -> tuple[dict[str, Decimal], dict[str, Feed], dict[str, int], list[Draw]]:
    limits = {
        "feed": D(draw(st.integers(0, 400))),
        "h1": D(draw(st.integers(0, 200))),
        "h2": D(draw(st.integers(0, 200))),
    }
    feeds = {
        "p": Feed(("feed", "h1"), D(draw(st.sampled_from(["1", "1.4025", "2.5"])))),
        "q": Feed(("feed", "h2"), D(draw(st.sampled_from(["1", "0.7"])))),
        "r": Feed(("feed",), D(3)),
    }
    running = []
    for i in range(draw(st.integers(0, 12))):
        pool = draw(st.sampled_from(sorted(feeds)))
        gpus = draw(st.integers(1, 16))
        kind = draw(st.sampled_from(["spot", "on-demand", "internal", "reserved"]))
        cap = Cap(700, 200, gpus * D("0.0011")) if draw(st.booleans()) else None  # 500 W to give: 0.55 kW a GPU
        running.append(Draw(f"j{i}", pool, gpus, gpus * feeds[pool].kw_per_gpu, kind, draw(st.integers(0, 5)),
                            draw(st.booleans()), cap))  # fmt: skip
    free = {pool: draw(st.integers(0, 64)) for pool in feeds}
    return limits, feeds, free, running


@given(trees())
def test_what_runs_and_what_stays_powered_fit_every_node(
    tree: tuple[dict[str, Decimal], dict[str, Feed], dict[str, int], list[Draw]],
) -> None:
    limits, feeds, free, running = tree
    found = fit(limits, feeds, free, running)
    stopped = set(found.stop)
    assert len(stopped) == len(found.stop)
    assert all(d.preemptible for d in running if d.key in stopped)
    kept = [d for d in running if d.key not in stopped]
    for key, watts in found.caps.items():  # capped within its range, and never also stopped
        capped = next(d for d in kept if d.key == key)
        assert capped.cap is not None
        assert capped.cap.min_w <= watts < capped.cap.cap_w

    def now_kw(d: Draw) -> Decimal:
        return d.kw if d.cap is None else d.kw - (d.cap.cap_w - found.caps.get(d.key, d.cap.cap_w)) * d.cap.kw_per_watt

    for node, limit in limits.items():
        drawn = sum((now_kw(d) for d in kept if node in feeds[d.pool].nodes), D(0))
        over = found.over_kw.get(node, D(0))
        assert drawn - limit == over if over else drawn <= limit
        powered = sum((found.powered[p] * f.kw_per_gpu for p, f in feeds.items() if node in f.nodes), D(0))
        assert drawn + powered <= max(limit, drawn)  # free GPUs only where there is headroom
    for pool, gpus in found.powered.items():  # never more powered than free (the freed GPUs included)
        assert 0 <= gpus <= free[pool] + sum(d.gpus for d in running if d.pool == pool and d.key in stopped)
    # Whatever stopped was needed: keeping the last one stopped would leave a node over (or it was
    # stopped while some node above it was over, so that stopping less in that order would not do).
    if found.stop and not found.caps:
        last = next(d for d in running if d.key == found.stop[-1])
        back = [*kept, last]
        assert any(
            sum((d.kw for d in back if node in feeds[d.pool].nodes), D(0)) > limits[node]
            for node in feeds[last.pool].nodes
        )


@given(
    st.lists(st.tuples(st.integers(1, 30), st.integers(-80, 80)), max_size=40),  # an instant's change, netted
    st.sampled_from([None, Decimal(2), Decimal("0.5")]),
    st.sampled_from([Decimal(1), Decimal(7)]),
)
def test_the_draw_never_falls_faster_than_the_rate_and_starts_take_the_floors_first(
    steps: list[tuple[int, int]], rise: Decimal | None, fall: Decimal
) -> None:
    """Random instants of work starting and stopping (net kW, never below nothing running): what runs plus
    what the floors hold never falls faster than the rate, never exceeds the most that ran since the floors
    last emptied, and a rise is only what the floors could not cover. Rebuilt from the same changes, the
    ramp is the same."""
    ramp, now, running, total = Ramp(rise, fall), 0, Decimal(0), Decimal(0)
    changes = []
    for gap, kw in steps:
        now += gap
        change = max(Decimal(kw), -running)
        held, done_at = ramp.floor(now), ramp.done_at
        ramp.change(now, change)
        changes.append((now, change))
        running += change
        after = running + ramp.floor(now)
        assert ramp.floor_kw >= 0
        assert after >= total - gap * fall  # the fall limit
        assert after <= max(total, running)  # the floors hold no more than ran
        if change > 0 and rise is not None:  # only what the floors could not cover rises
            risen = max(Decimal(0), change - held)
            assert ramp.done_at == (done_at if not risen else max(done_at, Decimal(now)) + risen / rise)
        total = after
    rebuilt = Ramp.of(rise, changes, fall)
    assert (rebuilt.floor(now), rebuilt.done_at) == (ramp.floor(now), ramp.done_at)
