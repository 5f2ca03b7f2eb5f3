"""The one engine's configuration, the same under both clocks: the simulator's virtual one (sim/simulator.py)
and the live server's real one (app/live.py). It names the policies and builds the scheduler from them."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from neocloud.core.engine.cluster import Capacity
from neocloud.core.engine.ordering import ORDERINGS, tiresias_ordering
from neocloud.core.engine.placement import PLACEMENTS, Placement
from neocloud.core.engine.pooled import POOLED, PooledCluster, pooled_fit
from neocloud.core.engine.scheduler import Scheduler
from neocloud.core.engine.sharing import SHARING_PLACEMENTS, SharedCluster, sharing_placement
from neocloud.core.engine.tiresias import PUBLISHED, Tiresias
from neocloud.core.errors import InvalidInput
from neocloud.core.workload import Job


@dataclass(frozen=True, slots=True)
class EngineConfig:
    ordering: str = "fifo"  # core/engine/ordering.py
    placement: str = "bestfit"  # core/engine/placement.py, or sharing.py on GPU-sharing clusters
    seed: int = 0  # of the placements' random choices
    quotas: Mapping[str, int] | None = None  # tenant -> max GPUs at once
    entitlements: Mapping[str, int] | None = None  # tenant -> GPUs its reservations hold (see Scheduler)
    tiresias: Tiresias = PUBLISHED  # its queues and starvation rule, when the ordering is tiresias

    def check(self) -> EngineConfig:
        """Refuse policy names the engine does not know (before any work is done)."""
        if self.ordering not in ORDERINGS:
            raise InvalidInput(f"unknown ordering policy {self.ordering!r}; known: {', '.join(ORDERINGS)}")
        if self.placement not in PLACEMENTS and self.placement not in SHARING_PLACEMENTS and self.placement != POOLED:
            known = ", ".join(dict.fromkeys([*PLACEMENTS, *SHARING_PLACEMENTS, POOLED]))
            raise InvalidInput(f"unknown placement policy {self.placement!r}; known: {known}")
        return self

    def scheduler(self, cluster: Capacity, jobs: Sequence[Job]) -> Scheduler[Any]:
        """The engine for this cluster: gang placements for whole-GPU clusters, the GPU-sharing ones (which
        FGD tunes to `jobs`) for shared clusters."""
        self.check()
        placement: Placement[Any]
        if isinstance(cluster, SharedCluster):
            placement = sharing_placement(self.placement, jobs)
        elif isinstance(cluster, PooledCluster):
            placement = pooled_fit  # no nodes to place on: the pool holds the gang or it waits
        elif self.placement == POOLED:
            raise InvalidInput(f"placement {POOLED!r} is for a pooled cluster (pooled:GPUS); this one has nodes")
        elif needy := next((j for j in jobs if j.shares_gpu or j.cpu_milli_per_task or j.memory_mib_per_task), None):
            raise InvalidInput(
                f"job {needy.id} asks for {needy.gpu_milli} milli-GPU, {needy.cpu_milli_per_task} milli-CPU and "
                f"{needy.memory_mib_per_task} MiB per task; this cluster tracks whole GPUs only: use a GPU-sharing "
                "fleet (openb:NODES.csv)",
                job=needy.id,
            )
        elif self.placement in PLACEMENTS:
            placement = PLACEMENTS[self.placement]
        else:
            raise InvalidInput(
                f"unknown placement policy {self.placement!r} for whole GPUs; known: {', '.join(PLACEMENTS)} "
                "(a GPU-sharing policy: use a GPU-sharing fleet, openb:NODES.csv)"
            )
        return Scheduler(
            tiresias_ordering(self.tiresias) if self.ordering == "tiresias" else ORDERINGS[self.ordering],
            placement,
            random.Random(self.seed),
            dict(self.quotas or {}),
            dict(self.entitlements or {}),
        )
