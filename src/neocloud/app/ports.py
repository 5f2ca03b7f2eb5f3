"""What the use cases need from the outside world: a unit of work made of one repository per aggregate, and an
executor. Adapters implement these (adapters/store for SQL); tests may fake them (tests/memory_store.py).

Lists come in the order of their sort key (noted beside each); `after` and `limit` select one page of it: the
items whose key comes after `after`, at most `limit` of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import TracebackType
from typing import Any, Protocol, Self

from neocloud.app.records import (
    Analysis,
    ApiKey,
    CurtailmentEvent,
    Incident,
    StoredInvoice,
    StoredResponse,
    StoredWorkload,
)
from neocloud.core.assignment import Assignment
from neocloud.core.billing.invoice import BillingTerms
from neocloud.core.billing.metering import UsageRecord
from neocloud.core.billing.rating import Outage
from neocloud.core.contracts import Contract, ContractKind, Limits, PriceAgreement, Tenant
from neocloud.core.fleet import Pool, Site
from neocloud.core.ledger import Hold, Ledger
from neocloud.core.nodes import NodeEvent, NodeState

Key = tuple[Any, ...]  # a list's sort key: lists page by it (app/pages.py)
AgreementKey = tuple[str, str, ContractKind]  # tenant id, pool, kind


class RunEnd(StrEnum):
    """How a run the executor launched ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PREEMPTED = "preempted"  # stopped by the workload manager itself (spot work yielding to others): it waits again


class Executor(Protocol):
    """Where workloads really run. The engine decides; an executor starts and stops the work and says when it
    has ended, and how. The timed stand-in and Slurm (adapters/slurm) implement it; a Kubernetes executor
    would implement the same calls. `meters_itself`: its runs are metered from its own accounting
    (app/accounting.py), not by the engine. `caps_power`: it can run work under a lower power cap (slower), so
    a shrinking power budget may cap its work before stopping it. `shares_gpus`: it can run several workloads
    on the same GPUs, as interleaving orderings (Muri) plan them."""

    @property
    def meters_itself(self) -> bool: ...
    @property
    def caps_power(self) -> bool: ...
    @property
    def shares_gpus(self) -> bool: ...
    def launch(self, workload: StoredWorkload, allocation: tuple[tuple[str, int], ...], now: int) -> None: ...
    def halt(self, workload: StoredWorkload, now: int) -> None: ...
    def finished_by(self, workload: StoredWorkload, now: int) -> tuple[int, RunEnd] | None: ...


@dataclass(frozen=True, slots=True)
class ManagedNode:
    """A node as the workload manager reports it: its state in neocloud's terms, and the manager's reason."""

    name: str
    state: NodeState
    reason: str = ""
    since: int | None = None  # when the manager recorded the reason (its own time of the change)


@dataclass(frozen=True, slots=True)
class ManagedReservation:
    """A reservation in the workload manager: its nodes for its accounts, until `end` (Unix seconds)."""

    name: str
    nodes: frozenset[str]
    accounts: frozenset[str]
    end: int


@dataclass(frozen=True, slots=True)
class ManagedRun:
    """A job that ran and ended, as the manager's accounting has it (Slurm: sacct)."""

    job_id: str
    name: str
    account: str
    reservation: str  # "" when it ran outside any reservation
    start: int
    end: int
    gpus: int
    state: str  # the manager's: COMPLETED, FAILED, CANCELLED, PREEMPTED, TIMEOUT, ...
    nodes: frozenset[str] = frozenset()  # where it ran


class WorkloadManager(Protocol):
    """A real cluster's manager (Slurm: adapters/slurm): its accounts, reservations and nodes' states.
    Every call may raise WorkloadManagerUnavailable; none changes neocloud's store."""

    def accounts(self) -> set[str]: ...
    def add_account(self, name: str) -> None: ...
    def reservations(self) -> dict[str, ManagedReservation]: ...
    def reserve(self, reservation: ManagedReservation, now: int) -> None: ...  # create
    def update(self, reservation: ManagedReservation) -> None: ...  # its nodes and end
    def release(self, name: str) -> None: ...  # delete
    def nodes(self) -> dict[str, ManagedNode]: ...
    def drain(self, node: str, reason: str) -> None: ...
    def resume(self, node: str) -> None: ...
    def ended_jobs(self, since: int, until: int) -> list[ManagedRun]: ...  # ended within [since, until]


@dataclass(frozen=True, slots=True)
class ContractFilter:
    """Which contracts a list shows, and in which order: by `order` (start, end, gpus or price), largest
    first, then by id."""

    kind: str | None = None
    pool: str | None = None
    status: str | None = None
    order: str = "start"


CONTRACT_ORDERS = ("start", "end", "gpus", "price")


class FleetRepository(Protocol):
    def add_site(self, site: Site) -> None: ...  # with its pools
    def get_site(self, name: str) -> Site | None: ...
    def list_sites(self) -> list[Site]: ...  # (name,)
    def get_pool(self, name: str) -> Pool | None: ...
    def list_pools(self) -> list[Pool]: ...  # (name,)
    def save_curtailment(self, event: CurtailmentEvent) -> None: ...  # a new one, or one changed (lifted early)
    def get_curtailment(self, curtailment_id: str) -> CurtailmentEvent | None: ...
    def remove_curtailment(self, curtailment_id: str) -> None: ...  # withdrawn before it began
    def curtailments(self, site: str | None, start: int, end: int) -> list[CurtailmentEvent]: ...  # overlapping


class LedgerRepository(Protocol):
    """The pools' calendars. A ledger loaded with `lock` is this transaction's: concurrent writers to its
    pools wait until the unit of work ends. Without it, a read-only snapshot (possibly shared: never change it)."""

    def load(self, pools: Iterable[str], *, lock: bool) -> Ledger: ...
    def add(self, holds: Sequence[Hold]) -> None: ...  # new holds
    def save(self, hold: Hold) -> None: ...  # update (or insert)
    def delete(self, hold_id: str) -> None: ...


class TenantRepository(Protocol):
    """Tenants and what an operator sets for each: price agreements, credit limits and quotas."""

    def add(self, tenant: Tenant) -> None: ...
    def get(self, key: str) -> Tenant | None: ...  # by id or by name (the id wins)
    def page(self, *, after: Key | None = None, limit: int | None = None) -> list[Tenant]: ...  # (name,)
    def get_agreements(self, keys: Iterable[AgreementKey]) -> dict[AgreementKey, PriceAgreement]: ...
    def list_agreements(
        self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[PriceAgreement]: ...  # (tenant id, pool, kind)
    def save_agreement(self, agreement: PriceAgreement) -> None: ...
    def delete_agreement(self, key: AgreementKey) -> bool: ...
    def get_limits(self, tenant_ids: Iterable[str]) -> dict[str, Limits]: ...  # every tenant asked for
    def save_credit_limit(self, tenant_id: str, usd: Decimal | None) -> None: ...
    def save_quota(self, tenant_id: str, pool: str, gpus: int | None) -> None: ...  # None: back to the default


class ContractRepository(Protocol):
    def add(self, contracts: Sequence[Contract]) -> None: ...  # new contracts (their holds: LedgerRepository.add)
    def save(self, contract: Contract) -> None: ...  # update (or insert)
    def get(self, contract_id: str) -> Contract | None: ...  # as committed now, even if read before
    def get_many(self, contract_ids: Iterable[str]) -> dict[str, Contract]: ...
    def holding(self, pools: Iterable[str], at: int) -> list[Contract]: ...  # whose holds are in force at `at`
    def in_force(
        self,
        start: int,
        end: int,
        *,
        tenant_id: str | None = None,
        kind: ContractKind | None = None,
        promised: bool = False,
    ) -> list[Contract]: ...  # whose terms overlap [start, end), a tenant's, of a kind, with an SLA; by id
    def page(
        self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[Contract]: ...  # (start, id)
    def latest(
        self, tenant_id: str | None, limit: int, *, where: ContractFilter | None = None
    ) -> tuple[list[Contract], int]: ...  # the first `limit` by the filter's order, and how many match


class BillingRepository(Protocol):
    """Metered usage, invoices as issued, incidents and the contracts' billing terms."""

    def save_usage(self, records: Iterable[UsageRecord]) -> None: ...
    def usage_by_keys(self, keys: Iterable[str]) -> list[UsageRecord]: ...
    def usage_of_jobs(self, pairs: Iterable[tuple[str, str]]) -> list[UsageRecord]: ...  # (contract id, job id)
    def usage_between(
        self, start: int, end: int, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[UsageRecord]: ...  # (start, key)
    def invoiced_periods(self, tenant_ids: Iterable[str]) -> dict[str, list[str]]: ...
    def invoiced_periods_on_pool(self, pool: str) -> set[str]: ...  # of the tenants with contracts there
    def save_invoice(self, invoice: StoredInvoice) -> None: ...
    def get_invoice(self, invoice_id: str) -> StoredInvoice | None: ...
    def list_invoices(
        self,
        tenant_id: str | None = None,
        period: str | None = None,
        *,
        after: Key | None = None,
        limit: int | None = None,
    ) -> list[StoredInvoice]: ...  # (period, tenant id)
    def invoiced_totals(self) -> list[tuple[str, str, Decimal]]: ...  # (period, tenant id, total), in that order
    def add_incident(self, incident_id: str, outage: Outage, description: str) -> None: ...
    def incidents_between(self, pools: Iterable[str], start: int, end: int) -> list[Outage]: ...
    def get_incidents(self, incident_ids: Iterable[str]) -> list[Incident]: ...  # (id)
    def end_incident(self, incident_id: str, end: int) -> None: ...  # shortened: what caused it ended sooner
    def remove_incident(self, incident_id: str) -> None: ...  # withdrawn: what caused it never happened
    def list_incidents(
        self, pools: Iterable[str], start: int, end: int, *, after: Key | None = None, limit: int | None = None
    ) -> list[Incident]: ...  # (start, id)
    def get_terms(self, contract_ids: Iterable[str]) -> dict[str, BillingTerms]: ...
    def save_terms(self, contract_id: str, terms: BillingTerms) -> None: ...


class KeyRepository(Protocol):
    """API keys, and the responses kept for idempotency keys."""

    def save(self, key: ApiKey) -> None: ...
    def get(self, key_id: str) -> ApiKey | None: ...
    def by_digest(self, digest: str) -> ApiKey | None: ...
    def page(
        self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[ApiKey]: ...  # (created at, id)
    def touch(self, key_id: str, now: int) -> None: ...
    def stored_responses(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredResponse]: ...
    def store_responses(self, responses: Iterable[tuple[str, str, StoredResponse]], now: int) -> None: ...


class WorkloadRepository(Protocol):
    def save(self, workload: StoredWorkload) -> None: ...
    def get(self, workload_id: str) -> StoredWorkload | None: ...
    def page(
        self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[StoredWorkload]: ...  # (submit, id)
    def count(self) -> dict[tuple[str, str], int]: ...  # (pool, status) -> workloads
    def active(self, *, lock: bool) -> list[StoredWorkload]: ...  # pending or running, (submit, id)
    def running(self, tenant_id: str) -> list[StoredWorkload]: ...  # the tenant's running now, (submit, id)
    def latest(
        self, tenant_id: str | None, limit: int, *, active: bool = False
    ) -> tuple[list[StoredWorkload], int]: ...  # the last `limit` by (submit, id), newest first; and how many in all


class NodeRepository(Protocol):
    """Nodes' state changes, oldest first; a node with none is up."""

    def add(self, event: NodeEvent) -> None: ...
    def history(self, node: str) -> list[NodeEvent]: ...
    def current(self) -> dict[str, NodeEvent]: ...  # the latest change of every node that has one


class AssignmentRepository(Protocol):
    """The nodes of reservations, span by span (core/assignment.py)."""

    def add(self, rows: Sequence[Assignment]) -> None: ...
    def save(self, row: Assignment) -> None: ...  # its `until` and `down_since`, by (contract, node, since)
    def current(self) -> list[Assignment]: ...  # the spans not ended, by (contract id, node)
    def of_contract(self, contract_id: str) -> list[Assignment]: ...  # every span, by (since, node)


class AnalysisRepository(Protocol):
    """Analysts' runs. Listing leaves out findings and reports (they can be large): `get` reads them."""

    def add(self, analysis: Analysis) -> None: ...
    def save(self, analysis: Analysis) -> None: ...  # progress, findings or failure, by id
    def get(self, analysis_id: str) -> Analysis | None: ...
    def latest(self, limit: int) -> tuple[list[Analysis], int]: ...  # newest first (created, id); and how many
    def claim(self, now: int, stale_before: int) -> Analysis | None: ...

    # claim: the oldest queued run (or one whose worker went silent before `stale_before`), now running;
    # two workers never claim the same one


class UnitOfWork(Protocol):
    """One transaction over every repository. Services never commit: the caller's `with uow:` block does, or
    rolls back on an error, so a refusal anywhere leaves the store unchanged."""

    fleet: FleetRepository
    ledger: LedgerRepository
    tenants: TenantRepository
    contracts: ContractRepository
    billing: BillingRepository
    keys: KeyRepository
    workloads: WorkloadRepository
    nodes: NodeRepository
    assignments: AssignmentRepository
    analyses: AnalysisRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def commit(self) -> None: ...
    def ping(self) -> None: ...  # a round trip to the store
