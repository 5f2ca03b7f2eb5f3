"""neocloud in front of a real Slurm cluster (tests/slurm.py), with the server as a real process on SQLite and
PostgreSQL: a signed reservation becomes a Slurm reservation on its nodes within seconds; a node Slurm marks
down is replaced in that reservation within seconds, the time it was out is an incident from Slurm's own
time of the failure, and the credit on the invoice follows from it; drains go both ways."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from neocloud import bootstrap
from neocloud.adapters.slurm.cli import SlurmCli
from neocloud.adapters.slurm.localcluster import LocalSlurm
from neocloud.app import billing
from neocloud.core.billing.periods import month_of

from ..slurm import NODES, POOL, slurm_server, until


@pytest.fixture
def server(ctx: bootstrap.Context, slurm: SlurmCli, slurm_cluster: LocalSlurm, tmp_path: Path) -> Any:
    with slurm_server(ctx, slurm_cluster, tmp_path / "server.log", ["lab"]) as call:
        yield call


def reservation(slurm: SlurmCli, name: str) -> frozenset[str]:
    found = slurm.reservations().get(name)
    return frozenset() if found is None else found.nodes


def test_reservations_follow_contracts_and_failed_nodes_heal(
    server: Any, slurm: SlurmCli, ctx: bootstrap.Context
) -> None:
    now = ctx.now()
    body = {"tenant": "lab", "pool": POOL, "start": now, "end": now + 120, "gpus": 16, "sla_uptime": "0.999"}
    contract = server("POST", "/contracts", "operator", json=body)

    def mine() -> frozenset[str]:
        spans = server("GET", f"/contracts/{contract['id']}/nodes", "lab")
        return frozenset(s["node"] for s in spans if s["until"] is None)

    signed = until(lambda: len(mine()) == 2 and reservation(slurm, contract["id"]) == mine(), 5, "reserved in Slurm")
    print(f"\nsigned -> Slurm reservation on its 2 nodes: {signed:.2f} s")
    assert slurm.reservations()[contract["id"]].accounts == {"t-lab"}

    failed = sorted(mine())[0]
    slurm.run("scontrol", "update", f"NodeName={failed}", "State=DOWN", "Reason=gpu-xid-79")
    down_at = slurm.nodes()[failed].since

    def replaced() -> bool:
        reserved = reservation(slurm, contract["id"])
        return failed not in reserved and len(reserved) == 2

    healed = until(replaced, 10, "healed")
    print(f"node down in Slurm -> replaced in the Slurm reservation: {healed:.2f} s")
    with ctx.uow() as uow:
        [incident] = uow.billing.list_incidents([POOL], now - 60, now + 600)
        spans = uow.assignments.of_contract(contract["id"])
        node_state = uow.nodes.current()[failed]
    [ended] = [s for s in spans if s.until is not None]
    [replacement] = [s for s in spans if s.since == ended.until]
    assert ended.node == failed
    assert replacement.node in reservation(slurm, contract["id"])
    assert (incident.start, incident.end, incident.gpus) == (down_at, replacement.since, 8)  # Slurm's own time
    assert node_state.state == "down"
    assert node_state.reason == "slurm: gpu-xid-79"

    # The credit, by hand: 16 GPUs x 120 s x $2.40/h = $1.28; out: 8 GPUs for s seconds of 16 GPUs x 120 s.
    out = incident.end - incident.start
    availability = 1 - Decimal(8 * out) / Decimal(16 * 120)
    ladder = [(Decimal("0.90"), 100), (Decimal("0.95"), 25), (Decimal("0.999"), 10)]  # the default tiers, SLA 99.9 %
    percent = next((pct for below, pct in ladder if availability < below), 0)
    assert percent, "a few seconds out of 120 is below 99.9 %"
    with ctx.uow() as uow:
        period = month_of(now)
        invoice = billing.generate_invoice(uow, ctx.catalog, "lab", period.key, period.end, ctx.new_id)
    credits = [line.amount for line in invoice.lines if line.kind == "sla-credit"]
    expected = (Decimal("1.28") * percent / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert credits == [-expected]
    print(f"out of service {out} s: availability {availability:.4%}, credit ${expected}")


def test_drains_go_both_ways(server: Any, slurm: SlurmCli, ctx: bootstrap.Context) -> None:
    ours, theirs = NODES[0], NODES[1]
    server("POST", f"/nodes/{ours}/drain", "operator", json={"reason": "fan alarm"})
    until(lambda: slurm.nodes()[ours].state == "draining", 5, "our drain reaches Slurm")
    assert slurm.nodes()[ours].reason == "neocloud: fan alarm"
    server("POST", f"/nodes/{ours}/resume", "operator")
    until(lambda: slurm.nodes()[ours].state == "up", 5, "our resume reaches Slurm")
    slurm.drain(theirs, "bad dimm")
    until(lambda: server("GET", f"/nodes/{theirs}", "operator")["state"] == "draining", 5, "Slurm's drain reaches us")
    assert server("GET", f"/nodes/{theirs}", "operator")["reason"] == "slurm: bad dimm"
    slurm.resume(theirs)
    until(lambda: server("GET", f"/nodes/{theirs}", "operator")["state"] == "up", 5, "Slurm's resume reaches us")


def test_a_tenants_own_jobs_on_its_reservations_nodes_are_metered(
    server: Any, slurm: SlurmCli, ctx: bootstrap.Context
) -> None:
    now = ctx.now()
    body = {"pool": POOL, "start": now, "end": now + 600, "gpus": 8}
    contract = server("POST", "/contracts", "lab", json=body)["id"]
    until(lambda: contract in slurm.reservations(), 5, "reserved in Slurm")
    job = slurm.submit(
        f"--reservation={contract}", "--account=t-lab", "--gres=gpu:4", "--output=/dev/null", "--wrap", "sleep 2"
    )
    # A job of the same account outside the reservation is not the contract's, and is not metered.
    elsewhere = slurm.submit("--account=t-lab", "--gres=gpu:2", "--output=/dev/null", "--wrap", "sleep 1")

    def metered() -> dict[str, Any]:
        with ctx.uow() as uow:
            return {r.job_id: r for r in uow.billing.usage_between(now - 60, now + 600)}

    def ran() -> dict[str, Any]:
        return {r.job_id: r for r in slurm.ended_jobs(now - 60, ctx.now() + 60) if r.job_id in (job, elsewhere)}

    until(lambda: len(ran()) == 2, 60, "both jobs ran in Slurm")
    took = until(lambda: f"slurm-{job}" in metered(), 10, "the tenant's own job metered")
    print(f"\na tenant's own job on its reservation's nodes metered {took:.1f} s after Slurm's accounting had it")
    run, record = ran()[job], metered()[f"slurm-{job}"]
    assert (record.contract_id, record.start, record.end, record.milli_gpus) == (contract, run.start, run.end, 4000)
    assert ran()[elsewhere].nodes.isdisjoint(reservation(slurm, contract))
    assert list(metered()) == [f"slurm-{job}"]
