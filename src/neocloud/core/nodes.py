"""Nodes' states: whether a node takes work, and since when. Nodes themselves come from the fleet (their
names, places and GPUs are generated from its specs); what changes is their state, kept as a history."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from neocloud.core.errors import InvalidState, quoted


class NodeState(StrEnum):
    """Up takes work. Draining takes no new work and lets what runs there finish; down has failed;
    maintenance is out of service on purpose. Every node is up until its history says otherwise."""

    UP = "up"
    DRAINING = "draining"
    DOWN = "down"
    MAINTENANCE = "maintenance"


@dataclass(frozen=True, slots=True)
class NodeEvent:
    """A node entered `state` at `at` (Unix seconds), for `reason`."""

    node: str
    state: NodeState
    at: int
    reason: str = ""


def transition(node: str, current: NodeState, wanted: NodeState) -> None:
    """Refuse what does not change anything or makes no sense: draining a node that is not up (a down node
    takes no work already), or putting a node in the state it is in."""
    if wanted is current:
        raise InvalidState(f"node {quoted(node)} is {current.value} already", node=node, state=current.value)
    if wanted is NodeState.DRAINING and current is not NodeState.UP:
        raise InvalidState(
            f"node {quoted(node)} is {current.value}: only a node that is up can drain", node=node, state=current.value
        )
