"""A trace replayed under a power budget that a curtailment shrinks: the engine never runs more GPUs than the
budget feeds (checked from the run's timeline), stops work in contract order, and reserved work last."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neocloud.adapters.specs import default_catalog
from neocloud.adapters.traces.loader import load_trace
from neocloud.cli.main import app
from neocloud.core.engine.cluster import Cluster
from neocloud.core.engine.config import EngineConfig
from neocloud.core.errors import InvalidInput
from neocloud.core.power import Capping, Curtailment, PowerBudget, gpu_power
from neocloud.core.workload import Job, PriorityClass
from neocloud.sim.metrics import PowerChange, SimResult, power_over
from neocloud.sim.simulator import simulate

D = Decimal
KW = D("1.4025") * D("1.25")  # an H100 at TDP with its host share and the network, x PUE 1.25: 1.753125 kW


def job(name: str, priority: PriorityClass, submit: int = 0, preemptible: bool = True) -> Job:
    return Job(name, submit, 10_000, gpus_per_task=8, priority=priority, preemptible=preemptible)


FOUR = [
    job("r1", PriorityClass.RESERVED),
    job("r2", PriorityClass.RESERVED),
    job("i1", PriorityClass.INTERNAL),
    job("s1", PriorityClass.SPOT),
]


def test_a_cut_stops_spot_then_internal_work_and_spares_reserved_by_hand() -> None:
    # 60 kW feed 34 GPUs: all four 8-GPU jobs run (56.1 kW). Cut by half from 1,000 s to 4,600 s: 30 kW feed
    # 17 GPUs, 15 too many. Spot work stops (7 left), then internal (-1): the reservations run on, 28.05 kW.
    budget = PowerBudget.of(D(60), KW, [Curtailment(D("0.5"), 1_000, 4_600)])
    assert budget.steps == ((0, D(60)), (1_000, D(30)), (4_600, D(60)))
    result = simulate(FOUR, Cluster.uniform(4, 8), EngineConfig("fifo", "bestfit"), power=budget)
    assert result.power_changes == (
        PowerChange(0, D(60), 34, 0, 0, 0),
        PowerChange(1_000, D(30), 17, 16, 2, 0),  # two nodes powered down, two jobs stopped
        PowerChange(4_600, D(60), 34, 0, 0, 0),  # both back up; the stopped jobs start again there
    )
    peak, over = power_over(result, budget)
    assert over == []
    assert peak == 32 * KW  # before the cut; 16 x 1.753125 = 28.05 kW during it
    by_id = {j.id: j for j in FOUR}
    assert set(by_id) == {"r1", "r2", "i1", "s1"}
    # The reservations finish at 10,000 s untouched; the stopped jobs lost 3,600 s: done at 13,600 s.
    assert (result.preemptions, result.makespan) == (2, 13_600)
    flat = result.allocation_timeline
    assert list(zip(flat[::3], flat[1::3], strict=True)) == [
        (0, 0), (0, 32_000), (1_000, 16_000), (4_600, 32_000), (10_000, 16_000), (13_600, 0),
    ]  # fmt: skip


def test_without_the_engines_shedding_the_timeline_shows_the_budget_exceeded() -> None:
    # The check cannot pass by construction: the same replay without a budget runs 32 GPUs through the cut.
    budget = PowerBudget.of(D(60), KW, [Curtailment(D("0.5"), 1_000, 4_600)])
    unbounded = simulate(FOUR, Cluster.uniform(4, 8), EngineConfig("fifo", "bestfit"))
    assert power_over(unbounded, budget)[1] == [1_000]


def test_work_that_may_not_stop_is_the_shortfall_and_a_small_feed_powers_nodes_down_from_the_start() -> None:
    pinned = [
        job("p1", PriorityClass.INTERNAL, preemptible=False),
        job("p2", PriorityClass.INTERNAL, preemptible=False),
    ]
    budget = PowerBudget.of(D(20), KW, [Curtailment(D("0.5"), 1_000, 2_000)])  # 11 GPUs, then 5
    result = simulate(pinned, Cluster.uniform(4, 8), EngineConfig("fifo", "bestfit"), power=budget)
    # From the start, 11 GPUs are fed: 3 of 4 nodes go dark, so one 8-GPU job runs and the other waits.
    assert result.power_changes[0] == PowerChange(0, D(20), 11, 24, 0, 0)
    # The cut feeds 5: the running job may not be stopped, 3 GPUs too many: the shortfall, and the timeline
    # shows it exceeded.
    assert result.power_changes[1] == PowerChange(1_000, D(10), 5, 24, 0, 3)
    assert power_over(result, budget)[1] == [1_000]
    assert result.finished == 2  # one after the other


def test_bad_budgets_are_refused() -> None:
    with pytest.raises(InvalidInput, match="depth is a share"):
        Curtailment(D(0), 0, 1)
    with pytest.raises(InvalidInput, match="depth is a share"):
        Curtailment(D("NaN"), 0, 1)
    with pytest.raises(InvalidInput, match="ends after it starts"):
        Curtailment(D("0.5"), 5, 5)
    with pytest.raises(InvalidInput, match="interleave"):
        simulate(FOUR, Cluster.uniform(4, 8), EngineConfig("muri-s", "bestfit"), power=PowerBudget.of(D(60), KW))


def test_the_command_replays_a_trace_through_a_curtailment(tmp_path: Path) -> None:
    trace, fleet = tmp_path / "jobs.csv", tmp_path / "fleet.yaml"
    trace.write_text("id,submit,duration,gpus\n" + "".join(f"{n},0,10000,8\n" for n in "abcd"))
    fleet.write_text(
        "sites:\n  - name: t\n    power_mw: 0.06\n    pue: 1.25\n    blocks:\n"
        "      - {name: b, racks: 1, nodes_per_rack: 4, node: {gpu_model: h100-sxm, gpus: 8}}\n"
    )
    args = ["simulate", "--trace", f"csv:{trace}", "--fleet", str(fleet), "--curtail", "0.5@1000+3600"]
    done = CliRunner().invoke(app, [*args, "--json"])
    assert done.exit_code == 0, done.output
    shown = json.loads(done.stdout)
    # The cut starts 1,000 s after the first submission and halves the 60 kW: 26.1 kW to shed from the four
    # 8-GPU jobs (on-demand, 14.025 kW each). Each capped from 700 W to 200 W saves 8 x 500 x 1.1 x 1.25 / 1000
    # = 5.5 kW: all four save 22 kW, 4.1 kW short, so one stops (a, first in line: 8.525 kW at 200 W). That
    # frees 4.425 kW more than needed: the last capped (d) gets floor(4.425 / 0.011) = 402 W back, to 602 W.
    # b and c run on at 200 W, 0.30 x (2/7) / (5/14) = 0.24 of their speed, d at 0.875 + (602/700 - 6/7) x
    # 0.875 = 0.8775; 0.003 kW powers no GPU, so a's node goes dark. The timeline never shows more drawn than
    # the budget.
    assert shown["budget"] == {
        "site": "t",
        "budget_kw": "60",
        "kw_per_gpu": "1.753125",
        "curtailments": [{"depth": "0.5", "start": 1_000, "end": 4_600}],
        "changes": [
            {"at": 0, "budget_kw": "60", "gpus": 34, "dark_gpus": 0, "preempted": 0, "shortfall_gpus": 0, "capped": 0},
            {
                "at": 1_000,
                "budget_kw": "30",
                "gpus": 17,
                "dark_gpus": 8,
                "preempted": 1,
                "shortfall_gpus": 0,
                "capped": 3,
            },
            {
                "at": 4_600,
                "budget_kw": "60",
                "gpus": 34,
                "dark_gpus": 0,
                "preempted": 0,
                "shortfall_gpus": 0,
                "capped": 0,
            },
        ],
        "peak_kw": "56.100",
        "exceeded_at": [],
        "ramp_mw_per_s": None,
        "fall_mw_per_s": None,
        "ramp_waits": 0,
        "capping": True,
    }
    # a restarts at 4,600 s with 9,000 s of work left: done at 13,600 s. b and c did 863 s of work in the
    # cut's 3,600 s (0.24 of it, in whole seconds down) and end at 4,600 + 9,000 - 863 = 12,737 s; d did
    # 3,159 s and ends at 10,441 s.
    assert shown["results"][0]["makespan_s"] == 13_600
    assert shown["results"][0]["avg_jct"] == (13_600 + 2 * 12_737 + 10_441) / 4
    # Stopping work only, two of the four stop (17 GPUs fed) and lose the cut's hour: both done at 13,600 s.
    stopping = json.loads(CliRunner().invoke(app, [*args, "--no-capping", "--json"]).stdout)
    assert [(c["capped"], c["preempted"]) for c in stopping["budget"]["changes"]] == [(0, 0), (0, 2), (0, 0)]
    assert stopping["results"][0]["avg_jct"] == (2 * 10_000 + 2 * 13_600) / 4
    text = CliRunner().invoke(app, args)
    assert "budget exceeded: never" in text.output
    for bad, reason in (
        (["--curtail", "2@0+10"], "depth is a share"),
        (["--curtail", "0.5@0"], "DEPTH@START+SECONDS"),
        (["--curtail", "nan@0+5"], "depth is a share"),
        (["--curtail", "x@0+5"], "depth is a share"),
        (["--curtail", "0.5@-1+5"], "DEPTH@START+SECONDS"),
        (["--curtail", "0.5@0+0"], "ends after it starts"),
    ):
        refused = CliRunner().invoke(app, [*args[:5], *bad])
        assert refused.exit_code != 0
        assert reason in refused.output, (bad, refused.output)
    no_budget = CliRunner().invoke(app, ["simulate", "--trace", f"csv:{trace}", "--power"])
    assert "needs a fleet" in no_budget.output
    # Under a ramp of 5 kW a second the four jobs (14.025 kW each), all submitted at 0, start at once when the
    # ramp is idle: there is no second decision to space.
    ramped = json.loads(CliRunner().invoke(app, [*args[:5], "--ramp", "0.005", "--json"]).stdout)
    assert (ramped["budget"]["ramp_mw_per_s"], ramped["budget"]["ramp_waits"]) == ("0.005", 0)
    # Falling at 1 kW a second: what the cut takes at 1,000 s (a stopped, the others capped) drops at once (the
    # grid asked for it). What ends is held and falls: d's 14.025 kW at 10,441 s, b's and c's 28.05 together at
    # 12,737 s, a's 14.025 at 13,600 s.
    fallen = json.loads(CliRunner().invoke(app, [*args, "--fall", "0.001", "--json"]).stdout)
    assert fallen["budget"]["fall_mw_per_s"] == "0.001"
    burned = (2 * D("14.025") ** 2 / 2 + D("28.05") ** 2 / 2) / 3600
    assert fallen["budget"]["floor_kwh"] == str(burned.quantize(D("0.001")))
    assert fallen["results"][0]["avg_jct"] == (13_600 + 2 * 12_737 + 10_441) / 4  # floors cost energy, not time
    text = CliRunner().invoke(app, [*args, "--fall", "0.001"])
    assert "falls at most 0.001 MW a second" in text.output
    for bad, reason in (
        (["--ramp", "0"], "above 0"),
        (["--ramp", "-1"], "ramp"),
        (["--ramp", "NaN"], "ramp"),
        (["--ramp", "1e9"], "ramp"),
        (["--ramp", "fast"], "ramp"),
        (["--fall", "0"], "--fall is above 0"),
        (["--fall", "-0.5"], "fall"),
        (["--fall", "inf"], "fall"),
        (["--fall", "1e400"], "fall"),
        (["--fall", "0.1\x00"], "fall"),
    ):
        refused = CliRunner().invoke(app, [*args[:5], *bad])
        assert refused.exit_code != 0
        assert reason in refused.output, (bad, refused.output)


STAGGERED = [
    Job("j1", 0, 10_000, gpus_per_task=8),
    Job("j2", 1, 10_000, gpus_per_task=8),
    Job("j3", 2, 10_000, gpus_per_task=8),
]


def _replayed(jobs: list[Job], budget: PowerBudget) -> tuple[dict[str, int], SimResult]:
    """Each job's first start, and the replay, on 4 nodes of 8 GPUs in FIFO order."""
    runs: dict[str, int] = {}
    result = simulate(
        jobs, Cluster.uniform(4, 8), EngineConfig("fifo", "bestfit"), power=budget,
        on_run=lambda job, start, end, preempted: runs.setdefault(job.id, start),
    )  # fmt: skip
    return runs, result


def _starts(jobs: list[Job], budget: PowerBudget) -> tuple[dict[str, int], int]:
    runs, result = _replayed(jobs, budget)
    return runs, result.ramp_waits


def test_a_ramp_limit_spaces_the_starts_by_hand() -> None:
    # Each 8-GPU job draws 14.025 kW. At 5 kW a second, j1's draw is up 2.805 s after it starts at 0; j2 (at
    # 1 s) and j3 (at 2 s) wait, and start together at 3 s, the first whole second after.
    assert _starts(STAGGERED, PowerBudget.of(D(60), KW, ramp_kw_per_s=D(5))) == ({"j1": 0, "j2": 3, "j3": 3}, 2)
    # Without the limit they start as they arrive.
    assert _starts(STAGGERED, PowerBudget.of(D(60), KW)) == ({"j1": 0, "j2": 1, "j3": 2}, 0)


def test_under_a_ramp_limit_a_real_traces_starts_never_rise_faster_than_the_rate(traces: Path) -> None:
    read = load_trace(f"muri:{traces / 'muri-sigcomm22' / 'trace-data' / 'trace1.csv'}")
    rate = D(2)  # kW a second: a 14 kW start takes 7 s to come up
    net: dict[int, int] = defaultdict(int)  # when -> GPUs started less GPUs stopped then
    started: set[int] = set()

    def ran(job: Job, start: int, end: int, preempted: bool) -> None:
        net[start] += job.gpus
        net[end] -= job.gpus
        started.add(start)

    result = simulate(
        read.jobs, Cluster.uniform(8, 8, "h100-sxm"), EngineConfig("srtf", "bestfit"),
        power=PowerBudget.of(D(120), KW, ramp_kw_per_s=rate), on_run=ran,
    )  # fmt: skip
    assert result.finished == len(read.jobs)
    assert result.ramp_waits > 0
    # Each instant's net rise comes up at the rate (work that stops as other work starts is no rise); no work
    # starts until what rose before is up.
    up = D("-Infinity")
    for when in sorted(net):
        if when in started:
            assert when >= up, (when, up)
        if net[when] > 0:
            up = max(up, D(when)) + net[when] * KW / rate


def test_a_real_trace_through_a_curtailment_never_exceeds_its_budget(traces: Path) -> None:
    # Muri's trace1 (1,494 jobs) on 8 nodes of 8 H100 fed 120 kW (68 GPUs at TDP, PUE 1.25), cut by a quarter
    # for 3 hours at 2,000,000 s, when the cluster is full: 51 GPUs fed.
    read = load_trace(f"muri:{traces / 'muri-sigcomm22' / 'trace-data' / 'trace1.csv'}")
    budget = PowerBudget.of(D(120), KW, [Curtailment(D("0.25"), 2_000_000, 2_010_800)])
    config = EngineConfig("srtf", "bestfit")
    kept = simulate(read.jobs, Cluster.uniform(8, 8, "h100-sxm"), config, power=budget)
    cut = kept.power_changes[1]
    assert (cut.at, cut.gpus, cut.shortfall_gpus) == (2_000_000, 51, 0)
    assert cut.preempted > 0  # the cluster was full: work had to stop
    assert power_over(kept, budget)[1] == []
    assert kept.finished == len(read.jobs)
    # Without the budget the same replay runs 64 GPUs (112.2 kW) through the cut (90 kW).
    free = simulate(read.jobs, Cluster.uniform(8, 8, "h100-sxm"), config)
    assert 2_000_000 in power_over(free, budget)[1]


def test_a_shallow_cut_caps_spot_work_and_never_reserved_work_by_hand() -> None:
    # 56.1 kW run on a 60 kW feed; a tenth cut leaves 54: 2.1 kW to shed. The spot job's 8 GPUs are capped by
    # ceil(2.1 / (8 x 1.1 x 1.25 / 1000)) = 191 W, to 509 W (2.101 kW saved): nothing stops. At 509 of 700 W
    # training runs at 0.30 + (509/700 - 5/14) x 1.15 = 0.7255 of its speed.
    h100 = gpu_power(default_catalog()["h100-sxm"])
    capping = Capping(h100, 700, D("1.25"))
    budget = PowerBudget.of(D(60), KW, [Curtailment(D("0.1"), 1_000, 4_600)], capping=capping)
    ends: dict[str, int] = {}
    result = simulate(
        FOUR, Cluster.uniform(4, 8), EngineConfig("fifo", "bestfit"), power=budget,
        on_run=lambda job, start, end, preempted: ends.__setitem__(job.id, end),
    )  # fmt: skip
    assert result.power_changes[1] == PowerChange(1_000, D(54), 30, 0, 0, 0, 1)
    assert result.capped_kw == ((1_000, 191 * 8 * capping.kw_per_watt), (4_600, D(0)))
    assert power_over(result, budget)[1] == []  # the caps' saving counted: 56.1 - 2.101 = 53.999 kW
    # Reserved and internal work untouched: done at 10,000 s. Spot work did int(3,600 x 0.7255) = 2,611 s of
    # work in the cut (whole seconds down): 989 s later.
    assert (ends["r1"], ends["r2"], ends["i1"]) == (10_000, 10_000, 10_000)
    assert ends["s1"] == 10_000 + 3_600 - int(3_600 * (D("0.30") + (D(509) / 700 - D(5) / 14) * D("1.15")))
    assert capping.pace(509) == float(1 / (D("0.30") + (D(509) / 700 - D(5) / 14) * D("1.15")))


def test_a_fall_limit_holds_what_ends_on_the_floors_and_new_work_takes_it_over_by_hand() -> None:
    # a (8 GPUs, 14.025 kW) ends at 1,000 s. At 1 kW a second its draw is held and falls to 0 by 1,014.025 s:
    # 14.025^2 / 2 kW-s burned.
    alone = [Job("a", 0, 1_000, gpus_per_task=8)]
    _, result = _replayed(alone, PowerBudget.of(D(60), KW, fall_kw_per_s=D(1)))
    assert result.floor_kw == ((1_000, D("14.025")),)
    assert result.floor_kwh == D("98.3503125") / 3600
    # b arrives at 1,005 s, when 9.025 kW are still held: it takes them over, and only 5 kW rise. Under a rise
    # limit of 5 kW a second that is up at 1,006 s, so c (at 1,005.5, whole seconds: 1,006) need not wait longer.
    both = [*alone, Job("b", 1_005, 1_000, gpus_per_task=8), Job("c", 1_006, 1_000, gpus_per_task=8)]
    starts, result = _replayed(both, PowerBudget.of(D(60), KW, ramp_kw_per_s=D(5), fall_kw_per_s=D(1)))
    assert result.floor_kw[:2] == ((1_000, D("14.025")), (1_005, D(0)))
    assert (starts["b"], starts["c"]) == (1_005, 1_006)
    # Without the fall limit b rises by all of its 14.025 kW, up at 1,007.805 s: c waits until 1,008.
    starts, result = _replayed(both, PowerBudget.of(D(60), KW, ramp_kw_per_s=D(5)))
    assert (starts["b"], starts["c"], result.floor_kw, result.floor_kwh) == (1_005, 1_008, (), D(0))


def test_a_curtailment_lets_the_floors_fall_at_once_as_far_as_it_must_by_hand() -> None:
    # a, c and d run (42.075 kW of 60). a ends at 1,000 s: 14.025 kW held, 42.075 drawn in all. At 1,002 s the
    # feed is halved to 30 kW: c and d draw 28.05, so the floors keep 1.95 of the 12.025 kW they held.
    jobs = [
        Job("a", 0, 1_000, gpus_per_task=8),
        Job("c", 0, 10_000, gpus_per_task=8),
        Job("d", 0, 10_000, gpus_per_task=8),
    ]
    budget = PowerBudget.of(D(60), KW, [Curtailment(D("0.5"), 1_002, 2_000)], fall_kw_per_s=D(1))
    _, result = _replayed(jobs, budget)
    # c and d end at 10,000 s, and their 28.05 kW are held and fall too.
    assert result.floor_kw == ((1_000, D("14.025")), (1_002, D("1.95")), (10_000, D("28.05")))
    assert result.floor_kwh == D("26.05") / 3600 + D("1.90125") / 3600 + D("393.40125") / 3600
    peak, over = power_over(result, budget)
    assert (peak, over) == (3 * D("14.025"), [])  # the floors counted: all three's draw until 1,000 s, then held
