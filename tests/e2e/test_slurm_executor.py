"""Work run for real on Slurm (tests/slurm.py) by the server with `--executor slurm`: every workload's job is
launched on the nodes the engine chose, preempted spot work is cancelled and launched again, and usage comes
from Slurm's accounting: none lost, none metered twice, each run's metered time Slurm's own."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from neocloud import bootstrap
from neocloud.adapters.slurm.cli import SlurmCli
from neocloud.adapters.slurm.localcluster import LocalSlurm

from ..slurm import POOL, slurm_server, until

JOBS = 100


@pytest.fixture
def server(ctx: bootstrap.Context, slurm: SlurmCli, slurm_cluster: LocalSlurm, tmp_path: Path) -> Any:
    with slurm_server(
        ctx, slurm_cluster, tmp_path / "server.log", ["lab", "research"], "--executor", "slurm", NEOCLOUD_RATE_LIMIT="0"
    ) as call:
        yield call


@dataclass(frozen=True)
class Run:
    job_id: str
    name: str
    state: str
    start: int
    end: int
    gpus: int


def sacct(slurm: SlurmCli, since: int, names: Iterable[str]) -> list[Run]:
    """Every job of these names that ran, read from sacct here (not through the adapter under test)."""
    out = json.loads(slurm.run("sacct", "--json", "-X", "-a", "-S", f"now-{int(time.time()) - since + 600}seconds"))
    runs = []
    for j in out["jobs"]:
        gpus = sum(int(t["count"] or 0) for t in j["tres"]["allocated"] if (t["type"], t["name"]) == ("gres", "gpu"))
        if j["name"] in set(names) and j["time"]["start"]:
            runs.append(
                Run(str(j["job_id"]), j["name"], j["state"]["current"], j["time"]["start"], j["time"]["end"], gpus)
            )
    return runs


def test_work_runs_on_slurm_and_is_metered_from_its_accounting(
    server: Any, slurm: SlurmCli, ctx: bootstrap.Context, tmp_path: Path
) -> None:
    now = ctx.now()
    term = {"pool": POOL, "start": now, "end": now + 3600}
    reserved = server("POST", "/contracts", "lab", json={**term, "gpus": 16})["id"]
    on_demand = server("POST", "/contracts", "lab", json={**term, "kind": "on-demand"})["id"]
    spot = server("POST", "/contracts", "research", json={**term, "kind": "spot"})["id"]
    rng = random.Random(7)
    # Spot work fills the shared nodes; once it runs there, on-demand work arrives and takes them back from spot,
    # while the reservation's work runs on its own nodes.
    waves = [
        (on_demand, "lab", 30, [4, 8], (2, 3)),
        (reserved, "lab", 30, [1, 2, 4], (2, 4)),
    ]
    submitted = []

    def submit(contract: str, who: str, count: int, sizes: list[int], durations: tuple[int, int]) -> list[str]:
        ids = []
        for _ in range(count):
            body = {"contract_id": contract, "gpus_per_task": rng.choice(sizes), "duration": rng.randint(*durations)}
            ids.append(server("POST", "/workloads", who, json=body)["id"])
        return ids

    # The reservation's own two nodes first: the other two are the shared nodes spot work fills.
    until(lambda: len(server("GET", f"/contracts/{reserved}/nodes", "lab")) == 2, 10, "the reservation's nodes")
    spot_work = submit(spot, "research", 40, [2], (10, 14))  # long enough to be running when on-demand work comes
    submitted += spot_work

    def shared_nodes_full_of_spot() -> bool:
        shown = [server("GET", f"/workloads/{w}", "operator")["status"] for w in spot_work]
        return shown.count("running") >= 8  # 16 shared GPUs, 2 per spot workload

    until(shared_nodes_full_of_spot, 60, "spot work running on every shared GPU")
    for wave in waves:
        submitted += submit(*wave)
    assert len(submitted) == JOBS

    def every_workload_ended() -> bool:
        shown = [server("GET", f"/workloads/{w}", "operator")["status"] for w in submitted]
        return all(s in ("finished", "failed") for s in shown)

    took = until(every_workload_ended, 240, "every workload ended")
    workloads = {w: server("GET", f"/workloads/{w}", "operator") for w in submitted}
    runs = sacct(slurm, now, workloads)
    failed = {
        w: [(r.job_id, r.state) for r in runs if r.name == w] for w, v in workloads.items() if v["status"] != "finished"
    }
    assert not failed, f"failed, with their Slurm jobs: {failed}"

    def metered() -> list[Any]:
        with ctx.uow() as uow:
            return uow.billing.usage_between(now - 60, ctx.now() + 60)

    until(lambda: len(metered()) >= len(runs), 30, "every run metered")
    records = metered()
    by_run = {(r.job_id, r.start): r for r in records}
    assert len(by_run) == len(records), "no run metered twice"
    seen = {(r.name, r.start) for r in runs}
    extra = [(r.job_id, r.start, r.end) for r in records if (r.job_id, r.start) not in seen]
    if extra:  # what Slurm says of them, for the failure's message
        ids = ",".join(j.removeprefix("slurm-") for j, _, _ in extra)
        extra.append(slurm.run("sacct", "-X", "-a", "-P", "-j", ids, "--format=JobID,JobName,Account,NodeList,State"))
    assert len(records) == len(runs), f"as many records as Slurm ran jobs; extra: {extra}"
    for run in runs:
        record = by_run[run.name, run.start]
        assert abs((record.end - record.start) - (run.end - run.start)) <= 1
        assert record.milli_gpus == run.gpus * 1000
    assert {r.job_id for r in records} == set(workloads), "every workload metered"
    preempted = sum(w["preemptions"] for w in workloads.values())
    said = [line for line in (tmp_path / "server.log").read_text().splitlines() if not line.startswith("{")]
    assert preempted > 0, f"spot work was preempted; the server said: {said[-20:]}"
    # A run stopped by a preemption is metered as preempted (one stopped before Slurm started it never ran).
    stopped = [r for r in records if r.preempted]
    assert len(stopped) <= preempted
    assert all(workloads[r.job_id]["preemptions"] > 0 for r in stopped)
    print(f"\n{JOBS} workloads, {len(runs)} Slurm jobs ({preempted} preemptions) in {took:.0f} s: 0 lost, 0 twice")


def test_slurm_preempts_spot_work_for_other_work_and_it_waits_again(
    server: Any, slurm: SlurmCli, ctx: bootstrap.Context
) -> None:
    now = ctx.now()
    term = {"pool": POOL, "start": now, "end": now + 3600}
    spot = server("POST", "/contracts", "research", json={**term, "kind": "spot"})["id"]
    body = {"contract_id": spot, "gpus_per_task": 8, "duration": 600}
    workload = server("POST", "/workloads", "research", json=body)["id"]

    def shown() -> Any:
        return server("GET", f"/workloads/{workload}", "operator")

    def running_in_slurm() -> bool:
        return shown()["status"] == "running" and slurm.active_jobs().get(workload, {}).get("job_state") == "RUNNING"

    until(running_in_slurm, 10, "spot work running")
    [(node, _)] = shown()["allocation"]
    # A tenant's own job of the default QOS, on that node: Slurm itself stops the spot work for it.
    slurm.add_account("t-lab")
    own = slurm.submit(
        "--account=t-lab", f"--nodelist={node}", "--gres=gpu:8", "--output=/dev/null", "--wrap", "sleep 2"
    )
    took = until(lambda: shown()["preemptions"] == 1, 20, "neocloud sees Slurm's preemption")
    print(f"\nSlurm preempted spot work for a tenant's own job; neocloud had it waiting again {took:.1f} s later")
    until(running_in_slurm, 30, "spot work running again once the tenant's job is done")
    server("POST", f"/workloads/{workload}/cancel", "research")
    runs = {r.job_id: r for r in sacct(slurm, now, [workload])}
    first = min(runs.values(), key=lambda r: int(r.job_id))
    assert first.state == "PREEMPTED"

    def metered() -> list[Any]:
        with ctx.uow() as uow:
            return [r for r in uow.billing.usage_between(now - 60, ctx.now() + 60) if r.job_id == workload]

    until(lambda: any(r.start == first.start for r in metered()), 10, "the preempted run metered")
    [record] = [r for r in metered() if r.start == first.start]
    assert (record.end, record.preempted) == (first.end, True)
    assert shown()["status"] == "cancelled"
    until(lambda: own in {r.job_id for r in slurm.ended_jobs(now - 60, ctx.now() + 60)}, 10, "the tenant's job ran")
