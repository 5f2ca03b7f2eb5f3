"""Interleaving (Muri-S, Muri-L; core/engine/interleave.py) on cases worked out by hand in the comments.

Two kinds of three-stage job (seconds per iteration in stages 0, 1, 2; iteration time 6 s alone):
  A = (4, 1, 1): mostly stage 0;  B = (1, 1, 4): mostly stage 2.
In the four-slot pipeline a step ends when the job in its last stage, the next in its middle stage, and the one
after halfway through its two-step first stage are done; ends[t] for t = 1..8, the cycle is ends[t] - ends[t-4]
once two such periods agree.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.adapters.traces.jobs import read_muri
from neocloud.core.catalog import Catalog
from neocloud.core.engine.cluster import Cluster
from neocloud.core.engine.config import EngineConfig
from neocloud.core.engine.interleave import STRETCH, Ranking, cycle, paces, plan, utilisation
from neocloud.core.engine.pooled import PooledCluster
from neocloud.core.engine.scheduler import Scheduler
from neocloud.core.engine.state import JobState
from neocloud.core.engine.waiting import ShapeQueue
from neocloud.core.errors import InvalidInput, InvalidSpec
from neocloud.core.workload import Job
from neocloud.sim.simulator import simulate


def a(name: str, duration: int = 600, submit: int = 0) -> Job:
    return Job(name, submit, duration, tenant=name, iteration=6.0, stages=(4.0, 1.0, 1.0))


def b(name: str, duration: int = 600, submit: int = 0) -> Job:
    return Job(name, submit, duration, tenant=name, iteration=6.0, stages=(1.0, 1.0, 4.0))


A, B, C = (4.0, 1.0, 1.0), (1.0, 1.0, 4.0), (2.0, 2.0, 2.0)  # stage times: A's, B's, and even ones


def test_a_pair_cycles_in_its_best_order() -> None:
    # Order (A, B): ends 4 (B's stage 2), 4 (A's stage 0 from 0), 5 (A's stage 1 after 4; B's stage 0 after 4),
    # 6 (A's stage 2, B's stage 1), 10 (B's stage 2): 10 - 4 = 6 = 6 - 0, so the cycle is 6.
    # Order (B, A): ends 1, 1, 5, 9, 10: 9 and 9, so 9. Overlapping one's first stage with the other's last two:
    # max(4, 1 + 4) + max(1, 1 + 1) = 7. The best, 6, stretched by the sharing cost of two jobs.
    assert cycle([a("x"), b("y")]) == pytest.approx(6 * 1.33 / 1.015)
    # Two Bs: ends 4, 1, 5, 9, 13: 9; overlapped: max(1, 5) + max(1, 5) = 10. So 9.
    assert cycle([b("y"), b("z")]) == pytest.approx(9 * STRETCH[2])
    assert cycle([a("x")]) == 6.0  # alone: its own iteration time


def test_jobs_of_four_stages_take_one_stage_each_per_slot() -> None:
    x = Job("x", 0, 60, iteration=6.0, stages=(3.0, 1.0, 1.0, 1.0))
    y = Job("y", 0, 60, iteration=6.0, stages=(1.0, 3.0, 1.0, 1.0))
    # Order (x, y): slot i holds x's stage i and y's stage i - 1: max(3,1) + max(1,1) + max(1,3) + max(1,1) = 8;
    # order (y, x): max(1,1) + max(3,3) + max(1,1) + max(1,1) = 6.
    assert cycle([x, y]) == pytest.approx(6 * STRETCH[2])


def test_utilisation_is_busy_stage_time_over_the_cycle_slots() -> None:
    assert utilisation((a("x").stages, b("y").stages)) == pytest.approx(12 / (6 * STRETCH[2] * 4))
    assert utilisation((a("x").stages, Job("n", 0, 60).stages)) == 0.0  # a job without stages never interleaves


def states(*jobs: Job) -> list[JobState]:
    return [JobState.of(j) for j in jobs]


def names(groups: list[tuple[JobState, ...]]) -> list[list[str]]:
    return [sorted(s.job.id for s in g) for g in groups]


def test_complementary_jobs_pair_when_the_gpus_are_short() -> None:
    ranked = states(a("a1"), b("b1"), a("a2"), b("b2"))
    # The first job's share of the 2 GPUs takes candidates for itself and the next three of its shape: all four
    # (4 GPUs needed). Weights: A+A and A+B cycle 6 (12 / (6 x 1.31 x 4) = 0.38 each), B+B 9 (0.25), so the best
    # matching pairs each A with a B (0.76 against 0.64), and both pairs merge: 2 GPUs.
    groups = plan(ranked, 2000)
    assert sorted(names(groups)) in ([["a1", "b1"], ["a2", "b2"]], [["a1", "b2"], ["a2", "b1"]])
    assert [paces(g) for g in groups] == [[pytest.approx(STRETCH[2])] * 2] * 2  # 6 x 1.31 / 6 each


def test_jobs_run_alone_when_the_gpus_suffice() -> None:
    assert names(plan(states(a("a1"), b("b1"), a("a2")), 3000)) == [["a1"], ["b1"], ["a2"]]


def test_a_group_slower_than_its_jobs_in_turn_is_split() -> None:
    x = Job("x", 0, 60, iteration=5.0, stages=(0.0, 0.0, 5.0))
    y = replace(x, id="y")
    # Paired (the only edge): ends 5, 0, 5, 10, 15: cycle 10 (overlapped: 5 + 5), stretched 13.1 > 5 + 5, so
    # the pair is split, and only the better ranked fits the one GPU.
    assert names(plan(states(x, y), 1000)) == [["x"]]


def test_two_jobs_on_one_gpu_finish_together_sooner_than_in_turn() -> None:
    jobs = [a("a"), b("b")]
    # Muri-S: 1 GPU, both need 600 s alone. Paired (cycle 6 x 1.33 / 1.015 = 7.862 s for one iteration of
    # each), each runs at pace 1.3103: 600 s of work in ceil(786.2) = 787 s. Both end at 787 (in turn: 600 and
    # 1,200, average 900).
    result = simulate(jobs, PooledCluster(1), EngineConfig("muri-s", "pooled"))
    assert {t: int(s.avg_jct) for t, s in result.per_tenant.items()} == {"a": 787, "b": 787}
    alone = simulate(jobs, PooledCluster(1), EngineConfig("srsf", "pooled"))
    assert alone.overall.avg_jct == 900


def test_a_group_that_loses_a_job_is_planned_again() -> None:
    jobs = [a("a", duration=300), b("b", duration=600), Job("c", 0, 700, tenant="c")]
    # 2 GPUs. Muri-S ranks a (300 GPU-s left), b (600), c (700): a's share takes a and b (its next three of the
    # same shape; c has no stages but the same shape, so it is a candidate too): 3 GPUs needed. a+b pair (c has
    # no edges), merge: a+b on one GPU at pace 1.3103, c alone on the other. a ends at ceil(300 x 1.3103) = 394;
    # b has done int(394 / 1.3103) = 300 s and, alone now, restarts (no restart cost here): 300 s more, ends
    # at 694. c ends at 700.
    result = simulate(jobs, PooledCluster(2), EngineConfig("muri-s", "pooled"))
    assert {t: int(s.avg_jct) for t, s in result.per_tenant.items()} == {"a": 394, "b": 694, "c": 700}
    assert result.preemptions == 1  # b, when its group changed


def test_muri_l_runs_the_least_served_first() -> None:
    result = simulate([a("x", 100), a("y", 100, submit=50)], PooledCluster(1), EngineConfig("muri-l", "pooled"))
    # x runs alone from 0; at 50 y arrives with no service against x's 50 GPU-s: two As on one GPU (cycle 6,
    # stretched 7.86 < 12) share it from 50: x has 50 s left, done at 50 + ceil(50 x 1.3103) = 116; y then has
    # 100 - int(66 / 1.3103) = 50 left, alone: ends at 166.
    assert {t: int(s.avg_jct) for t, s in result.per_tenant.items()} == {"x": 116, "y": 116}


@pytest.mark.parametrize(
    ("stages", "iteration"),
    [
        ((math.nan, 1.0, 1.0), 3.0),
        ((1.0, math.inf, 1.0), 3.0),
        ((-1.0, 1.0, 1.0), 3.0),
        ((1.0, 1.0), 0.0),
        ((0.0, 0.0, 0.0), 1.0),
        ((1.0,) * 9, 9.0),
    ],
)
def test_bad_stage_times_are_refused(stages: tuple[float, ...], iteration: float) -> None:
    with pytest.raises(InvalidInput, match="stage times"):
        Job("j", 0, 10, iteration=iteration, stages=stages)


def test_the_live_engine_interleaves_only_where_its_executor_can_share_gpus(catalog: Catalog) -> None:
    from neocloud.app.live import LiveEngine, TimedExecutor
    from neocloud.bootstrap import Settings

    assert Settings.from_env({"NEOCLOUD_ENGINE_ORDERING": "muri-s"}).engine.ordering == "muri-s"
    with pytest.raises(InvalidInput, match="muri-l interleaves work on shared GPUs, which the slurm executor"):
        Settings.from_env({"NEOCLOUD_ENGINE_ORDERING": "muri-l", "NEOCLOUD_EXECUTOR": "slurm"})

    class Exclusive(TimedExecutor):
        shares_gpus = False

    LiveEngine(catalog, EngineConfig("muri-s"), TimedExecutor())
    LiveEngine(catalog, EngineConfig("srsf"), Exclusive())
    with pytest.raises(InvalidInput, match="ordering muri-s interleaves work on shared GPUs, which this executor"):
        LiveEngine(catalog, EngineConfig("muri-s"), Exclusive())


KINDS = [(4.0, 1.0, 1.0), (1.0, 1.0, 4.0), (2.0, 2.0, 2.0), (0.0, 0.0, 5.0)]


@given(
    st.lists(
        st.tuples(st.integers(0, 300), st.integers(1, 400), st.sampled_from([1, 2]), st.sampled_from(KINDS)),
        min_size=1,
        max_size=8,
    ),
    st.integers(2, 4),
    st.sampled_from(["muri-s", "muri-l"]),
    st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_every_job_finishes_on_gpus_given_back_once(
    specs: list[tuple[int, int, int, tuple[float, ...]]], gpus: int, ordering: str, nodes: bool
) -> None:
    """Groups form, split and re-form at every arrival and end; whatever they do, each job runs one run at a
    time, every job finishes, and every GPU taken for a group goes back exactly once."""
    jobs = [
        Job(f"j{i}", submit, duration, tasks=n, restart_overhead=3, iteration=sum(kind), stages=kind)
        for i, (submit, duration, n, kind) in enumerate(specs)
    ]
    # A pool, or nodes of one GPU each, where a 2-GPU group spans two nodes (best fit places it).
    pool = Cluster.uniform(gpus, 1) if nodes else PooledCluster(gpus)
    config = EngineConfig(ordering, "bestfit" if nodes else "pooled")
    runs: dict[str, list[tuple[int, int]]] = {}
    result = simulate(jobs, pool, config, on_run=lambda j, s, e, p: runs.setdefault(j.id, []).append((s, e)))
    assert result.finished == len(jobs)
    assert pool.free_milli == pool.total_milli
    for spans in runs.values():
        spans.sort()
        assert all(end <= nxt for (_, end), (nxt, _) in pairwise(spans))


def test_quotas_count_every_job_in_a_group() -> None:
    ranked = states(a("a1"), b("b1"), a("a2"), b("b2"))
    ranked = [JobState.of(replace(s.job, tenant="t")) for s in ranked]
    # As in the pairing case, two A+B pairs on 2 GPUs; but tenant t may hold 2 GPUs and each pair counts 2
    # (one per job): only the first pair runs.
    assert len(plan(ranked, 2000, {"t": 2})) == 1
    assert len(plan(ranked, 2000, {"t": 4})) == 2


def test_muri_traces_give_stage_times_and_bad_ones_are_refused(tmp_path: Path) -> None:
    head = "job_id,num_gpu,submit_time,iterations,model_name,duration,iteration_time,"
    head += "resource_time_0,resource_time_1,resource_time_2\n"
    good = tmp_path / "good.csv"
    good.write_text(head + "7,2,1000,10,dqn,5000,500,446,8,0.5\n")
    (job,) = read_muri(good, overhead=True).jobs
    # Stages as traced (ms -> s); the iteration stretched by 1.015 as the run time is.
    assert (job.stages, job.iteration) == ((0.446, 0.008, 0.0005), pytest.approx(0.5 * 1.015))
    for bad in ("nan", "-4", "1e300", "x"):
        path = tmp_path / "bad.csv"
        path.write_text(head + f"7,2,1000,10,dqn,5000,500,{bad},8,0.5\n")
        with pytest.raises(InvalidSpec, match=r"bad\.csv:2"):
            read_muri(path, overhead=True)


def test_a_replay_is_the_same_every_time() -> None:
    jobs = [
        Job(
            f"j{i}",
            10 * i,
            100 + 37 * i,
            tasks=1 + i % 2,
            iteration=6.0,
            stages=KINDS[i % len(KINDS)] if i % 4 else (2.0, 3.0, 1.0),
        )
        for i in range(30)
    ]
    runs = [json.dumps(simulate(jobs, PooledCluster(4), EngineConfig("muri-s", "pooled")).to_dict()) for _ in range(2)]
    assert runs[0] == runs[1]
    assert json.loads(runs[0])["preemptions"] > 0  # groups did form and change


def test_shapes_merge_in_the_order_of_their_best_ranked_jobs() -> None:
    """Tenant t may hold 1 GPU; 8 GPUs. j00 (2 GPUs, t) is refused by the quota, yet the 2-GPU shape's
    candidates begin with it (j00, j05, j08), after the 3-GPU ones (j04, j06, j07) were taken: 15 GPUs needed.
    Merging goes shape by shape from the shape of the best-ranked job, the 2-GPU one: a pair in each shape
    (10 needed), then the 2-GPU pair takes j08 (8: enough), so j04 + j07 and j06 stay as they are. Every group holds
    a job of t and none fits its quota: nothing runs. Merging the 3-GPU shape first would leave j05 alone to
    run. The plan over a queue must take the shapes in the same order."""
    spec = [("j00", 2, "t", A), ("j04", 3, "u", C), ("j05", 2, "u", B), ("j06", 3, "t", B), ("j07", 3, "t", A)]
    ranked = [
        JobState.of(Job(i, 0, 600, tasks=n, tenant=t, iteration=6.0, stages=k))
        for i, n, t, k in [*spec, ("j08", 2, "t", B)]
    ]
    assert plan(ranked, 8000, None)  # without the quota, groups run
    queue = ShapeQueue(lambda s, now, usage: (s.job.id,))
    for s in ranked:
        queue.add(s)
    assert plan(ranked, 8000, {"t": 1}) == plan(Ranking([], queue), 8000, {"t": 1}) == []


PLANNED = st.lists(
    st.tuples(
        st.sampled_from([1, 2, 3]),  # GPUs: three shapes
        st.sampled_from([*KINDS, ()]),  # stage times, or none (runs alone)
        st.sampled_from(["t", "u"]),
        st.booleans(),  # running now (ranked at the decision) or waiting in the queue
    ),
    min_size=1,
    max_size=24,
)


@given(PLANNED, st.integers(1, 12), st.sampled_from([None, {"t": 1}, {"t": 2}, {"t": 3, "u": 1}]), st.randoms())
@settings(max_examples=300, deadline=None)
def test_a_plan_over_the_queue_is_the_plan_over_every_job_ranked(
    specs: list[tuple[int, tuple[float, ...], str, bool]], gpus: int, quotas: dict[str, int] | None, rng: object
) -> None:
    """The simulator's plan reads running jobs ranked and waiting ones from their queue only as far as it needs,
    passing over shapes too large for what is left; it must choose the groups a plan over every job does."""
    jobs = [
        Job(f"j{i:02d}", 0, 600, tasks=n, tenant=tenant, iteration=sum(kind) or 1.0, stages=kind)
        for i, (n, kind, tenant, _) in enumerate(specs)
    ]
    ranked = [JobState.of(j) for j in jobs]
    rng.shuffle(ranked)  # type: ignore[attr-defined]
    key = {id(s): (place, s.job.id) for place, s in enumerate(ranked)}
    queue = ShapeQueue(lambda s, now, usage: key[id(s)])
    runs = {f"j{i:02d}": running for i, (*_, running) in enumerate(specs)}
    running = []
    for s in ranked:
        if runs[s.job.id]:
            running.append((key[id(s)], s))
        else:
            queue.add(s)
    lazily = plan(Ranking(running, queue), gpus * 1000, quotas)
    afresh = plan(ranked, gpus * 1000, quotas)
    assert [[s.job.id for s in g] for g in lazily] == [[s.job.id for s in g] for g in afresh]


@given(
    st.lists(
        st.tuples(st.integers(0, 200), st.integers(1, 300), st.sampled_from([1, 2]), st.sampled_from([*KINDS, ()])),
        min_size=1,
        max_size=14,
    ),
    st.integers(1, 4),
    st.sampled_from(["muri-s", "muri-l"]),
)
@settings(max_examples=60, deadline=None)
def test_a_replay_over_the_queue_is_the_replay_ranked_afresh(
    specs: list[tuple[int, int, int, tuple[float, ...]]], gpus: int, ordering: str
) -> None:
    """Waiting jobs in a queue (the simulator) and in a list ranked at every decision (the live engine's way):
    every run of every job the same."""
    jobs = [
        Job(f"j{i}", submit, duration, tasks=n, restart_overhead=2, iteration=sum(kind) or 1.0, stages=kind)
        for i, (submit, duration, n, kind) in enumerate(specs)
    ]

    def runs() -> list[tuple[str, int, int, bool]]:
        found: list[tuple[str, int, int, bool]] = []
        config = EngineConfig(ordering, "pooled")
        simulate(jobs, PooledCluster(gpus), config, on_run=lambda j, s, e, p: found.append((j.id, s, e, p)))
        return sorted(found)

    queued = runs()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Scheduler, "waiting_line", lambda self: None)
        assert runs() == queued
