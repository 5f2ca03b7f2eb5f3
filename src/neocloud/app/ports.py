"""What the services need from the outside world. Adapters implement these; tests may fake them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any, Protocol, Self

from neocloud.core.billing.invoice import BillingTerms
from neocloud.core.billing.metering import UsageRecord
from neocloud.core.billing.rating import Line, Outage
from neocloud.core.contracts import Contract, ContractKind, Limits, PriceAgreement, Tenant
from neocloud.core.fleet import Pool, Site
from neocloud.core.ledger import Hold, Ledger
from neocloud.core.workload import Job


@dataclass(frozen=True, slots=True)
class StoredInvoice:
    id: str
    tenant_id: str
    period: str  # YYYY-MM
    issued_at: int
    lines: tuple[Line, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), start=Decimal("0.00"))


@dataclass(frozen=True, slots=True)
class Incident:
    """GPUs out of service by failure, as recorded (an Outage for rating, with its id and description)."""

    id: str
    pool: str
    start: int
    end: int
    gpus: int | None
    contract_id: str | None
    description: str = ""


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    digest: str
    role: str  # operator | tenant
    tenant_id: str | None
    created_at: int
    revoked_at: int | None = None
    expires_at: int | None = None
    last_used_at: int | None = None


@dataclass(frozen=True, slots=True)
class StoredResponse:
    fingerprint: str
    status: int
    body: str


@dataclass(frozen=True, slots=True)
class StoredWorkload:
    """A submitted job, its contract, and its progress (see core.engine.state.JobState)."""

    job: Job
    contract_id: str
    status: str  # pending | running | finished | cancelled
    remaining: int
    attained: int = 0
    started: int | None = None
    first_start: int | None = None
    finished: int | None = None
    preemptions: int = 0
    allocation: tuple[tuple[str, int], ...] | None = None  # (node name, GPUs)


class Executor(Protocol):
    """Where workloads really run. The engine decides; an executor starts and stops the work and says when it
    has finished. A Kubernetes or Slurm executor implements the same three calls."""

    def launch(self, workload: StoredWorkload, allocation: tuple[tuple[str, int], ...], now: int) -> None: ...
    def halt(self, workload: StoredWorkload, now: int) -> None: ...
    def finished_by(self, workload: StoredWorkload, now: int) -> int | None: ...


Key = tuple[Any, ...]  # a list's sort key: lists page by it (app/pages.py)
AgreementKey = tuple[str, str, ContractKind]  # tenant id, pool, kind


class UnitOfWork(Protocol):
    """One transaction. Services never commit: the caller's `with uow:` block does, or rolls back.

    Lists are in the order of their sort key (noted beside each); `after` and `limit` select one page of it:
    the items whose key comes after `after`, at most `limit` of them."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def commit(self) -> None: ...
    def ping(self) -> None: ...  # a round trip to the store

    # Fleet
    def add_site(self, site: Site) -> None: ...
    def get_site(self, name: str) -> Site | None: ...
    def list_sites(self) -> list[Site]: ...
    def list_pools(self) -> list[Pool]: ...
    def get_pool(self, name: str) -> Pool | None: ...

    # Ledger: the pools' calendars, locked against concurrent writers until the unit of work ends
    def load_ledger(self, pools: Iterable[str], *, lock: bool) -> Ledger: ...
    def save_hold(self, hold: Hold) -> None: ...
    def delete_hold(self, hold_id: str) -> None: ...

    # Tenants and contracts
    def add_tenant(self, tenant: Tenant) -> None: ...
    def get_tenant(self, key: str) -> Tenant | None: ...
    def list_tenants(self, *, after: Key | None = None, limit: int | None = None) -> list[Tenant]: ...  # (name,)
    def add_contracts(self, contracts: Sequence[Contract], holds: Sequence[Hold] = ()) -> None: ...
    def save_contract(self, contract: Contract) -> None: ...
    def get_contract(self, contract_id: str) -> Contract | None: ...  # as committed now, even if read before
    def get_contracts(self, contract_ids: Iterable[str]) -> dict[str, Contract]: ...
    def holding(self, pools: Iterable[str], at: int) -> list[Contract]: ...  # contracts whose holds are in force
    def list_contracts(
        self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[Contract]: ...  # (start, id)

    # Commercial terms and limits
    def get_agreements(self, keys: Iterable[AgreementKey]) -> dict[AgreementKey, PriceAgreement]: ...
    def list_agreements(
        self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[PriceAgreement]: ...  # (tenant id, pool, kind)
    def save_agreement(self, agreement: PriceAgreement) -> None: ...
    def delete_agreement(self, key: AgreementKey) -> bool: ...
    def get_limits(self, tenant_ids: Iterable[str]) -> dict[str, Limits]: ...  # every tenant asked for
    def save_credit_limit(self, tenant_id: str, usd: Decimal | None) -> None: ...
    def save_quota(self, tenant_id: str, pool: str, gpus: int | None) -> None: ...  # None: back to the default

    # Metering and invoices
    def save_usage(self, records: Iterable[UsageRecord]) -> None: ...
    def usage_by_keys(self, keys: Iterable[str]) -> list[UsageRecord]: ...
    def usage_of_jobs(self, pairs: Iterable[tuple[str, str]]) -> list[UsageRecord]: ...
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
    def add_incident(self, incident_id: str, outage: Outage, description: str) -> None: ...
    def incidents_between(self, pools: Iterable[str], start: int, end: int) -> list[Outage]: ...
    def list_incidents(
        self, pools: Iterable[str], start: int, end: int, *, after: Key | None = None, limit: int | None = None
    ) -> list[Incident]: ...  # (start, id)
    def get_billing_terms(self, contract_ids: Iterable[str]) -> dict[str, BillingTerms]: ...
    def save_billing_terms(self, contract_id: str, terms: BillingTerms) -> None: ...

    # API keys and idempotency
    def save_api_key(self, key: ApiKey) -> None: ...
    def api_key_by_digest(self, digest: str) -> ApiKey | None: ...
    def get_api_key(self, key_id: str) -> ApiKey | None: ...
    def list_api_keys(
        self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[ApiKey]: ...  # (created at, id)
    def touch_api_key(self, key_id: str, now: int) -> None: ...
    def stored_responses(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredResponse]: ...
    def store_responses(self, responses: Iterable[tuple[str, str, StoredResponse]], now: int) -> None: ...

    # Workloads
    def save_workload(self, workload: StoredWorkload) -> None: ...
    def get_workload(self, workload_id: str) -> StoredWorkload | None: ...
    def list_workloads(
        self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[StoredWorkload]: ...  # (submit, id)
    def count_workloads(self) -> dict[tuple[str, str], int]: ...  # (pool, status) -> workloads
    def active_workloads(self, *, lock: bool) -> list[StoredWorkload]: ...
