"""The scheduling engine and simulator on small cases whose answers are worked out by hand in comments."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.adapters.traces.jobs import read_muri, read_philly, read_philly_vcs, synthetic
from neocloud.core.engine.cluster import Cluster, NodeSpec
from neocloud.core.engine.config import EngineConfig
from neocloud.core.engine.ordering import ORDERINGS
from neocloud.core.engine.placement import PLACEMENTS, best_fit, topology_aware
from neocloud.core.engine.pooled import PooledCluster
from neocloud.core.engine.tiresias import Tiresias
from neocloud.core.errors import InvalidInput, InvalidSpec
from neocloud.core.workload import Job, PriorityClass
from neocloud.sim.simulator import simulate


def jct(jobs: list[Job], gpus: int, ordering: str, nodes: int = 1, **kw: object) -> dict[str, int]:
    """Per-job completion time (finish - submit) of a run, by job id."""
    result = simulate(jobs, Cluster.uniform(nodes, gpus), EngineConfig(ordering, **kw))  # type: ignore[arg-type]
    assert result.finished == len(jobs)
    return {t: int(s.avg_jct) for t, s in result.per_tenant.items()}


def one_each(*jobs: Job) -> list[Job]:
    """Give each job its own tenant named after it, so per-tenant stats read per job."""
    from dataclasses import replace

    return [replace(j, tenant=j.id) for j in jobs]


BASIC = one_each(Job("a", 0, 100, 4), Job("b", 0, 10, 4), Job("c", 5, 20, 2))


def test_fifo_runs_in_arrival_order() -> None:
    # a 0-100, b 100-110, c 110-130 (c waits behind b even though 2 GPUs would be free... none are: b uses 4)
    assert jct(BASIC, 4, "fifo") == {"a": 100, "b": 110, "c": 125}


def test_sjf_and_srtf_run_the_short_ones_first() -> None:
    # b 0-10, then c (20 s) 10-30 beside nothing (a needs all 4), then a 30-130.
    assert jct(BASIC, 4, "sjf") == {"a": 130, "b": 10, "c": 25}
    assert jct(BASIC, 4, "srtf") == {"a": 130, "b": 10, "c": 25}


def test_srsf_weighs_remaining_time_by_gpus() -> None:
    jobs = one_each(Job("x", 0, 100, 1), Job("y", 0, 60, 4))
    # SRTF: y (60 s) first, x after: 60 and 160. SRSF: x's 100 GPU-s beat y's 240: x 0-100, y 100-160.
    assert jct(jobs, 4, "srtf") == {"x": 160, "y": 60}
    assert jct(jobs, 4, "srsf") == {"x": 100, "y": 160}


def test_srtf_preempts_and_charges_the_restart_overhead() -> None:
    jobs = one_each(Job("a", 0, 100, 4, restart_overhead=5), Job("b", 50, 10, 4))
    result = simulate(jobs, Cluster.uniform(1, 4), EngineConfig("srtf"))
    # At 50 b (10 s) beats a (50 s left): a stops, owing 50 + 5 s; b 50-60; a 60-115.
    assert {t: int(s.avg_jct) for t, s in result.per_tenant.items()} == {"a": 115, "b": 10}
    assert result.preemptions == 1


def test_tiresias_demotes_after_3250_gpu_seconds() -> None:
    jobs = one_each(Job("a", 0, 2000, 4), Job("b", 100, 100, 4))
    # a gets 4 GPU-s per second: it reaches 3,250 at t = 812.5, so at 813 it drops to the second queue and
    # b (still in the first) takes over: b 813-913, a resumes 913 with 1,187 s left, ends at 2,100.
    assert jct(jobs, 4, "tiresias") == {"a": 2100, "b": 813}


def test_easy_backfills_without_delaying_the_head() -> None:
    jobs = one_each(Job("a", 0, 100, 2), Job("b", 1, 10, 4), Job("c", 2, 50, 2))
    # b waits for a (shadow time 100). c ends at 52 < 100, so EASY starts it at once; FIFO makes it wait for b.
    assert jct(jobs, 4, "fifo") == {"a": 100, "b": 109, "c": 158}
    assert jct(jobs, 4, "easy") == {"a": 100, "b": 109, "c": 50}


def test_fair_share_serves_the_tenant_using_least() -> None:
    jobs = [
        Job("j1", 0, 100, 2, tenant="t1"),
        Job("j2", 0, 100, 2, tenant="t1"),
        Job("j3", 1, 100, 2, tenant="t1"),
        Job("k1", 1, 100, 2, tenant="t2"),
    ]
    # 6 GPUs: j1 and j2 run; at t=1 two GPUs are left for j3 or k1. FIFO breaks the tie by id (j3);
    # fair share gives them to t2, which uses nothing.
    fifo = simulate(jobs, Cluster.uniform(1, 6), EngineConfig("fifo"))
    fair = simulate(jobs, Cluster.uniform(1, 6), EngineConfig("fair"))
    assert fifo.per_tenant["t2"].avg_queueing == 99
    assert fair.per_tenant["t2"].avg_queueing == 0


def test_spot_work_yields_to_everyone_else() -> None:
    jobs = one_each(
        Job("s", 0, 100, 4, priority=PriorityClass.SPOT), Job("r", 10, 10, 4, priority=PriorityClass.RESERVED)
    )
    result = simulate(jobs, Cluster.uniform(1, 4), EngineConfig("fifo"))
    # r arrives to a full cluster: s is preempted at 10, r runs 10-20, s resumes and ends at 110.
    assert {t: int(s.avg_jct) for t, s in result.per_tenant.items()} == {"r": 10, "s": 110}
    assert result.preemptions == 1


def test_quotas_cap_a_tenant() -> None:
    jobs = [Job("a", 0, 10, 2, tenant="t"), Job("b", 0, 10, 2, tenant="t")]
    capped = simulate(jobs, Cluster.uniform(1, 4), EngineConfig("fifo", quotas={"t": 2}))
    assert capped.makespan == 20
    assert simulate(jobs, Cluster.uniform(1, 4), EngineConfig("fifo")).makespan == 10


def test_jobs_that_can_never_fit_do_not_block_the_queue() -> None:
    jobs = [Job("huge", 0, 10, 8, tasks=4), Job("ok", 1, 10, 4)]
    result = simulate(jobs, Cluster.uniform(2, 8), EngineConfig("fifo"))
    assert (result.finished, result.unfinished) == (1, 1)


def test_best_fit_picks_the_fullest_node_and_consolidates_gangs() -> None:
    cluster = Cluster.uniform(3, 8)
    cluster.take(((0, 6), (1, 2)))  # free: node0 2, node1 6, node2 8
    rng = random.Random(0)
    assert best_fit(cluster, Job("a", 0, 1, 2), rng) == ((0, 2),)
    assert best_fit(cluster, Job("b", 0, 1, 4), rng) == ((1, 4),)
    # 16 GPUs need two nodes; only one is whole, so a consolidated gang waits rather than spread over three.
    assert best_fit(cluster, Job("c", 0, 1, 1, tasks=16), rng) is None
    assert best_fit(cluster, Job("d", 0, 1, 1, tasks=14), rng) == ((1, 6), (2, 8))


def test_topology_placement_fills_a_domain_then_a_block() -> None:
    # Two NVL72-like racks of 4 nodes x 4 GPUs (16 GPUs per domain) in two blocks; one rack is half used.
    nodes = [NodeSpec(f"r{r}n{n}", 4, "gb", domain=f"rack{r}", block=f"b{r}") for r in range(2) for n in range(4)]
    cluster = Cluster(nodes)
    cluster.take(((0, 4), (1, 4)))
    rng = random.Random(0)
    # 8 GPUs fit in rack0's free half (best-fitting domain), not in the empty rack1.
    assert topology_aware(cluster, Job("a", 0, 1, 4, tasks=2), rng) == ((2, 4), (3, 4))
    # 12 GPUs fit only in rack1.
    assert {n for n, _ in topology_aware(cluster, Job("b", 0, 1, 4, tasks=3), rng) or ()} <= {4, 5, 6, 7}


jobs_st = st.lists(
    st.builds(
        lambda i, s, d, g, t: Job(f"j{i}", s, d, g, t),
        st.integers(0, 10_000),
        st.integers(0, 50),
        st.integers(1, 40),
        st.sampled_from([1, 2, 4, 8]),
        st.integers(1, 3),
    ),
    max_size=25,
    unique_by=lambda j: j.id,
)


@settings(max_examples=40, deadline=None)
@given(jobs_st, st.sampled_from(list(ORDERINGS)), st.sampled_from(list(PLACEMENTS)), st.integers(0, 3))
def test_placements_never_exceed_nodes_and_gangs_are_whole(
    jobs: list[Job], ordering: str, placement: str, seed: int
) -> None:
    cluster = Cluster.uniform(4, 8)
    original = cluster.take

    def checked_take(allocation: tuple[tuple[int, int], ...]) -> None:
        assert all(0 < g <= cluster.free[n] for n, g in allocation)
        original(allocation)

    cluster.take = checked_take  # type: ignore[method-assign]
    result = simulate(jobs, cluster, EngineConfig(ordering, placement, seed))
    assert result.finished + result.unfinished == len(jobs)
    assert cluster.free_milli == cluster.total_milli  # everything released at the end
    assert 0 <= result.utilization <= 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["take", "release", "withhold"]), st.integers(0, 5), st.integers(1, 8))))
def test_stranded_capacity_kept_as_it_changes_equals_a_count_from_scratch(
    steps: list[tuple[str, int, int]],
) -> None:
    # Mixed node sizes (8, 4 and 2 GPUs): a node with fewer GPUs than the largest is partly usable even when idle.
    cluster = Cluster([NodeSpec(f"n{i}", (8, 4, 2)[i % 3], "a" if i < 3 else "b") for i in range(6)])
    held: list[tuple[tuple[int, int], ...]] = []
    for action, node, gpus in steps:
        if action == "take" and gpus <= cluster.free[node]:
            held.append(((node, gpus),))
            cluster.take(held[-1])
        elif action == "release" and held:
            cluster.release(held.pop(node % len(held)))
        elif action == "withhold":
            cluster.withhold(node)
        in_service = [i for i in range(6) if i not in cluster.withheld]
        expected = sum(cluster.free[i] for i in in_service if 0 < cluster.free[i] < cluster.max_gpus)
        assert cluster.stranded_milli() == 1000 * expected


def test_every_placement_gives_gangs_whole_tasks() -> None:
    rng = random.Random(1)
    for name, place in PLACEMENTS.items():
        cluster = Cluster.uniform(4, 8)
        cluster.take(((0, 5), (1, 3)))
        allocation = place(cluster, Job("g", 0, 1, 2, tasks=5), rng)
        assert allocation is not None, name
        assert sum(g for _, g in allocation) == 10
        assert all(g % 2 == 0 and g <= cluster.free[n] for n, g in allocation), name


def test_same_seed_same_bytes() -> None:
    jobs = synthetic(300, seed=3, gpus=64, load=1.2, mean_duration=600)
    runs = [
        json.dumps(simulate(jobs, Cluster.uniform(8, 8), EngineConfig("srtf", "random", 7)).to_dict(timeline=True))
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


def test_unknown_policies_are_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown ordering policy 'lifo'"):
        simulate([], Cluster.uniform(1, 8), EngineConfig("lifo"))
    with pytest.raises(InvalidInput, match="unknown placement policy"):
        simulate([], Cluster.uniform(1, 8), EngineConfig("fifo", "everywhere"))


def test_every_ordering_is_registered_and_documented() -> None:
    assert set(ORDERINGS) == {
        "fifo",
        "fifo-greedy",
        "sjf",
        "srtf",
        "srsf",
        "tiresias",
        "muri-s",
        "muri-l",
        "fair",
        "easy",
    }
    assert all(o.doc for o in ORDERINGS.values())
    assert all(name == o.name for name, o in ORDERINGS.items())
    assert all(fn.__doc__ for fn in PLACEMENTS.values())


def test_real_traces_read(traces: Path) -> None:
    muri = traces / "muri-sigcomm22" / "trace-data"
    assert len(read_muri(muri / "trace1.csv").jobs) == 1494
    assert len(read_muri(muri / "trace2.csv").jobs) == 5755
    tiresias = read_muri(traces / "tiresias-nsdi19" / "60_job.csv", millis=False).jobs
    assert (len(tiresias), tiresias[0].duration) == (60, 164)
    from datetime import UTC, datetime

    philly = read_philly(
        traces / "pollux-osdi21" / "traces" / "philly.csv",
        since=datetime(2017, 10, 1, tzinfo=UTC),
        until=datetime(2017, 12, 1, tzinfo=UTC),
    )
    assert len(philly.jobs) == 68_510
    assert sum(read_philly_vcs(traces / "helios-sc21" / "philly_vc.csv").values()) == 352


def test_bad_trace_rows_name_the_line_or_are_counted(tmp_path: Path) -> None:
    bad = tmp_path / "trace.csv"
    bad.write_text("job_id,num_gpu,submit_time,duration\n1,2,0,5000\n2,two,0,5000\n3,1,1000\n4,1,2000,3000\n")
    with pytest.raises(InvalidSpec, match=r"trace.csv:3: column 'num_gpu' is not a number: 'two'"):
        read_muri(bad)
    read = read_muri(bad, skip_bad_rows=True)
    assert [j.id for j in read.jobs] == ["j1", "j4"]  # ids as wide as the widest, zero-padded
    assert [line for line, _ in read.skipped] == [3, 4]
    bad.write_text("job,gpus\n")
    with pytest.raises(InvalidSpec, match="missing columns"):
        read_muri(bad)


def test_gavel_traces_take_durations_from_measured_throughputs(traces: Path, tmp_path: Path) -> None:
    import math

    from neocloud.adapters.traces.jobs import read_gavel

    table = traces / "gavel-osdi20" / "simulation_throughputs.json"
    assert len(read_gavel(traces / "gavel-osdi20" / "traces" / "msr" / "seed=0" / "6214e9.trace", table).jobs) == 2000
    v100 = json.loads(table.read_text())["v100"]
    one = v100["('Transformer (batch size 128)', 1)"]["null"]
    bad = tmp_path / "x.trace"
    bad.write_text(
        "Transformer (batch size 128)\tcmd\t-step\t1\t1000\t5.0\t1\n"
        "Transformer (batch size 128)\tcmd\t-step\t1\t1000\t6.0\t16\n"
        "Nope\tcmd\t-step\t1\t10\t0.0\t1\n"
    )
    with pytest.raises(InvalidSpec, match=r"x.trace:3: no v100 throughput for 'Nope'"):
        read_gavel(bad, table)
    kept = read_gavel(bad, table, skip_bad_rows=True)
    assert (kept.jobs[0].submit, kept.jobs[0].duration) == (5, math.ceil(1000 / one))
    # 16 GPUs: the 8-GPU throughput (or the largest measured below it) scaled linearly.
    measured = next(m for m in (8, 4, 2, 1) if f"('Transformer (batch size 128)', {m})" in v100)
    rate16 = v100[f"('Transformer (batch size 128)', {measured})"]["null"] * 16 / measured
    assert (kept.jobs[1].gpus, kept.jobs[1].duration) == (16, math.ceil(1000 / rate16))
    assert kept.skipped[0][0] == 3


def test_reservations_keep_their_capacity_from_on_demand_work_and_lend_it_to_spot() -> None:
    # 8 GPUs, tenant a holds 4: on-demand work (b) may use only the 4 nobody holds; a's idle 4 go to spot.
    jobs = [
        Job("b1", 0, 10, 4, tenant="b1", priority=PriorityClass.ON_DEMAND),
        Job("b2", 0, 10, 2, tenant="b2", priority=PriorityClass.ON_DEMAND),
        Job("s", 0, 100, 4, tenant="s", priority=PriorityClass.SPOT),
        Job("a", 5, 10, 4, tenant="a", priority=PriorityClass.RESERVED),
    ]
    held = simulate(jobs, Cluster.uniform(1, 8), EngineConfig("sjf", entitlements={"a": 4}))
    # 0: b1 takes the unheld 4; b2 would go beyond them and waits; s runs on a's idle 4. 5: a reclaims them
    # (s preempted), 5-15. 10: b1 ends, b2 10-20. 15: s restarts with 95 s left and ends at 110.
    assert {t: int(s.avg_jct) for t, s in held.per_tenant.items()} == {"b1": 10, "b2": 20, "s": 110, "a": 10}
    # Without holds b2 starts at 0 beside b1; s waits for room and a for nothing it is owed.
    free = simulate(jobs, Cluster.uniform(1, 8), EngineConfig("sjf"))
    assert {t: int(s.avg_jct) for t, s in free.per_tenant.items()}["b2"] == 10


def test_work_beyond_a_tenants_holds_counts_as_on_demand() -> None:
    # 8 GPUs; a and h hold 2 each, 4 are nobody's. a runs 3: 1 beyond its holds, in the unheld 4.
    jobs = [
        Job("a", 0, 10, 3, tenant="a", priority=PriorityClass.RESERVED),
        Job("b", 0, 10, 3, tenant="b", priority=PriorityClass.ON_DEMAND),
        Job("c", 0, 10, 1, tenant="c", priority=PriorityClass.ON_DEMAND),
    ]
    result = simulate(jobs, Cluster.uniform(1, 8), EngineConfig("sjf", entitlements={"a": 2, "h": 2}))
    # b's 3 take the rest of the unheld 4; c waits although 2 GPUs are free: they are h's, idle but held.
    assert {t: int(s.avg_jct) for t, s in result.per_tenant.items()} == {"a": 10, "b": 10, "c": 20}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.builds(
            lambda i, g, t, spot, est: Job(
                f"w{i}", 0, 50, g, t, priority=PriorityClass.SPOT if spot else PriorityClass.INTERNAL, estimate=est
            ),
            st.integers(0, 10_000),
            st.sampled_from([1, 2, 4, 8]),
            st.integers(1, 3),
            st.booleans(),
            st.integers(1, 100),
        ),
        max_size=40,
        unique_by=lambda j: j.id,
    ),
    st.lists(st.integers(0, 8), min_size=4, max_size=4),
    st.sampled_from(["fifo", "fifo-greedy", "sjf", "easy"]),
    st.integers(0, 3),
)
def test_a_decision_over_a_shape_queue_equals_one_over_the_sorted_list(
    jobs: list[Job], used: list[int], ordering: str, running_count: int
) -> None:
    """The shape index only passes over jobs whose shape found no room: the same jobs start, in the same order,
    on the same nodes, whether the waiting jobs come as a ShapeQueue or as a sorted list."""
    from neocloud.core.engine.state import JobState
    from neocloud.core.engine.waiting import ShapeQueue

    def decided(as_shapes: bool) -> list[tuple[str, object]]:
        cluster = Cluster.uniform(4, 8)
        states = [JobState.of(j) for j in jobs]
        running = []
        for s in states[:running_count]:  # some (spot ones among them) already run
            allocation = best_fit(cluster, s.job, random.Random(0))
            if allocation is not None:
                cluster.take(allocation)
                s.start(0, allocation)
                running.append(s)
        for node, gpus in enumerate(used):  # and other work holds some GPUs
            if min(gpus, cluster.free[node]):
                cluster.take(((node, min(gpus, cluster.free[node])),))
        scheduler = EngineConfig(ordering).scheduler(cluster, jobs)
        waiting = [s for s in states if not s.running]
        usage: dict[str, int] = {}
        for s in waiting:
            s.queue_key = scheduler.sort_key(s, 0, usage)
        waiting.sort(key=lambda s: s.queue_key)
        queue: list[JobState] | ShapeQueue = waiting
        if as_shapes:
            queue = ShapeQueue()
            for s in waiting:
                queue.add(s)
        spot = sum(s.job.milli for s in running if s.spot)
        decisions = scheduler.decide(1, cluster, queue, running, defaultdict(int), spot)
        return [("stop", s.job.id) for s in decisions.preempt] + [(s.job.id, a) for s, a in decisions.start]

    assert decided(True) == decided(False)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.builds(
            lambda i, g, t, d, tenant, spot: Job(
                f"p{i}",
                0,
                d,
                g,
                t,
                tenant=f"t{tenant}",
                priority=PriorityClass.SPOT if spot else PriorityClass.INTERNAL,
            ),
            st.integers(0, 10_000),
            st.sampled_from([1, 2, 4, 8]),
            st.integers(1, 3),
            st.integers(1, 500),
            st.integers(0, 2),
            st.booleans(),
        ),
        max_size=40,
        unique_by=lambda j: j.id,
    ),
    st.sampled_from(["srtf", "srsf"]),
    st.integers(0, 12),
    st.one_of(st.none(), st.dictionaries(st.sampled_from(["t0", "t1", "t2"]), st.integers(0, 24))),
)
def test_a_preemptive_walk_in_order_equals_ranking_everyone_afresh(
    jobs: list[Job], ordering: str, running_count: int, quotas: dict[str, int] | None
) -> None:
    """SRTF and SRSF keep waiting jobs in a shape queue (a waiting job's key stands still) and rank only the running
    ones: each decision preempts and starts the same jobs, on the same nodes, as ranking every job afresh."""
    from dataclasses import replace

    from neocloud.core.engine.scheduler import Scheduler
    from neocloud.core.engine.state import JobState
    from neocloud.core.engine.waiting import ShapeQueue

    def decided(in_order: bool) -> list[tuple[str, object]]:
        cluster = Cluster.uniform(4, 8)
        states = [JobState.of(j) for j in jobs]
        running = []
        for s in states[:running_count]:
            allocation = best_fit(cluster, s.job, random.Random(0))
            if allocation is not None:
                cluster.take(allocation)
                s.start(0, allocation)
                running.append(s)
        scheduler: Scheduler[Cluster] = EngineConfig(ordering, quotas=quotas).scheduler(cluster, jobs)
        usage: dict[str, int] = defaultdict(int)
        for s in running:
            usage[s.job.tenant] += s.job.milli
        waiting = [s for s in states if not s.running]
        spot = sum(s.job.milli for s in running if s.spot)
        if in_order:
            queue = ShapeQueue()
            for s in waiting:
                s.queue_key = scheduler.sort_key(s, 0, usage)
                queue.add(s)
            decisions = scheduler.decide(100, cluster, queue, running, usage, spot)
        else:
            afresh = replace(scheduler, ordering=replace(scheduler.ordering, static=False))
            decisions = afresh.decide(100, cluster, waiting, running, usage, spot)
        return [("stop", s.job.id) for s in decisions.preempt] + [(s.job.id, a) for s, a in decisions.start]

    assert decided(True) == decided(False)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.builds(
            lambda i, g, d, spot, pinned, submit: Job(
                f"r{i}",
                submit,
                d,
                g,
                priority=PriorityClass.SPOT if spot else PriorityClass.INTERNAL,
                preemptible=not pinned,
            ),
            st.integers(0, 10_000),
            st.sampled_from([1, 1, 2, 4, 8]),
            st.integers(1, 500),
            st.booleans(),
            st.sampled_from([False, False, False, True]),
            st.integers(0, 50),
        ),
        max_size=60,
        unique_by=lambda j: j.id,
    ),
    st.sampled_from(["srtf", "srsf"]),
    st.integers(0, 60),
    st.sampled_from([1, 2, 5]),
    st.booleans(),
)
def test_a_preemptive_decision_from_the_worst_running_jobs_equals_walking_them_all(
    jobs: list[Job], ordering: str, running_count: int, tail: int, on_nodes: bool
) -> None:
    """SRTF and SRSF keep running jobs in rank order (RunningLine) and read them from the worst end, a few at a
    time (here 1, 2 or 5 before growing fourfold): each decision preempts and starts the same jobs, on the same
    nodes and in the same order, as walking every running job."""
    from neocloud.core.engine import scheduler as engine
    from neocloud.core.engine.pooled import PooledCluster
    from neocloud.core.engine.running import RunningLine
    from neocloud.core.engine.state import JobState
    from neocloud.core.engine.waiting import ShapeQueue

    def decided(in_line: bool) -> list[tuple[str, object]]:
        cluster = Cluster.uniform(4, 8) if on_nodes else PooledCluster(32)
        config = EngineConfig(ordering, "bestfit" if on_nodes else "pooled")
        scheduler = config.scheduler(cluster, jobs)
        states = [JobState.of(j) for j in jobs]
        line = RunningLine(scheduler.ordering.running if in_line else None)
        usage: dict[str, int] = defaultdict(int)
        for s in states[:running_count]:  # started at their submit times, some long before others
            allocation = scheduler.placement(cluster, s.job, random.Random(0))
            if allocation is not None:
                cluster.take(allocation)
                s.start(s.job.submit, allocation)
                line.add(s, s.job.submit)
                usage[s.job.tenant] += s.job.milli
        queue = scheduler.waiting_line()
        assert isinstance(queue, ShapeQueue)
        for s in states:
            if not s.running:
                queue.add(s, 60, usage)
        spot = sum(s.job.milli for s in line if s.spot)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(engine, "TAIL", tail)
            decisions = scheduler.decide(60, cluster, queue, line, usage, spot)
        return [("stop", s.job.id) for s in decisions.preempt] + [(s.job.id, a) for s, a in decisions.start]

    assert decided(True) == decided(False)


def _replay_runs(jobs: list[Job], ordering: str, cluster: object, afresh: bool, **config: object) -> list[object]:
    """Every run of a replay (job, start, end, preempted), with the waiting jobs in the ordering's lines or, when
    `afresh`, in a list the engine ranks at each decision."""
    from neocloud.core.engine import ordering as orderings
    from neocloud.core.engine import scheduler as engine

    runs: list[object] = []
    with pytest.MonkeyPatch.context() as patch:
        if afresh:
            kept = replace(orderings.ORDERINGS[ordering], lines=None, running=None)
            patch.setitem(orderings.ORDERINGS, ordering, kept)
            patch.setattr("neocloud.core.engine.config.tiresias_ordering", _afresh(orderings.tiresias_ordering))
        else:
            patch.setattr(engine, "TAIL", 2)  # read running jobs two at a time, growing fourfold
        simulate(
            jobs,
            cluster,  # type: ignore[arg-type]
            EngineConfig(ordering, "pooled" if isinstance(cluster, PooledCluster) else "bestfit", **config),  # type: ignore[arg-type]
            on_run=lambda job, start, end, preempted: runs.append((job.id, start, end, preempted)),
        )
    return runs


def _afresh(make: object) -> object:
    return lambda policy: replace(make(policy), lines=None, running=None)  # type: ignore[operator]


_replay_jobs = st.lists(
    st.builds(
        lambda i, submit, d, g, tenant, spot: Job(
            f"j{i}", submit, d, g, tenant=f"t{tenant}", priority=PriorityClass.SPOT if spot else PriorityClass.INTERNAL
        ),
        st.integers(0, 10_000),
        st.integers(0, 2_000),
        st.integers(1, 4_000),
        st.sampled_from([1, 1, 2, 4, 8]),
        st.integers(0, 2),
        st.booleans(),
    ),
    max_size=40,
    unique_by=lambda j: j.id,
)


@settings(max_examples=80, deadline=None)
@given(
    _replay_jobs,
    st.sampled_from(["tiresias", "fair", "srtf", "srsf"]),
    st.booleans(),
    st.one_of(st.none(), st.dictionaries(st.sampled_from(["t0", "t1", "t2"]), st.integers(0, 12))),
    st.sampled_from([(3250,), (100, 2000), (50, 400, 6000)]),
    st.sampled_from([0.0, 0.0, 0.5, 1.0, 3.0]),
)
def test_replays_with_jobs_kept_in_line_equal_ranking_every_job_afresh(
    jobs: list[Job],
    ordering: str,
    on_nodes: bool,
    quotas: dict[str, int] | None,
    queues: tuple[int, ...],
    starvation: float,
) -> None:
    """Tiresias keeps its waiting jobs in lines between decisions, fair share one line per tenant, SRTF, SRSF and
    Tiresias their running jobs in rank order; a whole replay runs the same jobs at the same times either way
    (spot work taken back, quotas, nodes and a pool, Tiresias's promotion on and off), as ranking every job
    afresh at each decision does."""
    config = {"quotas": quotas, "tiresias": Tiresias(queues, starvation)}
    cluster = (lambda: Cluster.uniform(2, 8)) if on_nodes else (lambda: PooledCluster(12))
    in_lines = _replay_runs(jobs, ordering, cluster(), False, **config)
    assert in_lines == _replay_runs(jobs, ordering, cluster(), True, **config)
    if quotas is None:  # (a quota below a job's GPUs keeps it waiting for ever)
        assert {run[0] for run in in_lines if not run[3]} == {j.id for j in jobs}  # every job finishes
