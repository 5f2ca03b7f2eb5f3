"""Tiresias by its published rules (core/engine/tiresias.py) and the Muri simulator's run-time model, on cases
worked out by hand in the comments. Every case runs on a pooled cluster of 4 GPUs, as the published
simulator counts free GPUs without placing them."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from neocloud.adapters.traces.jobs import muri_start_overhead, read_muri
from neocloud.adapters.traces.loader import load_trace
from neocloud.core.engine.config import EngineConfig
from neocloud.core.engine.pooled import PooledCluster
from neocloud.core.engine.state import JobState
from neocloud.core.engine.tiresias import PUBLISHED, Tiresias
from neocloud.core.errors import InvalidInput, InvalidSpec
from neocloud.core.workload import Job
from neocloud.sim.metrics import SimResult
from neocloud.sim.simulator import simulate


def run(jobs: list[Job], tiresias: Tiresias = PUBLISHED) -> SimResult:
    jobs = [replace(j, tenant=j.id) for j in jobs]  # per-tenant stats read per job
    return simulate(jobs, PooledCluster(4), EngineConfig("tiresias", "pooled", tiresias=tiresias))


def jcts(result: SimResult) -> dict[str, int]:
    assert result.unfinished == 0
    return {t: int(s.avg_jct) for t, s in result.per_tenant.items()}


def test_running_jobs_stay_ahead_of_waiting_ones_in_their_queue() -> None:
    x, w, y = Job("x", 0, 100, 2), Job("w", 1, 100, 4), Job("y", 2, 500, 2)
    # x runs 0-100. w (4 GPUs) cannot start beside x and waits; y (2 GPUs) fits beside x and starts at 2.
    # At 100 x ends: all three are in the top queue (under 3,250 GPU-seconds), y running, w waiting behind it
    # in line, so y keeps its GPUs (ordering by submit time alone would preempt it for w): y ends at 502,
    # w runs 502-602.
    result = run([x, w, y])
    assert jcts(result) == {"x": 100, "w": 601, "y": 500}
    assert result.preemptions == 0


def test_a_job_falls_through_three_queues_behind_those_waiting_there() -> None:
    p, q = Job("p", 0, 10_000, 4), Job("q", 100, 3000, 4)
    # p runs; q waits behind it in the top queue. 813: p has 3,252 GPU-s >= 3,250, falls to the second queue;
    # q (top) runs, p waits (9,187 s left). 1,626: q falls to the second queue, behind p, which waits there:
    # p runs, q waits (2,187 left). p reaches 7,200 GPU-s at 1,626 + ceil(3,948 / 4) = 2,613 and falls to the
    # third queue: q runs (p: 8,200 left). q reaches 7,200 at 3,600 and falls behind p in the third queue: p
    # runs 3,600-11,800, then q 11,800-13,000 (1,200 left).
    result = run([p, q])
    assert jcts(result) == {"p": 11_800, "q": 12_900}
    assert result.preemptions == 4


def test_two_queues_when_told() -> None:
    p, q = Job("p", 0, 10_000, 4), Job("q", 100, 3000, 4)
    # One threshold: after 813 and 1,626 as above, both are in the last queue for good; p, ahead in line,
    # runs 1,626-10,813 (9,187 left), then q 10,813-13,000.
    assert jcts(run([p, q], Tiresias((3250,)))) == {"p": 10_813, "q": 12_900}


JOBS = [
    Job("b", 0, 1000, 4),
    Job("c", 100, 800, 4),
    Job("d", 200, 800, 4),
    Job("e", 300, 800, 4),
    Job("f", 2000, 800, 4),
]


def test_starvation_promotes_a_job_that_waited_as_long_as_it_ran() -> None:
    # b runs 0-813, falls to the second queue (187 s left) and waits; c, d, e stay in the top queue (3,200
    # GPU-s each): c 813-1,613, d 1,613-2,413, e 2,413-3,213. Without promotion f (arriving at 2,000, top queue)
    # goes before b: f 3,213-4,013, b 4,013-4,200.
    assert jcts(run(JOBS)) == {"b": 4200, "c": 1513, "d": 2213, "e": 2913, "f": 2013}
    # With factor 1: b, having run 813 s, is promoted after waiting 813 s, at 1,626: back of the top queue,
    # behind e (in line since 1,613) but ahead of f (arrived 2,000): b 3,213-3,400, f 3,400-4,200.
    assert jcts(run(JOBS, Tiresias(starvation=1.0))) == {"b": 3400, "c": 1513, "d": 2213, "e": 2913, "f": 2200}


BAD_QUEUES = [((), 0.0), ((0,), 0.0), ((7200, 3250), 0.0), ((3250, 3250), 0.0), ((3250,), -1.0), ((3250,), math.nan)]


@pytest.mark.parametrize(("thresholds", "starvation"), BAD_QUEUES)
def test_bad_queues_are_refused(thresholds: tuple[int, ...], starvation: float) -> None:
    with pytest.raises(InvalidInput, match="Tiresias"):
        Tiresias(thresholds, starvation)


MURI = """job_id,num_gpu,submit_time,iterations,model_name,batch_size,duration,interval,iteration_time
0,1,0,1000,a2c,128,500000,0,500
10,8,5000,2000,vgg16,32,1000000,0,490
2,3,5000,100,mystery,32,90000,0,900
"""


def test_muri_run_time_model(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(MURI)
    plain = {j.id: j for j in read_muri(path).jobs}
    modelled = {j.id: j for j in load_trace(f"muri:{path},overhead=muri").jobs}
    # Ids sort as the trace's numbers (job 2 before job 10 when submitted together).
    assert sorted(plain) == ["j00", "j02", "j10"]
    assert (plain["j00"].duration, plain["j00"].restart_overhead) == (500, 0)
    # a2c on 1 GPU: 1,000 x 0.5 s x 1.015 = 507.5 -> 508 s, plus 38 s at the start; 38 s again at each restart.
    assert (modelled["j00"].duration, modelled["j00"].restart_overhead) == (546, 38)
    # vgg16 on 8 GPUs: 2,000 x 0.49 x 1.015 = 994.7 -> 995, plus 9.
    assert (modelled["j10"].duration, modelled["j10"].restart_overhead) == (1004, 9)
    # A model the table lacks costs 10 s; 3 GPUs take the 4-GPU row: 100 x 0.9 x 1.015 = 91.35 -> 92 + 10.
    assert (modelled["j02"].duration, modelled["j02"].restart_overhead) == (102, 10)
    assert muri_start_overhead("a2c", 64) == 46  # beyond the table: its largest row


@pytest.mark.parametrize("options", ["overhead=yes", "speed=2", "overhead"])
def test_bad_muri_options_are_refused(tmp_path: Path, options: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(MURI)
    with pytest.raises(InvalidSpec, match="bad muri trace"):
        load_trace(f"muri:{path},{options}")


def test_a_job_without_a_lane_lines_up_by_its_service_and_arrival() -> None:
    # The live engine keeps no lanes: a waiting job that has run 4,000 GPU-seconds is in the second queue, in
    # line by its submission; a newcomer is in the top queue.
    served = JobState(Job("old", 10, 5000, 4), 4000, attained=4000)
    new = JobState.of(Job("new", 20, 100, 4))
    assert PUBLISHED.lane(served, 100) == (1, 10, 0, 0)
    assert PUBLISHED.lane(new, 100) == (0, 20, 0, 0)


def test_a_job_due_for_promotion_already_waits_for_the_next_decision() -> None:
    # A job in the second queue that ran 1,000 s and has waited 5,000 s since: with factor 2 it was due at
    # 2,000 s of waiting. Waking the engine at this same instant would let promoted and preempted jobs trade
    # places forever without the clock moving, so there is no wake: the next decision promotes it.
    s = JobState(Job("j", 0, 9000, 4), 5000, attained=4000, first_start=0, lane=(1, 1000, 2, 0))
    policy = Tiresias(starvation=2.0)
    assert policy.wake(s, 6000) is None
    assert policy.lane(s, 6000) == (0, 3000, 1, 0)  # promoted when it became due, at 3,000
    assert Tiresias(starvation=2.0).wake(s, 2500) == 3000


def test_a_replay_with_promotion_finishes() -> None:
    from neocloud.adapters.traces.jobs import synthetic

    jobs = synthetic(300, seed=3, gpus=64)
    result = simulate(jobs, PooledCluster(64), EngineConfig("tiresias", "pooled", tiresias=Tiresias((1000,), 2.0)))
    assert result.finished == 300


@pytest.mark.parametrize("text", ["", "3250,", "a,b", "3250;7200", "1e3", "٣٢٥٠", "-5", "9" * 16])
def test_typed_thresholds_are_whole_numbers_or_refused(text: str) -> None:
    from neocloud.core.engine.tiresias import thresholds

    with pytest.raises(InvalidInput, match="whole GPU-seconds"):
        thresholds(text)
    assert thresholds(" 3250, 7200 ") == (3250, 7200)


def test_a_job_due_for_promotion_is_promoted_as_it_starts() -> None:
    # j ran 0-1,000 on 4 GPUs (4,000 GPU-s: the second queue) and waits from 1,000: with factor 2 it is due at
    # 3,000. A decision at 3,500 starts it: it runs in the top queue, in the promotion's lane (top queue, 3,000,
    # MOVED), its service (4,000 GPU-s) and its waiting (2,500 s, to now) counted afresh from here, as when a
    # promoted job waits on. Without that it would run in the second queue, behind jobs waiting there, and the
    # next job due would stop it at once: on trace1's first 60 jobs (factor 2) 1,002,100 preemptions, 11,435 now.
    policy = Tiresias(starvation=2.0)
    s = JobState(Job("j", 0, 9000, 4), 5000, attained=4000, first_start=0, lane=(1, 1000, 2, 0))
    assert policy.started([s], 3500) == [(s, (0, 3000, 1, 0), (4000, 2500))]
    assert Tiresias().started([s], 3500) == []  # no promotion without a factor
    fresh = JobState.of(Job("new", 0, 100, 4))
    assert policy.started([fresh], 3500) == []  # never ran: nothing to promote
    # Through a decision over jobs ranked afresh (replays over the simulator's lines give the same: test_engine.py)
    scheduler = EngineConfig("tiresias", "pooled", tiresias=policy).scheduler(PooledCluster(4), [s.job])
    decisions = scheduler.decide(3500, PooledCluster(4), [s], [], defaultdict(int))
    assert [x.job.id for x, _ in decisions.start] == ["j"]
    assert [(x.job.id, lane, promoted) for x, lane, promoted in decisions.requeue] == [
        ("j", (0, 3000, 1, 0), (4000, 2500))
    ]
