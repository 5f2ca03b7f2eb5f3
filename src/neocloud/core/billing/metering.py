"""Metering: usage records from the engine's events, ingested exactly once.

A usage record is one contiguous run of a job's GPUs under one contract, [start, end). Records carry a key
that the producer derives from the job and the run's start, so the same event delivered twice (a retry, a
replay after a restart) is recognised and counted once. A record is placed in every billing period it
overlaps, so a late one lands where it belongs, unless that period is already closed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

from neocloud.core.billing.periods import Period
from neocloud.core.contracts import Contract
from neocloud.core.errors import AlreadyExists, InvalidInput, InvalidInterval, InvalidState, UnknownContract, quoted


@dataclass(frozen=True, slots=True)
class UsageRecord:
    key: str  # idempotency key: "<contract>/<job>@<start>" (usage_key)
    tenant_id: str
    contract_id: str
    pool: str
    gpu_model: str
    milli_gpus: int  # 1000 per whole GPU; fractions for shared GPUs
    start: int
    end: int
    job_id: str = ""
    preempted: bool = False  # the run ended because the job was preempted

    @classmethod
    def of_run(
        cls, contract: Contract, gpu_model: str, job_id: str, milli_gpus: int, start: int, end: int, preempted: bool
    ) -> UsageRecord:
        """The record of one run of a job under a contract, keyed so that reporting it twice counts once."""
        return cls(
            usage_key(contract.id, job_id, start),
            contract.tenant_id,
            contract.id,
            contract.pool,
            gpu_model,
            milli_gpus,
            start,
            end,
            job_id,
            preempted,
        )

    @property
    def gpu_seconds_milli(self) -> int:
        return self.milli_gpus * (self.end - self.start)

    def clipped(self, period: Period) -> UsageRecord | None:
        start, end = max(self.start, period.start), min(self.end, period.end)
        if end <= start:
            return None
        return replace(self, start=start, end=end, preempted=self.preempted and end == self.end)


def usage_key(contract_id: str, job_id: str, start: int) -> str:
    """Unique per run: the same run reported twice has the same key, whoever reports it."""
    return f"{contract_id}/{job_id}@{start}"


class Meter:
    """Accepted usage, by contract, with the checks that keep it exact: known contract, positive duration,
    no run counted twice, nothing added to a closed period."""

    def __init__(
        self,
        contracts: Mapping[str, Contract],
        closed: Mapping[str, Iterable[Period]] | None = None,
        known: Iterable[UsageRecord] = (),
    ) -> None:
        """`closed`: per tenant, the periods already invoiced. `known`: records accepted earlier (from the
        store), against which duplicates and overlaps are checked."""
        self.contracts = contracts
        self.closed = {tenant: sorted(periods) for tenant, periods in (closed or {}).items()}
        self._by_key: dict[str, UsageRecord] = {}
        self._by_job: dict[tuple[str, str], list[UsageRecord]] = defaultdict(list)
        self.added: list[UsageRecord] = []  # accepted by this meter, in order (what a caller must save)
        for record in known:
            self._keep(record)

    def check(self, record: UsageRecord) -> bool:
        """Raise if the record is bad; False if it is a duplicate of one already accepted."""
        contract = self.contracts.get(record.contract_id)
        if contract is None:
            raise UnknownContract(
                f"usage {record.key} names unknown contract {quoted(record.contract_id)}",
                contract=record.contract_id,
                usage=record.key,
            )
        if contract.tenant_id != record.tenant_id:
            raise InvalidInput(
                f"usage {record.key}: contract {contract.id} belongs to another tenant", usage=record.key
            )
        if record.end <= record.start:
            raise InvalidInterval(
                f"usage {record.key} ends at {record.end}, not after its start {record.start}", usage=record.key
            )
        if record.milli_gpus <= 0:
            raise InvalidInput(f"usage {record.key} has {record.milli_gpus} milli-GPUs", usage=record.key)
        seen = self._by_key.get(record.key)
        if seen is not None:
            if seen != record:
                raise AlreadyExists(f"usage {record.key} was already recorded with different values", usage=record.key)
            return False
        for other in self._by_job.get((record.contract_id, record.job_id), []) if record.job_id else []:
            if other.start < record.end and record.start < other.end:
                raise AlreadyExists(
                    f"usage {record.key} overlaps {other.key} of the same job: it would count twice",
                    usage=record.key,
                    overlaps=other.key,
                )
        for period in self.closed.get(record.tenant_id, ()):
            if period.overlap(record.start, record.end):
                raise InvalidState(
                    f"usage {record.key} falls in closed period {period.key}", usage=record.key, period=period.key
                )
        return True

    def add(self, record: UsageRecord) -> bool:
        """Accept a record; returns False (and changes nothing) for an exact duplicate."""
        if not self.check(record):
            return False
        self._keep(record)
        self.added.append(record)
        return True

    def _keep(self, record: UsageRecord) -> None:
        self._by_key[record.key] = record
        if record.job_id:
            self._by_job[(record.contract_id, record.job_id)].append(record)

    def add_all(self, records: Iterable[UsageRecord]) -> list[UsageRecord]:
        """All or nothing: every record is checked (also against each other) before any is kept. Returns
        the records newly accepted (exact duplicates are skipped)."""
        staged = Meter(self.contracts, self.closed, self._by_key.values())
        for record in records:
            staged.add(record)
        for record in staged.added:
            self._keep(record)
        self.added.extend(staged.added)
        return staged.added

    def records(self, contract_id: str | None = None) -> Iterator[UsageRecord]:
        return (r for r in self._by_key.values() if contract_id is None or r.contract_id == contract_id)
