"""The live engine: the scheduling engine of the simulator, run on the real clock against the store.

Each reconcile step, in one transaction: finish the work the executor reports done (metering its run),
rebuild the cluster's free GPUs from what is running, keep each site's work within its power budget now
(stopping work in contract order, powering nodes down), let the engine decide, stop and start work through
the executor (metering every run that stops), and save every workload's progress. The state lives in the
store, so a restarted server picks up where the last one stopped.
"""

from __future__ import annotations

import itertools
import logging
import math
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from neocloud.app.assignment import Healed, Report, assign, assignable, owners
from neocloud.app.billing import ingest_usage
from neocloud.app.credit import Policy, check_credit, check_quota, exposure, held_now
from neocloud.app.nodes import unavailable, units_by_pool
from neocloud.app.ports import Executor, RunEnd, UnitOfWork
from neocloud.app.records import Command, CurtailmentEvent, StoredWorkload
from neocloud.app.services import NewId, get_contract
from neocloud.core.billing.invoice import ZERO
from neocloud.core.billing.metering import UsageRecord
from neocloud.core.bounds import (
    MAX_DURATION,
    MAX_GPUS_PER_TASK,
    MAX_PREEMPTION_NOTICE,
    MAX_TASKS,
    check_command,
    check_count,
)
from neocloud.core.catalog import Catalog
from neocloud.core.contracts import Contract, ContractKind, ContractStatus
from neocloud.core.engine.budget import Cap, Draw, Feed, Ramp, dark_nodes, fit, site_feeds
from neocloud.core.engine.cluster import Allocation, Cluster, NodeSpec, nodes_by_pool
from neocloud.core.engine.config import EngineConfig
from neocloud.core.engine.ordering import ORDERINGS
from neocloud.core.engine.scheduler import Decisions, apply_decisions
from neocloud.core.engine.state import JobState
from neocloud.core.errors import InvalidInput, InvalidState, NeocloudError, NotFound, UnknownContract, quoted
from neocloud.core.fleet import Site
from neocloud.core.power import IT_KW_PER_CAP_WATT, Capping, gpu_power, slowed
from neocloud.core.workload import MILLI, Job, PriorityClass, WorkloadStatus

log = logging.getLogger("neocloud.live")
DEFAULT_POLICY = Policy()
PRIORITY = {
    ContractKind.RESERVED: PriorityClass.RESERVED,
    ContractKind.ON_DEMAND: PriorityClass.ON_DEMAND,
    ContractKind.SPOT: PriorityClass.SPOT,
    ContractKind.INTERNAL: PriorityClass.INTERNAL,
}


class TimedExecutor:
    """The stand-in executor: a workload runs for the duration it declared, and nothing really starts. Its
    runs are metered by the engine, from its own clock."""

    meters_itself = False  # the engine meters what this executor runs
    caps_power = True  # a cap slows the work it stands for (nothing real runs)
    shares_gpus = True  # work may share GPUs (interleaving): nothing real contends for them

    def launch(self, workload: StoredWorkload, allocation: tuple[tuple[str, int], ...], now: int) -> None:
        return None

    def halt(self, workload: StoredWorkload, now: int) -> None:
        return None

    def finished_by(self, workload: StoredWorkload, now: int) -> tuple[int, RunEnd] | None:
        assert workload.started is not None
        end = _progress(workload).ends_at()
        return (end, RunEnd.SUCCEEDED) if end <= now else None


def _progress(w: StoredWorkload, allocation: Allocation | None = ()) -> JobState:
    """A workload's progress as the engine keeps it (its pace included, when capped): running since its start
    on `allocation` (by default on GPUs the engine need not know), or at rest with None."""
    started = None if allocation is None else w.started
    return JobState(
        w.job, w.remaining, w.attained, allocation, started, w.first_start,
        preemptions=w.preemptions, pace=w.pace, paced_at=w.paced_at,
    )  # fmt: skip


def _at_rest(w: StoredWorkload, **changes: Any) -> StoredWorkload:
    """A workload whose run ended (stopped, or cancelled): on no GPUs, at its contract's power again, with no
    notice pending, in no group."""
    return replace(
        w, started=None, allocation=None, cap_w=None, pace=1.0, paced_at=None, stops_at=None, group=(), **changes
    )


def submit_workload(
    uow: UnitOfWork,
    contract_id: str,
    gpus_per_task: int,
    tasks: int,
    duration: int,
    now: int,
    new_id: NewId,
    tenant_id: str | None = None,
    policy: Policy = DEFAULT_POLICY,
    catalog: Catalog | None = None,
    command: Command | None = None,
    stages: tuple[float, ...] = (),
    iteration: float | None = None,
) -> StoredWorkload:
    """Queue a job under a contract (it is metered and billed against it); under a contract's power cap its
    `duration` (at TDP) takes as much longer as the cap slows training work. `stages`: seconds each stage of one
    training iteration takes alone (storage, CPU, GPU), and `iteration` the whole (by default their sum): an
    interleaving ordering (Muri) may then share its GPUs with work whose bottleneck differs. With `tenant_id`,
    the contract must be that tenant's. Refused when it needs more GPUs than the tenant's reservations in the
    pool and its quota there allow, and while the tenant's exposure is at its credit limit; with `catalog`,
    also when it is larger than the nodes of its own that the contract has (it would wait for ever)."""
    check_count(gpus_per_task, "gpus_per_task", 1, MAX_GPUS_PER_TASK)
    check_count(tasks, "tasks", 1, MAX_TASKS)
    check_count(duration, "duration", 1, MAX_DURATION)
    if command is not None:
        check_command(command.run, command.env, command.workdir, command.output)
    if iteration is not None and not stages:
        raise InvalidInput("an iteration time needs the stage times it is made of", iteration=iteration)
    contract = get_contract(uow, contract_id)
    if tenant_id is not None and contract.tenant_id != tenant_id:
        raise UnknownContract(f"unknown contract {quoted(contract_id)}", contract=contract_id)
    if contract.status is not ContractStatus.ACTIVE or not contract.start <= now < contract.end:
        raise InvalidState(f"contract {contract_id} is not in force now", contract=contract_id)
    pool = uow.fleet.get_pool(contract.pool)
    if pool is None:
        raise NotFound(f"unknown pool {quoted(contract.pool)}", pool=contract.pool)
    job = Job(
        new_id("w"),
        now,
        duration,
        gpus_per_task,
        tasks,
        contract.tenant_id,
        PRIORITY[contract.kind],
        gpu_model=pool.gpu_model,
        iteration=sum(stages) if iteration is None else iteration,
        stages=stages,
    )
    if job.gpus > pool.gpus:
        raise InvalidInput(f"{job.gpus} GPUs can never fit pool {pool.name} of {pool.gpus}", gpus=job.gpus)
    if contract.cap_w is not None and catalog is not None:  # under the contract's cap its GPUs run slower
        job = slowed(job, gpu_power(catalog[pool.gpu_model]).throughput(contract.cap_w))
    site = uow.fleet.get_site(pool.site)
    per_node = max((g.node.gpus for g in site.blocks if g.node.gpu_model == pool.gpu_model), default=0) if site else 0
    if gpus_per_task > per_node:
        raise InvalidInput(
            f"a task of {gpus_per_task} GPUs fits no node of pool {pool.name} ({per_node} GPUs per node)",
            gpus_per_task=gpus_per_task,
        )
    own = catalog is not None and policy.dedicated_nodes and job.gpus > contract.gpus
    if own and catalog is not None and assignable(contract, units_by_pool(uow, catalog)) is not None:
        raise InvalidInput(
            f"{job.gpus} GPUs do not fit the {contract.gpus} GPUs of contract {contract.id}'s own nodes;"
            " submit larger work under an on-demand contract",
            gpus=job.gpus,
        )
    limits = uow.tenants.get_limits([contract.tenant_id])[contract.tenant_id]
    held = held_now(uow.contracts.holding([pool.name], now), contract.tenant_id, pool.name, now)
    check_quota(limits, held, pool.name, job.gpus, policy)
    if limits.credit_limit is not None:
        check_credit(limits, exposure(uow, contract.tenant_id, now), ZERO, f"workload of {job.gpus:,} GPUs")
    workload = StoredWorkload(job, contract.id, WorkloadStatus.PENDING, job.duration, command=command)
    uow.workloads.save(workload)
    return workload


def cancel_workload(
    uow: UnitOfWork, workload_id: str, now: int, tenant_id: str | None = None, executor: Executor | None = None
) -> StoredWorkload:
    workload = uow.workloads.get(workload_id)
    if workload is None or (tenant_id is not None and workload.job.tenant != tenant_id):
        raise NotFound(f"unknown workload {quoted(workload_id)}", workload=workload_id)
    if not workload.status.active:
        raise InvalidState(f"workload {workload_id} is already {workload.status}", workload=workload_id)
    if workload.status is WorkloadStatus.RUNNING:
        executor = executor or TimedExecutor()
        executor.halt(workload, now)
        _meter(uow, executor, workload, now, preempted=False)
    cancelled = _at_rest(
        workload,
        status=WorkloadStatus.CANCELLED,
        finished=now,
        remaining=_progress(workload).remaining_at(now) if workload.started else workload.remaining,
    )
    uow.workloads.save(cancelled)
    return cancelled


def _meter(uow: UnitOfWork, executor: Executor, workload: StoredWorkload, end: int, *, preempted: bool) -> None:
    """A run that ended, metered from the engine's clock, unless the executor's own accounting meters it
    (Slurm: app/accounting.py)."""
    assert workload.started is not None
    if end <= workload.started or executor.meters_itself:
        return
    job = workload.job
    record = UsageRecord.of_run(
        get_contract(uow, workload.contract_id),
        job.gpu_model or "",
        job.id,
        _metered_milli(workload),
        workload.started,
        end,
        preempted,
    )
    ingest_usage(uow, [record])


def _metered_milli(w: StoredWorkload) -> int:
    """The milli-GPUs a run is metered at: its GPUs, or, while it shares them with an interleaved group, its
    equal share of them (the members' shares add up to the GPUs exactly; the first members take the
    remainder), so that the GPUs' hours are billed once."""
    whole = w.job.gpus * MILLI
    if len(w.group) < 2:
        return whole
    share, extra = divmod(whole, len(w.group))
    return share + (w.group.index(w.job.id) < extra)


def _entitlements(contracts: Iterable[Contract], now: int) -> dict[str, int]:
    """GPUs each tenant's reservations hold now: what its work may count on, ahead of on-demand work."""
    held: dict[str, int] = defaultdict(int)
    for c in contracts:
        if c.books_capacity and c.start <= now < c.end:  # a cancelled contract holds until its notice ends
            held[c.tenant_id] += c.gpus
    return dict(held)


@dataclass
class LiveEngine:
    """The engine on the real clock. Keeps the fleet's nodes between steps; everything else is read from the
    store each step.

    Each pool is its own cluster: a workload runs on the nodes of its contract's pool (that site, that GPU
    model), and competes with the work and reservations of that pool only. With the policy's
    `dedicated_nodes`, a reservation of whole units runs its work on its own nodes (app/assignment.py), each
    as a cluster of its own, and the rest of the pool is shared by everything else. `engine` chooses the
    policies (the simulator's EngineConfig: the same names, the same scheduler); quotas and entitlements come
    from the tenants' contracts and limits at each step.
    """

    catalog: Catalog
    engine: EngineConfig = field(default_factory=EngineConfig)
    executor: Executor | None = None
    policy: Policy = DEFAULT_POLICY
    new_id: NewId = field(default=lambda prefix: f"{prefix}-{uuid.uuid4().hex[:12]}")  # incidents' ids
    on_heal: Callable[[Healed], None] | None = None  # told of each failed node replaced (time to heal)
    _pools: dict[str, list[NodeSpec]] | None = None
    _sites: list[Site] | None = None  # those with a power node (a feed, a hall) or a ramp limit
    _gpus: dict[str, int] = field(default_factory=dict)  # each pool's GPUs
    _names: dict[str, dict[str, int]] = field(default_factory=dict)  # each pool's nodes and their GPUs
    # Under an interleaving ordering, what each pool's last plan was made of (see _inputs), by (pool, contract
    # of its own nodes or ""): the simulator plans again only when work arrives, ends or stops, and so does this.
    _planned: dict[tuple[str, str], tuple[object, ...] | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.engine.check()
        if self._interleaves and not (self.executor or TimedExecutor()).shares_gpus:
            raise InvalidInput(
                f"ordering {self.engine.ordering} interleaves work on shared GPUs, which this executor cannot run"
                " (it gives each workload its GPUs to itself)"
            )

    @property
    def _interleaves(self) -> bool:
        return ORDERINGS[self.engine.ordering].interleave

    def reconcile(self, uow: UnitOfWork, now: int) -> dict[str, int]:
        """One step: reservations' nodes first (app/assignment.py), then the work. Returns what changed."""
        executor = self.executor or TimedExecutor()
        report = assign(uow, self.catalog, now, self.new_id) if self.policy.dedicated_nodes else Report()
        for healed in report.healed:
            log.info(
                "contract %s: node %s (down since %s) replaced by %s in %d s",
                healed.contract_id,
                healed.failed,
                healed.down_since,
                healed.by,
                healed.seconds,
            )
            if self.on_heal is not None:
                self.on_heal(healed)
        counts = {
            "finished": 0,
            "started": 0,
            "preempted": 0,
            "assigned": report.assigned,
            "healed": len(report.healed),
            "powered_down": 0,
        }
        active = uow.workloads.active(lock=True)
        if not active:
            return counts
        if self._pools is None:
            self._pools = nodes_by_pool(uow.fleet.list_sites(), self.catalog)
        contracts = uow.contracts.get_many({w.contract_id for w in active})
        by_pool: dict[str, list[StoredWorkload]] = defaultdict(list)
        for w in active:
            finish = executor.finished_by(w, now) if w.status is WorkloadStatus.RUNNING else None
            if finish is None:
                by_pool[contracts[w.contract_id].pool].append(w)
                continue
            end, how = finish
            if how is RunEnd.PREEMPTED:  # the workload manager stopped it: it waits for the engine again
                by_pool[contracts[w.contract_id].pool].append(_requeued(uow, executor, w, end))
                counts["preempted"] += 1
                continue
            _meter(uow, executor, w, end, preempted=False)
            attained = w.attained + w.job.gpus * (end - (w.started or end))
            uow.workloads.save(
                replace(
                    w,
                    status=WorkloadStatus.FINISHED if how is RunEnd.SUCCEEDED else WorkloadStatus.FAILED,
                    finished=end,
                    remaining=0,
                    allocation=None,
                    attained=attained,
                    group=(),
                )
            )
            counts["finished"] += 1
        limits = uow.tenants.get_limits({w.job.tenant for w in active})
        holding = uow.contracts.holding(by_pool, now)
        withheld = unavailable(uow)  # draining, down or in maintenance: no new work there
        spans = uow.assignments.current()
        owner = owners(spans, now)
        down = set(withheld)
        dark, rising, capped = self._fit_power(uow, by_pool, contracts, down, set(owner), now, executor, counts)
        counts["powered_down"] = len(dark)
        withheld |= dark
        assigned = set(owner.values())
        handing_over = {r.node for r in spans if r.since > now}  # to a reservation once spot work's notice ends
        for pool, workloads in sorted(by_pool.items()):
            # An assigned reservation's work runs on its own nodes; everything else on the pool's other nodes.
            mine: dict[str, list[StoredWorkload]] = defaultdict(list)
            for w in workloads:
                mine[w.contract_id if w.contract_id in assigned else ""].append(w)
            shared = [c for c in holding if c.pool == pool and c.id not in assigned]
            held = _entitlements(shared, now)
            caps = {  # a tenant's work may use its holds and its quota beyond them
                t: held.get(t, 0) + quota
                for t in {w.job.tenant for w in workloads}
                if (quota := limits[t].quota(pool, self.policy.default_quota_gpus)) is not None
            }
            config = replace(self.engine, quotas=caps, entitlements=held)
            members: dict[str, list[NodeSpec]] = defaultdict(list)  # contract id ("": shared) -> its nodes
            for node in self._pools[pool]:
                members[owner.get(node.name, "")].append(node)
            for contract_id, group in sorted(mine.items()):
                nodes = members[contract_id]
                group = _evict(uow, group, {n.name for n in nodes}, now, executor, counts)
                if nodes and group and pool not in rising:
                    # Own nodes bound a reservation's work by themselves: no quota there.
                    closed, rules = (withheld, self.engine) if contract_id else (withheld | handing_over, config)
                    since, names = (pool, contract_id), {n.name for n in nodes}
                    if self._interleaves and self._planned.get(since) == _inputs(_seen(group), names & closed, rules):
                        continue  # interleaving plans when work arrives, ends or stops, and only then
                    started, preempted, after = _step_pool(uow, Cluster(nodes), group, rules, now, executor, closed)
                    self._planned[since] = None if after is None else _inputs(after, names & closed, rules)
                    counts["started"] += started
                    counts["preempted"] += preempted
        if capped:  # a start may have displaced capped work at full power: fit the budget again
            again: dict[str, list[StoredWorkload]] = defaultdict(list)
            for w in uow.workloads.active(lock=False):
                again[contracts[w.contract_id].pool].append(w)
            self._fit_power(uow, again, contracts, down, set(owner), now, executor, counts)
        return counts

    def _fit_power(
        self,
        uow: UnitOfWork,
        by_pool: dict[str, list[StoredWorkload]],
        contracts: dict[str, Contract],
        withheld: set[str],
        owned: set[str],
        now: int,
        executor: Executor,
        counts: dict[str, int],
    ) -> tuple[set[str], set[str], bool]:
        """Keep each site's work within its power now (core/engine/budget.py): the feed at this month's PUE,
        less a curtailment in force, and each hall. Running work is capped, then stopped, in contract order
        while it draws more than a node carries (reserved work is never capped; stopped work waits again, as
        preempted work does; capping needs an executor that can: the timed one); then nodes are powered down until
        the free GPUs left, at their TDP, fit what remains, a reservation's own nodes last. Returns the nodes
        powered down, and the pools of sites whose ramp limit holds starts back (the draw of work started
        earlier is still rising): no work starts on either this step; and whether any work runs capped."""
        assert self._pools is not None
        can_cap = executor.caps_power
        if self._sites is None:
            self._sites = [
                s
                for s in uow.fleet.list_sites()
                if s.power_mw is not None or s.halls or s.ramp_mw_per_s is not None or s.fall_mw_per_s is not None
            ]
        cuts: dict[str, Decimal] = {}  # each site's cut in force
        coming: dict[str, CurtailmentEvent] = {}  # each site's next cut within the longest notice owed
        for event in uow.fleet.curtailments(None, now, now + 1 + MAX_PREEMPTION_NOTICE):  # by site, then start
            if event.start <= now:
                cuts[event.site] = event.depth
            else:
                coming.setdefault(event.site, event)
        dark: set[str] = set()
        rising: set[str] = set()
        capped = False
        for site in self._sites:
            pue = site.pue_at(now)
            limits, feeds = site_feeds(site, self.catalog, pue, cuts.get(site.name, Decimal(0)))
            pools = [p for p in feeds if p in self._pools]
            used: dict[str, int] = defaultdict(int)  # GPUs running on each node
            running: dict[str, tuple[str, StoredWorkload]] = {}
            # An interleaved group draws as its first member: its GPUs' power once, stopped (never capped) whole
            sharing: dict[tuple[str, ...], str] = {}
            others: dict[str, list[StoredWorkload]] = defaultdict(list)
            draws = []
            powers = {pool: gpu_power(self.catalog[self._pools[pool][0].gpu_model]) for pool in pools}
            for pool in pools:
                power = powers[pool]
                for w in by_pool.get(pool, ()):
                    if w.status is not WorkloadStatus.RUNNING:
                        continue
                    if w.group and w.group in sharing:
                        others[sharing[w.group]].append(w)
                        continue
                    if w.group:
                        sharing[w.group] = w.job.id
                    for node, gpus in w.allocation or ():
                        used[node] += gpus
                    c = contracts[w.contract_id]
                    running[w.job.id] = (pool, w)
                    cap = None  # reserved work runs at its contracted power; an executor may not cap at all
                    if can_cap and c.kind is not ContractKind.RESERVED and not w.group:
                        cap = Cap(c.cap_w or power.tdp_w, power.min_cap_w, w.job.gpus * IT_KW_PER_CAP_WATT)
                    draw = w.job.gpus * power.it_kw(c.cap_w)  # at its contract's cap: as if it were not capped
                    draws.append(
                        Draw(w.job.id, pool, w.job.gpus, draw, c.kind.value, w.started or now, w.job.preemptible, cap)
                    )
            found = fit(limits, feeds, {pool: self._free(pool, used, withheld) for pool in pools}, draws)
            for key in found.stop:
                pool, w = running[key]
                halted = [m for m in (w, *others[key]) if _halted(executor, m, now)]
                stopped = {id(m): _requeued(uow, executor, m, now) for m in halted}
                by_pool[pool] = [stopped.get(id(x), x) for x in by_pool[pool]]
                counts["preempted"] += len(halted)
                if len(halted) <= len(others[key]):
                    continue  # some of it still runs (the executor refused): tried again next step
                for node, gpus in w.allocation or ():
                    used[node] -= gpus
                running.pop(key)
            for key, (pool, w) in running.items():  # capped as the fit says, or no longer
                want = found.caps.get(key)
                if want != w.cap_w:
                    capping = Capping(powers[pool], contracts[w.contract_id].cap_w or powers[pool].tdp_w, Decimal(1))
                    running[key] = (pool, _recapped(uow, w, want, 1.0 if want is None else capping.pace(want), now))
                    by_pool[pool] = [running[key][1] if x is w else x for x in by_pool[pool]]
                capped = capped or want is not None
            if site.name in coming:
                told = _give_notice(uow, site, self.catalog, coming[site.name], feeds, draws, running, contracts, now)
                for key in told:  # and the rest of its group
                    for m in others[key]:
                        uow.workloads.save(replace(m, stops_at=coming[site.name].start))
            if site.ramp_mw_per_s is not None or site.fall_mw_per_s is not None:
                up = [(running[d.key][1].started or now, d.kw * pue) for d in draws if d.key in running]
                ramp = _ramp(uow, site, self.catalog, set(pools), up, contracts, pue, now)
                if ramp.busy(now):
                    log.info("site %s: started work is still coming up to power; starts wait", site.name)
                    rising.update(pools)
                if ramp.floor(now):
                    log.info("site %s: the GPUs' power floors hold %s kW of work that ended", site.name, ramp.floor_kw)
            for pool in pools:
                if found.powered[pool] >= self._free(pool, used, withheld):
                    continue  # every free GPU of the pool stays powered
                nodes = [n for n in self._pools[pool] if n.name not in withheld]
                kept = {i for i, n in enumerate(nodes) if n.name in owned}
                off = dark_nodes([n.gpus - used[n.name] for n in nodes], found.powered[pool], kept)
                dark.update(nodes[i].name for i in off)
        return dark, rising, capped

    def _free(self, pool: str, used: dict[str, int], withheld: set[str]) -> int:
        """The pool's GPUs neither running work nor on a node withheld, from the work running (few) and the
        nodes withheld (few) rather than from every node."""
        assert self._pools is not None
        if pool not in self._gpus:
            self._gpus[pool] = sum(n.gpus for n in self._pools[pool])
            self._names[pool] = {n.name: n.gpus for n in self._pools[pool]}
        names = self._names[pool]
        busy = sum(gpus for node, gpus in used.items() if node in names)
        closed = sum(names[node] - used.get(node, 0) for node in withheld if node in names)
        return self._gpus[pool] - busy - closed


def _give_notice(
    uow: UnitOfWork,
    site: Site,
    catalog: Catalog,
    cut: CurtailmentEvent,
    feeds: dict[str, Feed],
    draws: list[Draw],
    running: dict[str, tuple[str, StoredWorkload]],
    contracts: dict[str, Contract],
    now: int,
) -> list[str]:
    """Tell the work a coming curtailment will cap or stop, as its contract's notice falls due: the budget at
    the cut's start fitted to the work running now (the same rule). Each is told once (`stops_at`). Returns
    those told now."""
    limits, _ = site_feeds(site, catalog, site.pue_at(cut.start), cut.depth)
    then = fit(limits, feeds, {}, [d for d in draws if d.key in running])
    told = []
    for key in (*then.stop, *then.caps):
        pool, w = running[key]
        if w.stops_at != cut.start and contracts[w.contract_id].preemption_notice_s >= cut.start - now:
            log.info("workload %s: notice of curtailment %s at %d", key, cut.id, cut.start)
            uow.workloads.save(replace(w, stops_at=cut.start))
            running[key] = (pool, replace(w, stops_at=cut.start))
            told.append(key)
    return told


def _ramp(
    uow: UnitOfWork,
    site: Site,
    catalog: Catalog,
    pools: set[str],
    running: list[tuple[int, Decimal]],
    contracts: dict[str, Contract],
    pue: Decimal,
    now: int,
) -> Ramp:
    """The site's ramp as the starts and ends of its work leave it now, rebuilt (this clock keeps no state):
    the work running rose from its start (`running`: when, facility kW); under a fall limit, so did the runs
    that ended while the GPUs' floors may still hold their draw (metered usage, at their contract's cap)."""
    rise = None if site.ramp_mw_per_s is None else site.ramp_mw_per_s * 1000
    if site.fall_mw_per_s is None:
        return Ramp.of(rise, running)
    fall = site.fall_mw_per_s * 1000
    held_s = math.ceil(site.it_power_kw(catalog) * site.worst_pue[0] / fall)  # the longest the floors hold a draw
    ended = [r for r in uow.billing.usage_between(now - held_s, now + 1) if r.pool in pools]
    caps = {**contracts, **uow.contracts.get_many({r.contract_id for r in ended} - contracts.keys())}
    changes = list(running)
    for r in ended:
        kw = Decimal(r.milli_gpus) / 1000 * gpu_power(catalog[r.gpu_model]).it_kw(caps[r.contract_id].cap_w) * pue
        changes += [(r.start, kw), (r.end, -kw)]
    return Ramp.of(rise, changes, fall)


def _recapped(uow: UnitOfWork, w: StoredWorkload, cap_w: int | None, pace: float, now: int) -> StoredWorkload:
    """A running workload capped to `cap_w` (None: back to its contract's power) from `now`: it runs on at
    `pace`, the work it has done kept."""
    state = _progress(w)
    state.repace(now, pace)
    log.info("workload %s: capped to %s W for its site's power", w.job.id, cap_w)
    capped = replace(w, remaining=state.remaining, cap_w=cap_w, pace=pace, paced_at=now)
    uow.workloads.save(capped)
    return capped


def _evict(
    uow: UnitOfWork,
    workloads: list[StoredWorkload],
    nodes: set[str],
    now: int,
    executor: Executor,
    counts: dict[str, int],
) -> list[StoredWorkload]:
    """Stop the work running on nodes outside `nodes` (given to a reservation since it started); it waits
    again, as preempted work does."""
    kept = []
    for w in workloads:
        if w.status is WorkloadStatus.RUNNING and any(n not in nodes for n, _ in w.allocation or ()):
            if not _halted(executor, w, now):
                continue  # still running where it ran: tried again next step
            w = _requeued(uow, executor, w, now)
            counts["preempted"] += 1
        kept.append(w)
    return kept


def _requeued(uow: UnitOfWork, executor: Executor, w: StoredWorkload, end: int) -> StoredWorkload:
    """Running work stopped at `end` before it finished: metered as preempted, and waiting again with what
    the engine charges a preempted job (its restart overhead)."""
    _meter(uow, executor, w, end, preempted=True)
    state = _progress(w)
    state.stop(end, finished=False)
    w = _at_rest(
        w,
        status=WorkloadStatus.PENDING,
        remaining=state.remaining,
        attained=state.attained,
        preemptions=state.preemptions,
    )
    uow.workloads.save(w)
    return w


def _halted(executor: Executor, workload: StoredWorkload, now: int) -> bool:
    """Whether the executor stopped the work (if it refused, it says why in the log)."""
    try:
        executor.halt(workload, now)
    except NeocloudError as exc:
        log.warning("halt of %s: %s: %s", workload.job.id, exc.code, exc.message)
        return False
    return True


def _seen(workloads: list[StoredWorkload]) -> frozenset[tuple[str, bool]]:
    """Which work there is, and which of it runs."""
    return frozenset((w.job.id, w.status is WorkloadStatus.RUNNING) for w in workloads)


def _inputs(work: frozenset[tuple[str, bool]], closed: set[str], rules: EngineConfig) -> tuple[object, ...]:
    """What a plan depends on besides the clock: the work and which of it runs, the nodes closed to new work,
    and the tenants' quotas and holds (a node back up, or a reservation starting, is a reason to plan again)."""
    return work, frozenset(closed), sorted((rules.quotas or {}).items()), sorted((rules.entitlements or {}).items())


def _step_pool(
    uow: UnitOfWork,
    cluster: Cluster,
    workloads: list[StoredWorkload],
    config: EngineConfig,
    now: int,
    executor: Executor,
    withheld: set[str],
) -> tuple[int, int, frozenset[tuple[str, bool]] | None]:
    """One engine decision for one pool's workloads; returns (started, preempted, which work runs after it:
    None when the executor refused a launch, so that the next step decides again)."""
    index = {n.name: i for i, n in enumerate(cluster.nodes)}
    for name in withheld & index.keys():
        cluster.withhold(index[name])
    stored: dict[str, StoredWorkload] = {}
    states: list[JobState] = []
    shared: dict[tuple[str, ...], Allocation] = {}  # an interleaved group's GPUs: taken once, one for all
    for w in workloads:
        allocation: Allocation | None = None
        if w.status is WorkloadStatus.RUNNING and w.allocation is not None:
            allocation = shared.get(w.group) if w.group else None
            if allocation is None:
                allocation = tuple((index[n], g) for n, g in w.allocation)
                cluster.take(allocation)
                if w.group:
                    shared[w.group] = allocation
        stored[w.job.id] = w
        states.append(_progress(w, allocation))
    _regroup(states, stored, now)
    scheduler = config.scheduler(cluster, [w.job for w in workloads])
    running = [s for s in states if s.running]
    waiting = scheduler.rank([s for s in states if not s.running], now, {})
    usage: dict[str, int] = defaultdict(int)
    for s in running:
        usage[s.job.tenant] += s.job.milli
    decisions = scheduler.decide(now, cluster, waiting, running, usage, sum(s.job.milli for s in running if s.spot))
    # Halts first, each on its own: if the executor refuses one, the work halted so far is carried out and
    # nothing starts in this pool until the next step (the starts may have counted on the GPUs not freed).
    # A step that failed as a whole instead would forget launches already made, and run them twice.
    halted = list(itertools.takewhile(lambda s: _halted(executor, stored[s.job.id], now), decisions.preempt))
    if len(halted) < len(decisions.preempt):
        decisions = Decisions(preempt=halted)

    def stopped(s: JobState, run_start: int) -> None:
        w = stored[s.job.id]
        _meter(uow, executor, w, now, preempted=True)
        pending = _at_rest(
            w, status=WorkloadStatus.PENDING, remaining=s.remaining, attained=s.attained, preemptions=s.preemptions
        )
        uow.workloads.save(pending)
        stored[s.job.id] = pending  # it may start again at once (in another interleaved group)

    refused = 0

    def started(s: JobState) -> None:
        nonlocal refused
        w = stored[s.job.id]
        assert s.allocation is not None
        named = tuple((cluster.nodes[n].name, g) for n, g in s.allocation)
        try:
            executor.launch(w, named, now)
        except NeocloudError as exc:  # this one did not start (the executor said why): it waits, the rest go on
            log.warning("launch of %s: %s: %s", w.job.id, exc.code, exc.message)
            refused += 1
            return
        saved = replace(
            w,
            status=WorkloadStatus.RUNNING,
            started=s.started,
            first_start=s.first_start,
            allocation=named,
            pace=s.pace,  # its pace in an interleaved group (1.0 alone)
            group=tuple(m.job.id for m in s.group) if len(s.group) > 1 else (),
        )
        uow.workloads.save(saved)

    apply_decisions(decisions, now, stopped, started)
    after = None if refused else frozenset((s.job.id, s.running) for s in states)
    return len(decisions.start) - refused, len(decisions.preempt), after


def _regroup(states: list[JobState], stored: dict[str, StoredWorkload], now: int) -> None:
    """Interleaved groups as they were launched: each running member knows the others, so a group running as
    planned keeps its GPUs. A member that has ended since, or was stopped, leaves the group broken (the engine
    then plans its members afresh, as the simulator does when a member ends)."""
    by_id = {s.job.id: s for s in states}
    for s in states:
        members = stored[s.job.id].group
        if s.running and members:
            # A member no longer active (finished, failed or cancelled) stands in as a job that has ended.
            s.group = tuple(by_id.get(m) or JobState(Job(m, now, 1), 0, finish=now) for m in members)
