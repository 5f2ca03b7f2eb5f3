"""The Alibaba PAI 2020 simulator's input, its arrival rule, greedy FIFO and its estimate orderings, on a pooled
cluster: small cases worked out by hand in comments."""

from __future__ import annotations

from pathlib import Path

import pytest

from neocloud.adapters.clusters import load_cluster
from neocloud.adapters.specs import load_catalog
from neocloud.adapters.traces.jobs import read_pai
from neocloud.adapters.traces.loader import load_trace
from neocloud.core.engine.config import EngineConfig
from neocloud.core.engine.pooled import PooledCluster
from neocloud.core.errors import InvalidSpec
from neocloud.sim.simulator import simulate

# Columns in another order than the simulator writes them, and one it does not know (ignored).
INPUT = """\
user,job_id,num_gpu,duration,submit_time,num_inst,num_cpu,user_dur,group_dur,group_gpu_dur,extra
ann,3,4,100,20,1,8,50,300,300,x
bob,1,8,1000,0,1,16,900,900,900,x
ann,2,2,50,10,2,4,500,40,40,x
cat,10,0.25,30,30,,2,30,30,5,x
"""


def write(tmp_path: Path, text: str = INPUT) -> Path:
    path = tmp_path / "pai.csv"
    path.write_text(text)
    return path


def test_reads_columns_by_name_with_the_rank_based_arrivals(tmp_path: Path) -> None:
    jobs = read_pai(write(tmp_path), per_minute=2).jobs
    # Ranked by (submit_time, job_id): 1, 2, 3, 10; two a minute: 1 and 2 at 0 s, 3 and 10 at 60 s.
    assert [(j.id, j.submit) for j in jobs] == [
        ("000000000001", 0),
        ("000000000002", 0),
        ("000000000003", 60),
        ("000000000010", 60),
    ]
    two = jobs[1]
    assert (two.gpus_per_task, two.tasks, two.gpus, two.cpu_milli_per_task, two.tenant) == (2, 2, 4, 4000, "ann")
    quarter = jobs[3]  # num_inst empty: one instance; a quarter of a GPU
    assert (quarter.tasks, quarter.gpu_milli, quarter.milli, quarter.estimate) == (1, 250, 250, None)
    # Ids sort as numbers (job 10 after job 3), as the simulator's tie-breaker does.
    assert sorted(j.id for j in jobs)[-1] == "000000000010"
    # per_minute=0: the real submit times.
    assert [j.submit for j in read_pai(write(tmp_path), per_minute=0).jobs] == [0, 10, 20, 30]


def test_the_estimate_column_is_what_shortest_first_is_told(tmp_path: Path) -> None:
    path = write(tmp_path)
    assert [j.estimate for j in read_pai(path, estimate="group_gpu_dur").jobs] == [900, 40, 300, 5]
    # All four arrive at 0 on a pool of 8 GPUs, 16 CPUs: job 1 (8 GPUs) must wait for the others or go first.
    cluster = lambda: PooledCluster(8, 16)  # noqa: E731
    by_oracle = simulate(read_pai(path).jobs, cluster(), EngineConfig("sjf", "pooled"))
    by_group = simulate(read_pai(path, estimate="group_gpu_dur").jobs, cluster(), EngineConfig("sjf", "pooled"))
    by_user = simulate(read_pai(path, estimate="user_dur").jobs, cluster(), EngineConfig("sjf", "pooled"))
    # Oracle SJF: 10 (30 s), 2 (50 s) and 3 (100 s) together (0.25 + 4 + 4 GPUs > 8? 8.25: 3 waits for 10):
    # 10 and 2 at 0; 3 needs 4 GPUs, 3.75 free: waits to 30; 1 waits to 130. JCT: 30, 50, 130, 1130 -> mean 335.
    assert by_oracle.overall.avg_jct == pytest.approx((30 + 50 + 130 + 1130) / 4)
    # By group_gpu_dur (10: 5, 2: 40, 3: 300, 1: 900): the same order, the same result.
    assert by_group.overall.avg_jct == by_oracle.overall.avg_jct
    # By user_dur (10: 30, 3: 50, 2: 500, 1: 900): 10 and 3 at 0 (4.25 GPUs), 2 needs 4: waits to 30 (10 ends),
    # ends 80; 1 at 100 (3 ends), ends 1100. JCT: 30, 100, 80, 1100 -> mean 327.5.
    assert by_user.overall.avg_jct == pytest.approx((30 + 100 + 80 + 1100) / 4)


def test_greedy_fifo_skips_what_does_not_fit_where_fifo_blocks(tmp_path: Path) -> None:
    jobs = read_pai(write(tmp_path), per_minute=0).jobs  # arrivals 0 (job 1), 10 (2), 20 (3), 30 (10)
    # On 10 GPUs: job 1 (8 GPUs) runs 0-1000. Job 2 (4) does not fit beside it; job 3 (4) neither; job 10
    # (0.25) does. FIFO blocks behind job 2: 10 waits to 1000 too. Greedy FIFO starts 10 at once.
    blocking = simulate(jobs, PooledCluster(10), EngineConfig("fifo"))
    greedy = simulate(jobs, PooledCluster(10), EngineConfig("fifo-greedy"))
    assert greedy.per_tenant["cat"].avg_jct == 30
    assert blocking.per_tenant["cat"].avg_jct == 1000  # 2, 3 and 10 all start at 1000 (8.25 GPUs); 10 ends 1030
    # CPUs counted: 18 hold job 1 (16) and job 10 (2) beside it ...
    assert simulate(jobs, PooledCluster(10, 18), EngineConfig("fifo-greedy")).per_tenant["cat"].avg_jct == 30
    # ... 17 do not: at 1000 jobs 2 and 3 take 16 of them first, so job 10 waits for job 2 to end at 1050.
    assert simulate(jobs, PooledCluster(10, 17), EngineConfig("fifo-greedy")).per_tenant["cat"].avg_jct == 1050


def test_a_job_bigger_than_the_pool_is_set_aside(tmp_path: Path) -> None:
    result = simulate(read_pai(write(tmp_path)).jobs, PooledCluster(6), EngineConfig("fifo-greedy"))
    assert (result.finished, result.unfinished) == (3, 1)  # job 1 needs 8 GPUs


@pytest.mark.parametrize(
    ("row", "why"),
    [
        ("ann,4,0,10,0,1,1,1,1,1,x", "CPU-only job"),
        ("ann,4,1.5,10,0,1,1,1,1,1,x", "a fraction of a GPU is at most 1"),
        ("ann,4,nan,10,0,1,1,1,1,1,x", "not a finite non-negative number"),
        ("ann,x4,1,10,0,1,1,1,1,1,x", "is not a whole number"),
        ("ann,4,1,10,0,0,1,1,1,1,x", "num_inst must be positive"),
        ("ann,4,1,-5,0,1,1,1,1,1,x", "column 'duration'"),
        ("ann,4,1,10,0,1,1,1,1,1", "expected 11 fields"),
        ("ann,4,1,1e300,0,1,1,1,1,1,x", "times and durations are at most 253,402,300,800 s"),  # once hung a replay
    ],
)
def test_a_bad_row_names_its_line_or_is_counted(tmp_path: Path, row: str, why: str) -> None:
    path = write(tmp_path, INPUT + row + "\n")
    with pytest.raises(InvalidSpec, match=f"pai.csv:6: .*{why}"):
        read_pai(path)
    read = read_pai(path, skip_bad_rows=True)
    assert (len(read.jobs), [line for line, _ in read.skipped]) == (4, [6])


def test_refusals_of_the_whole_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidSpec, match="job_id repeats"):
        read_pai(write(tmp_path, INPUT + "ann,3,1,10,0,1,1,1,1,1,x\n"))
    with pytest.raises(InvalidSpec, match="missing columns \\['user_dur'\\]"):
        read_pai(write(tmp_path, "job_id,submit_time,duration,num_gpu\n1,0,10,1\n"), estimate="user_dur")
    with pytest.raises(InvalidSpec, match="unknown estimate column"):
        read_pai(write(tmp_path), estimate="duration")


def test_specs_name_the_reader_and_the_pooled_cluster(tmp_path: Path) -> None:
    path = write(tmp_path)
    read = load_trace(f"pai:{path},estimate=user_dur,per_minute=0")
    assert [j.estimate for j in read.jobs] == [900, 500, 50, 30]
    with pytest.raises(InvalidSpec, match="unknown options"):
        load_trace(f"pai:{path},speed=2")
    with pytest.raises(InvalidSpec, match="bad pai trace"):
        load_trace(f"pai:{path},per_minute=fast")
    pool = load_cluster("pooled:6500,cpus=150930", load_catalog())
    assert isinstance(pool, PooledCluster)
    assert (pool.total_milli, pool.cpu_milli) == (6_500_000, 150_930_000)
    for bad in ("pooled:0", "pooled:8,cpus=0", "pooled:8,gpus=3", "pooled:lots", "pooled:99999999999"):
        with pytest.raises(InvalidSpec, match="bad cluster"):
            load_cluster(bad, load_catalog())
