"""The node inventory on the in-memory store: states and their history, the refusals, and the live engine
keeping new work off nodes that are draining, down or in maintenance."""

from __future__ import annotations

import pytest

from neocloud.app import live, nodes, services
from neocloud.app.services import ContractRequest
from neocloud.core.contracts import ContractKind
from neocloud.core.errors import InvalidState, UnknownNode
from neocloud.core.nodes import NodeState

from ..builders import POOL, T0
from ..memory_store import MemoryStore

H = 3600
FIRST = "b-000-r00-n00"


def test_every_node_is_up_until_its_history_says_otherwise(memory: MemoryStore) -> None:
    with memory.uow() as uow:
        listed = nodes.inventory(uow, memory.catalog)
        assert len(listed) == 16
        assert {(n.pool, n.gpus, n.state) for n in listed} == {(POOL, 8, NodeState.UP)}
        assert listed[0].name == FIRST
        assert (listed[0].block, listed[0].rack, listed[0].nvlink_domain) == ("b-000", "b-000-r00", FIRST)
        drained = nodes.set_state(uow, memory.catalog, FIRST, NodeState.DRAINING, "bad fan", T0)
        assert (drained.state, drained.since, drained.reason) == (NodeState.DRAINING, T0, "bad fan")
        nodes.set_state(uow, memory.catalog, FIRST, NodeState.DOWN, "fan failed", T0 + 60)
        nodes.set_state(uow, memory.catalog, FIRST, NodeState.UP, "fan replaced", T0 + H)
        node, history = nodes.get_node(uow, memory.catalog, FIRST)
        assert node.state is NodeState.UP
        assert [(e.state, e.at) for e in history] == [
            (NodeState.DRAINING, T0),
            (NodeState.DOWN, T0 + 60),
            (NodeState.UP, T0 + H),
        ]
        assert [(c.state, c.nodes) for c in nodes.summary(nodes.inventory(uow, memory.catalog))] == [(NodeState.UP, 16)]


@pytest.mark.parametrize(
    ("first", "then"),
    [
        (NodeState.DRAINING, NodeState.DRAINING),  # the state it is in
        (NodeState.DOWN, NodeState.DRAINING),  # only a node that is up drains
        (NodeState.MAINTENANCE, NodeState.DRAINING),
    ],
)
def test_changes_that_change_nothing_are_refused_and_write_nothing(
    memory: MemoryStore, first: NodeState, then: NodeState
) -> None:
    with memory.uow() as uow:
        nodes.set_state(uow, memory.catalog, FIRST, first, "", T0)
    with pytest.raises(InvalidState), memory.uow() as uow:
        nodes.set_state(uow, memory.catalog, FIRST, then, "", T0 + 1)
    with memory.uow() as uow:
        assert len(uow.nodes.history(FIRST)) == 1
    with pytest.raises(InvalidState), memory.uow() as uow:
        nodes.set_state(uow, memory.catalog, "b-000-r00-n01", NodeState.UP, "", T0)  # up already
    with pytest.raises(UnknownNode), memory.uow() as uow:
        nodes.set_state(uow, memory.catalog, "nowhere", NodeState.DOWN, "", T0)


def test_the_live_engine_puts_no_new_work_on_nodes_that_are_not_up(memory: MemoryStore) -> None:
    engine = live.LiveEngine(memory.catalog)
    with memory.uow() as uow:
        request = ContractRequest("lab", ContractKind.ON_DEMAND, POOL, T0, T0 + 30 * 24 * H)
        contract = services.sign_contract(uow, request, memory.catalog, memory.new_id, T0).id
        running = live.submit_workload(uow, contract, 8, 1, 10 * H, T0, memory.new_id)
        engine.reconcile(uow, T0)
        [(busy, _)] = uow.workloads.get(running.job.id).allocation or ()
        for node in nodes.inventory(uow, memory.catalog)[:15]:  # all but the last node stop taking work
            state = NodeState.DRAINING if node.name == busy else NodeState.MAINTENANCE
            nodes.set_state(uow, memory.catalog, node.name, state, "", T0 + 1)
        single = live.submit_workload(uow, contract, 8, 1, H, T0 + 2, memory.new_id)
        gang = live.submit_workload(uow, contract, 8, 2, H, T0 + 3, memory.new_id)  # needs two nodes
        engine.reconcile(uow, T0 + 3)
        assert uow.workloads.get(running.job.id).status == "running"  # draining lets it finish
        assert uow.workloads.get(gang.job.id).status == "pending"
        assert uow.workloads.get(single.job.id).allocation == (("b-000-r01-n07", 8),)  # the one node up
        engine.reconcile(uow, T0 + 10 * H)  # the drained node's work ends: the node still takes none
        assert uow.workloads.get(running.job.id).status == "finished"
        assert uow.workloads.get(gang.job.id).status == "pending"
