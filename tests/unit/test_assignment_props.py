"""The assignment against the count ledger, under random signings, cancellations, extensions, node failures
and recoveries and the passing of time (Hypothesis): after every step, no node is any two contracts', no
contract holds more than its GPUs or a node it was given while not up, every assigned contract's GPUs are
within what the ledger holds for it now, and a contract is short of units only when no healthy unit is free."""

from __future__ import annotations

import itertools

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from neocloud.adapters.specs import default_catalog
from neocloud.app import assignment, nodes, services
from neocloud.app.services import ContractRequest
from neocloud.core.contracts import ContractKind
from neocloud.core.errors import NeocloudError
from neocloud.core.nodes import NodeState

from ..builders import POOL, T0, seed
from ..memory_store import MemoryStore

DAY = 86_400
CATALOG = default_catalog()
NODES = [f"b-000-r0{r}-n0{k}" for r in range(2) for k in range(8)]


class AssignmentMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.memory = seed(MemoryStore(CATALOG))
        self.now = T0
        self.ids = itertools.count()
        self.contracts: list[str] = []
        self.seen: set[tuple[str, str, int]] = set()

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self.ids)}"

    def _try(self, action) -> None:  # type: ignore[no-untyped-def]
        try:
            with self.memory.uow() as uow:
                action(uow)
        except NeocloudError:
            pass  # refused: nothing written (the services' own tests check that)

    @rule(
        tenant=st.sampled_from(["lab", "research"]),
        kind=st.sampled_from([ContractKind.RESERVED, ContractKind.INTERNAL]),
        gpus=st.sampled_from([8, 16, 24, 32, 64, 12]),
        offset=st.integers(0, 5 * DAY),
        days=st.integers(1, 20),
    )
    def sign(self, tenant: str, kind: ContractKind, gpus: int, offset: int, days: int) -> None:
        start = self.now + offset
        request = ContractRequest(tenant, kind, POOL, start, start + days * DAY, gpus=gpus)

        def signed(uow) -> None:  # type: ignore[no-untyped-def]
            self.contracts.append(services.sign_contract(uow, request, CATALOG, self.new_id, self.now).id)

        self._try(signed)

    @precondition(lambda self: self.contracts)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        chosen = data.draw(st.sampled_from(self.contracts))
        self._try(lambda uow: services.cancel_contract(uow, chosen, self.now))

    @precondition(lambda self: self.contracts)
    @rule(data=st.data(), days=st.integers(1, 10))
    def extend(self, data: st.DataObject, days: int) -> None:
        chosen = data.draw(st.sampled_from(self.contracts))
        self._try(lambda uow: services.extend_contract(uow, chosen, uow.contracts.get(chosen).end + days * DAY))

    @rule(node=st.sampled_from(NODES), state=st.sampled_from(list(NodeState)))
    def node_changes(self, node: str, state: NodeState) -> None:
        self._try(lambda uow: nodes.set_state(uow, CATALOG, node, state, "", self.now))

    @rule(seconds=st.integers(1, 3 * DAY))
    def time_passes(self, seconds: int) -> None:
        self.now += seconds
        with self.memory.uow() as uow:
            assignment.assign(uow, CATALOG, self.now, self.new_id)

    @invariant()
    def consistent_with_the_ledger(self) -> None:
        with self.memory.uow() as uow:
            assignment.assign(uow, CATALOG, self.now, self.new_id)  # at once again: changes nothing more
        with self.memory.uow() as uow:
            spans = uow.assignments.current()
            states = {n: e.state for n, e in uow.nodes.current().items()}
            in_force = {c.id: c for c in uow.contracts.holding([POOL], self.now)}
            ledger = uow.ledger.load([POOL], lock=False)
            units = nodes.units_by_pool(uow, CATALOG)[POOL]
        owners = [s.node for s in spans]
        assert len(owners) == len(set(owners)), "no node is two contracts'"
        held: dict[str, int] = {}
        for s in spans:
            assert s.contract_id in in_force, "only contracts in force hold nodes"
            held[s.contract_id] = held.get(s.contract_id, 0) + 8
            if (s.contract_id, s.node, s.since) not in self.seen:  # given in this step: up now
                assert states.get(s.node, NodeState.UP) is NodeState.UP, "given only while up"
                self.seen.add((s.contract_id, s.node, s.since))
        holds = {h.contract_id: h for h in ledger.holds(POOL)}
        for contract_id, gpus in held.items():
            hold = holds[contract_id]
            assert hold.start <= self.now < hold.end, "held by the ledger now"
            assert gpus <= hold.gpus, "within what the ledger holds"
        free = [n for n in NODES if n not in owners and states.get(n, NodeState.UP) is NodeState.UP]
        for contract in in_force.values():
            need = assignment.assignable(contract, {POOL: units})
            if need is not None and held.get(contract.id, 0) < contract.gpus:
                assert not free, f"{contract.id} is short while {free} are free"


TestAssignment = AssignmentMachine.TestCase
TestAssignment.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
