"""One engine, two clocks: the same workloads through the live engine (on the in-memory store, stepped by a
clock the test moves) and through the simulator make the same decisions: every run of every job starts and
ends at the same second and is preempted or finishes alike. The live engine is stepped at the simulator's
event times: arrivals, and the end of every run as it started (the simulator decides then even when the run
was preempted since, and a preemptive ordering may act on it; interleaving orderings decide only when work
arrives or ends, on either clock). Tiresias, which also wakes at queue demotions, is left out."""

from __future__ import annotations

import random
from typing import Any

import pytest

from neocloud.app import live, services
from neocloud.app.services import ContractRequest
from neocloud.core.contracts import ContractKind
from neocloud.core.engine.cluster import Cluster, nodes_by_pool
from neocloud.core.engine.config import EngineConfig
from neocloud.core.workload import Job
from neocloud.sim.simulator import simulate

from ..builders import POOL
from ..memory_store import MemoryStore

H = 3600
T0 = 1_798_761_600  # 2027-01-01
END = T0 + 30 * 24 * H
RESERVED_GPUS = 64
QUOTA = 96  # GPUs beyond reservations per tenant: lab may use 64 + 96, research 96


def workloads(seed: int) -> list[tuple[int, str, int, int, int]]:
    """(submit, contract kind, GPUs per task, tasks, duration): more work than the pool holds, of every kind."""
    rng = random.Random(seed)
    wanted = []
    for i in range(60):
        kind = rng.choice(["reserved", "reserved", "on-demand", "spot"])
        per_task = rng.choice([1, 2, 4, 8])
        tasks = rng.choice([1, 1, 2, 4]) if per_task == 8 else 1
        wanted.append((T0 + i * 300 + rng.randrange(0, 600), kind, per_task, tasks, rng.randrange(600, 4 * H)))
    return sorted(wanted)


PROFILES = [(0.1, 0.2, 1.2), (0.9, 0.3, 0.2), (0.2, 1.0, 0.3), (0.3, 0.3, 0.3), (0.05, 0.1, 2.0)]


def stages(seed: int, count: int) -> list[tuple[float, ...]]:
    """Each workload's stage times (storage, CPU, GPU seconds per iteration), of a few kinds, as the Muri traces
    have: interleaving orderings pair work whose bottlenecks differ; the others never read them."""
    rng = random.Random(seed + 1000)
    return [rng.choice(PROFILES) for _ in range(count)]


def run_live(memory: MemoryStore, ordering: str, seed: int) -> tuple[list[Any], list[Job], int]:
    """Every run (job, start, end, preempted), every job, and how many runs shared their GPUs."""
    memory.clock = T0 - H
    # The simulator models reservations as a pooled entitlement, not as the tenant's own nodes.
    policy = live.Policy(default_quota_gpus=QUOTA, dedicated_nodes=False)
    with memory.uow() as uow:
        sign = {
            "reserved": ContractRequest(
                "lab", ContractKind.RESERVED, POOL, T0 - H, T0 + 30 * 24 * H, gpus=RESERVED_GPUS
            ),
            "on-demand": ContractRequest("lab", ContractKind.ON_DEMAND, POOL, T0 - H, T0 + 30 * 24 * H),
            "spot": ContractRequest(
                "research", ContractKind.SPOT, POOL, T0 - H, T0 + 30 * 24 * H, preemption_notice_s=30
            ),
        }
        contracts = {
            k: services.sign_contract(uow, r, memory.catalog, memory.new_id, T0 - H).id for k, r in sign.items()
        }
    engine = live.LiveEngine(memory.catalog, EngineConfig(ordering), policy=policy)
    arriving = workloads(seed)
    times = iter(stages(seed, len(arriving)))
    names = iter(f"w{i:03d}" for i in range(len(arriving)))
    now, ends = T0, set()  # every run's end as it started: the simulator decides at each, even if it was preempted
    while True:
        with memory.uow() as uow:
            while arriving and arriving[0][0] == now:
                _, kind, per_task, tasks, duration = arriving.pop(0)
                tenant = "t-research" if kind == "spot" else "t-lab"
                submit = live.submit_workload
                work = (contracts[kind], per_task, tasks, duration, now, lambda _: next(names), tenant, policy)
                submit(uow, *work, stages=next(times))
            engine.reconcile(uow, now)
            running = [w for w in uow.workloads.active(lock=False) if w.started is not None]
            ends |= {live._progress(w).ends_at() for w in running}  # at its pace when it shares GPUs
        upcoming = [t for t in ends if t > now] + ([arriving[0][0]] if arriving else [])
        if not upcoming:
            break
        now = min(upcoming)
    with memory.uow() as uow:
        records = uow.billing.usage_between(0, 1 << 40)
        runs = sorted((r.job_id, r.start, r.end, r.preempted) for r in records)
        jobs = [w.job for w in uow.workloads.page()]
        assert not uow.workloads.active(lock=False), "every workload finished"
    gpus = {j.id: j.gpus for j in jobs}
    return runs, jobs, sum(r.milli_gpus < gpus[r.job_id] * 1000 for r in records)  # metered at a share


def run_simulated(memory: MemoryStore, ordering: str, jobs: list[Job]) -> list[Any]:
    with memory.uow() as uow:
        nodes = nodes_by_pool(uow.fleet.list_sites(), memory.catalog)[POOL]
    config = EngineConfig(
        ordering, quotas={"t-lab": RESERVED_GPUS + QUOTA, "t-research": QUOTA}, entitlements={"t-lab": RESERVED_GPUS}
    )
    runs: list[Any] = []
    simulate(jobs, Cluster(nodes), config, on_run=lambda job, start, end, pre: runs.append((job.id, start, end, pre)))
    return sorted(runs)


@pytest.mark.parametrize("ordering", ["fifo", "fifo-greedy", "sjf", "srtf", "srsf", "fair", "easy", "muri-s", "muri-l"])
@pytest.mark.parametrize("seed", [1, 2])
def test_live_and_simulated_runs_decide_alike(memory: MemoryStore, ordering: str, seed: int) -> None:
    live_runs, jobs, shared = run_live(memory, ordering, seed)
    assert len(jobs) == 60
    assert any(preempted for *_, preempted in live_runs), "work was preempted at least once"
    assert (shared > 0) == ordering.startswith("muri"), "only interleaving orderings share GPUs"
    assert live_runs == run_simulated(memory, ordering, jobs)
