"""Reservations on their own nodes, on the in-memory store with a clock the test moves: whole units aligned
to the fabric, given back at the end, a failed node replaced automatically (spot work on the replacement
keeping its notice), and the time a tenant was short of a node on its invoice as an SLA credit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from neocloud.app import assignment, billing, live, nodes, services
from neocloud.app.services import ContractRequest
from neocloud.core.billing.periods import month
from neocloud.core.contracts import ContractKind, TenantKind
from neocloud.core.errors import Overbooked
from neocloud.core.nodes import NodeState

from ..builders import POOL
from ..memory_store import MemoryStore

MAY = month("2025-05")  # 31 days
H = 3600


def sign(memory: MemoryStore, tenant: str, kind: ContractKind, gpus: int = 0, **kw: Any) -> str:
    with memory.uow() as uow:
        request = ContractRequest(tenant, kind, POOL, MAY.start, MAY.end, gpus=gpus, **kw)
        return services.sign_contract(uow, request, memory.catalog, memory.new_id, MAY.start).id


def step(memory: MemoryStore, engine: live.LiveEngine, now: int) -> dict[str, int]:
    with memory.uow() as uow:
        return engine.reconcile(uow, now)


def held(memory: MemoryStore, contract: str) -> list[str]:
    with memory.uow() as uow:
        return sorted(r.node for r in uow.assignments.current() if r.contract_id == contract)


def set_state(memory: MemoryStore, node: str, state: NodeState, at: int) -> None:
    with memory.uow() as uow:
        nodes.set_state(uow, memory.catalog, node, state, "test", at)


def incidents(memory: MemoryStore) -> list[Any]:
    with memory.uow() as uow:
        return uow.billing.list_incidents([POOL], MAY.start, MAY.end)


def test_whole_units_get_nodes_of_their_own_for_their_term(memory: MemoryStore) -> None:
    lab = sign(memory, "lab", ContractKind.RESERVED, 16)
    odd = sign(memory, "research", ContractKind.INTERNAL, 12)  # not whole nodes: honoured on the shared nodes
    engine = live.LiveEngine(memory.catalog)
    assert step(memory, engine, MAY.start)["assigned"] == 2
    assert held(memory, lab) == ["b-000-r00-n00", "b-000-r00-n01"]  # one rack
    assert held(memory, odd) == []
    assert step(memory, engine, MAY.start + 60)["assigned"] == 0  # kept, not chosen again
    step(memory, engine, MAY.end + 5)
    with memory.uow() as uow:
        spans = uow.assignments.of_contract(lab)
    assert [(s.since, s.until) for s in spans] == [(MAY.start, MAY.end)] * 2  # given back at the contract's end
    assert held(memory, lab) == []


def test_a_failed_node_is_replaced_and_its_work_moves_with_it(memory: MemoryStore) -> None:
    lab = sign(memory, "lab", ContractKind.RESERVED, 16)
    sign(memory, "research", ContractKind.INTERNAL, 96)  # 12 nodes: 2 of the 16 stay free
    told: list[Any] = []
    engine = live.LiveEngine(memory.catalog, on_heal=told.append)
    step(memory, engine, MAY.start)
    before = held(memory, lab)
    t = MAY.start + 10 * H
    with memory.uow() as uow:
        work = live.submit_workload(uow, lab, 8, 2, 5 * H, t - 60, memory.new_id, catalog=memory.catalog)
    step(memory, engine, t - 60)
    set_state(memory, before[0], NodeState.DOWN, t)
    counts = step(memory, engine, t + 4)
    assert (counts["healed"], counts["preempted"]) == (1, 1)  # its work stopped with the node
    after = held(memory, lab)
    [replacement] = set(after) - set(before)
    assert before[0] not in after
    assert len(after) == 2
    [incident] = incidents(memory)
    assert (incident.start, incident.end, incident.gpus, incident.contract_id) == (t, t + 4, 8, lab)
    assert incident.description == f"node {before[0]} out of service 4 s; replaced by {replacement}"
    assert [(h.contract_id, h.failed, h.by, h.seconds) for h in told] == [(lab, before[0], replacement, 4)]
    step(memory, engine, t + 5)
    with memory.uow() as uow:
        again = uow.workloads.get(work.job.id)
    assert again is not None
    assert {n for n, _ in again.allocation or ()} == set(after)


def test_spot_work_on_the_replacement_gets_its_notice(memory: MemoryStore) -> None:
    lab = sign(memory, "lab", ContractKind.RESERVED, 16)
    sign(memory, "research", ContractKind.INTERNAL, 96)
    spot = sign(memory, "research", ContractKind.SPOT, preemption_notice_s=30)
    engine = live.LiveEngine(memory.catalog)
    with memory.uow() as uow:
        live.submit_workload(uow, spot, 8, 2, 10 * H, MAY.start, memory.new_id)  # the 2 free nodes
    step(memory, engine, MAY.start)
    before = held(memory, lab)
    t = MAY.start + H
    set_state(memory, before[0], NodeState.DOWN, t)
    assert step(memory, engine, t + 2)["preempted"] == 0  # the spot work has 30 s
    assert step(memory, engine, t + 31)["preempted"] == 0
    assert step(memory, engine, t + 32)["preempted"] == 1  # handed over
    [incident] = incidents(memory)
    assert (incident.start, incident.end) == (t, t + 32)


def test_a_node_back_before_any_replacement_ends_the_incident_and_the_credit_follows(memory: MemoryStore) -> None:
    lab = sign(memory, "lab", ContractKind.RESERVED, 16, sla_uptime=Decimal("0.99"))
    sign(memory, "research", ContractKind.INTERNAL, 112)  # every node sold: nothing to replace with
    engine = live.LiveEngine(memory.catalog)
    step(memory, engine, MAY.start)
    failed = held(memory, lab)[0]
    t = MAY.start + 10 * H
    set_state(memory, failed, NodeState.DOWN, t)
    assert step(memory, engine, t + 1)["healed"] == 0
    assert incidents(memory) == []  # still open
    set_state(memory, failed, NodeState.UP, t + 15 * H)
    step(memory, engine, t + 15 * H + 3)
    [incident] = incidents(memory)
    assert (incident.start, incident.end, incident.gpus) == (t, t + 15 * H, 8)
    assert incident.description == f"node {failed} out of service 54000 s; back up"
    with memory.uow() as uow:
        invoice = billing.generate_invoice(uow, memory.catalog, "lab", "2025-05", MAY.end + 1, memory.new_id)
    # 16 GPUs x 744 h x $2.40 = $28,569.60. Out: 8 GPUs x 15 h = 120 of 11,904 GPU-h: availability 98.99 %,
    # below 99 %: the first tier, 10 % = $2,856.96 back.
    [credit] = [line for line in invoice.lines if line.kind == "sla-credit"]
    assert credit.amount == Decimal("-2856.96")
    assert invoice.total == Decimal("25712.64")


NVL72 = """
sites:
  - name: g
    power_mw: 10
    blocks:
      - {name: su, count: 2, racks: 2, nodes_per_rack: 18, node: {gpu_model: gb200-nvl72, gpus: 4}}
"""


def test_an_nvl72_rack_is_one_unit(catalog: Any) -> None:
    from neocloud.adapters.specs import parse_fleet

    memory = MemoryStore(catalog)
    with memory.uow() as uow:
        services.add_sites(uow, parse_fleet(NVL72, "g.yaml", catalog), catalog)
        services.add_tenant(uow, "lab", TenantKind.EXTERNAL, lambda p: "t-lab")
        one, two = (
            services.sign_contract(
                uow, ContractRequest("lab", ContractKind.RESERVED, "g/gb200-nvl72", MAY.start, MAY.end, gpus=gpus),
                catalog, memory.new_id, MAY.start,
            ).id
            for gpus in (72, 144)
        )  # fmt: skip
        report = assignment.assign(uow, catalog, MAY.start, memory.new_id)
        spans = uow.assignments.current()
    assert report.assigned == 3  # racks
    racks = {c: {s.node.rpartition("-n")[0] for s in spans if s.contract_id == c} for c in (one, two)}
    assert len(racks[one]) == 1  # one whole rack: its 18 trays
    assert len([s for s in spans if s.contract_id == one]) == 18
    assert len(racks[two]) == 2  # 144: two racks of one block, not split across blocks
    assert len({r.rpartition("-r")[0] for r in racks[two]}) == 1
    assert not racks[one] & racks[two]


def test_spares_are_kept_unsold_and_replace_failed_nodes(memory: MemoryStore) -> None:
    with memory.uow() as uow:
        kept = assignment.set_spares(uow, memory.catalog, POOL, 2, MAY.start - H, memory.new_id)
    assert (kept.units, kept.gpus, kept.since) == (2, 16, MAY.start - H)
    lab = sign(memory, "lab", ContractKind.RESERVED, 16)
    sign(memory, "research", ContractKind.INTERNAL, 96)  # 112 of 128: the rest is the spares'
    with pytest.raises(Overbooked):
        sign(memory, "research", ContractKind.INTERNAL, 8)
    with pytest.raises(Overbooked), memory.uow() as uow:  # more spares than is unsold
        assignment.set_spares(uow, memory.catalog, POOL, 3, MAY.start, memory.new_id)
    engine = live.LiveEngine(memory.catalog)
    step(memory, engine, MAY.start)
    set_state(memory, held(memory, lab)[0], NodeState.DOWN, MAY.start + H)
    assert step(memory, engine, MAY.start + H + 1)["healed"] == 1  # from the spares
    with memory.uow() as uow:
        assert assignment.spares(uow, memory.catalog, POOL, MAY.start + H).units == 2
        assert assignment.set_spares(uow, memory.catalog, POOL, 0, MAY.start + 2 * H, memory.new_id).units == 0
        [hold] = [h for h in uow.ledger.load([POOL], lock=False).holds(POOL) if h.kind == "spare"]
    assert (hold.start, hold.end) == (MAY.start - H, MAY.start + 2 * H)  # kept as it was until it changed
