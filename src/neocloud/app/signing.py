"""Contract signing in batches (group commit), for a server signing many contracts at once.

Signing a contract that books capacity locks its pool from the ledger read to the commit, so on one pool
signings take turns. The desk lets the requests that arrive while a batch is being written wait and go
together in the next: one lock of their pools, one read of the ledger, one commit. Each request still gets
its own answer: a refusal (unknown tenant, overbooking, a reused idempotency key), or any other error raised
for one request, writes nothing for that request and leaves the others alone. A store that is away fails the
whole batch, which wrote nothing; anything else that fails the batch's transaction has each of its requests
signed again alone, so that only the request that caused it fails.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from neocloud.app.credit import check_credit, commitment, exposure
from neocloud.app.ports import UnitOfWork
from neocloud.app.records import StoredResponse
from neocloud.app.services import (
    ContractRequest,
    NewId,
    book_hold,
    check_open,
    draft_contract,
    get_pool,
    get_tenant,
)
from neocloud.core.catalog import Catalog
from neocloud.core.contracts import Contract, ContractKind, Limits, PriceAgreement, Tenant
from neocloud.core.errors import Conflict, StoreUnavailable, quoted
from neocloud.core.fleet import Pool, Site


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


@dataclass(frozen=True, slots=True)
class SignRequest:
    request: ContractRequest
    scope: str = ""  # whose idempotency keys (the API key's id)
    idempotency_key: str | None = None
    fingerprint: str = ""  # of the HTTP request, to tell a replay from a reuse of the key


@dataclass(frozen=True, slots=True)
class Signed:
    """The answer to a signing, as the API renders it (`SigningDesk.answer`), stored for its retries."""

    status: int
    body: str
    replay: bool = False


Answer = Callable[[Contract], tuple[int, str]]  # a signed contract as the API answers it: (status, body)


@dataclass
class SigningDesk:
    uow_of: Callable[[], UnitOfWork]
    catalog: Catalog
    new_id: NewId
    now: Callable[[], int]
    answer: Answer  # the response is the API's to render; it is stored with the contract, for retries
    observe: Callable[[int], None] = lambda size: None  # told each batch's size (for metrics)
    max_batch: int = 64
    # How long a batch waits for more requests after its first. A batch's answers reach their clients
    # together and the next requests come back within a millisecond or two of each other: without the
    # wait the first of them went alone, and the rest waited for it (2 ms: +17 % signings/s side by side).
    gather_s: float = 0.002
    # How long a tenant's limits and agreements are reused: a change made through this desk's worker applies at
    # once (`forget`), one made through another worker within this time (as for API keys).
    remember_s: float = 2.0
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._waiting: list[tuple[SignRequest, asyncio.Future[Signed]]] = []
        self._serving: asyncio.Task[None] | None = None
        # Tenants and pools are never changed or removed once added: those found once are remembered.
        self._tenants: dict[str, Tenant] = {}
        self._pools: dict[str, Pool] = {}
        self._sites: dict[str, Site | None] = {}
        self._standing: dict[str, tuple[float, Standing]] = {}

    async def sign(self, request: SignRequest) -> Signed:
        """Sign in the next batch, once it commits. Raises the request's own refusal."""
        answer: asyncio.Future[Signed] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, answer))
        if self._serving is None or self._serving.done() or self._serving.get_loop() is not answer.get_loop():
            self._serving = asyncio.create_task(self._serve())
        return await answer

    async def _serve(self) -> None:
        """Batch after batch, each of what arrived while the one before was written."""
        while self._waiting:
            await asyncio.sleep(self.gather_s)
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
            requests = [r for r, _ in batch]
            self.observe(len(requests))
            results: list[Signed | Exception]
            try:  # in a thread: the batch waits for its pools' lock and the store, the event loop must not
                results = await asyncio.to_thread(self._sign_in_transaction, requests)
            except StoreUnavailable as exc:  # nothing of the batch was written: each request is told so
                results = [exc] * len(batch)
            except Exception:  # something failed the whole transaction (nothing was written): each request
                results = await asyncio.to_thread(self._one_by_one, requests)  # alone, so only its cause fails
            for (_, answer), result in zip(batch, results, strict=True):
                if answer.done():  # the client went away
                    continue
                if isinstance(result, Signed):
                    answer.set_result(result)
                else:
                    answer.set_exception(result)

    def _sign_in_transaction(self, requests: list[SignRequest]) -> list[Signed | Exception]:
        with self.uow_of() as uow:
            return self.sign_batch(uow, requests)

    def _one_by_one(self, requests: list[SignRequest]) -> list[Signed | Exception]:
        results: list[Signed | Exception] = []
        for request in requests:
            try:
                results += self._sign_in_transaction([request])
            except Exception as exc:
                results.append(exc)
        return results

    def sign_batch(self, uow: UnitOfWork, requests: list[SignRequest]) -> list[Signed | Exception]:
        """Sign every request in one transaction; each gets its response or its own refusal (any exception
        raised for one request, expected or not, is that request's answer alone).

        Everything that does not need the pools' lock (stored responses, drafts, the tenants' agreements,
        invoiced months, limits and exposure, response bodies) is done before taking it, so that the lock is
        held only for booking and writing: other workers' batches wait for it. Each table is written in one
        statement."""
        results: list[Signed | Exception | None] = [None] * len(requests)
        seen = uow.keys.stored_responses(_keys(requests))
        parties: dict[int, tuple[Tenant, Pool]] = {}
        for i, r in enumerate(requests):
            try:
                results[i] = _replay(seen, r)
                if results[i] is None:
                    parties[i] = self._tenant(uow, r.request.tenant), self._pool(uow, r.request.pool)
            except Exception as exc:
                results[i] = exc
        tenant_ids = {t.id for t, _ in parties.values()}
        standing = self._standings(uow, tenant_ids)
        invoiced = uow.billing.invoiced_periods(tenant_ids) if tenant_ids else {}
        limits = {t: s.limits for t, s in standing.items()}
        exposed = {t: exposure(uow, t, self.now()) for t, lim in limits.items() if lim.credit_limit is not None}
        drafts: dict[int, tuple[Contract, tuple[int, str]]] = {}
        for i, (tenant, pool) in parties.items():
            q = requests[i].request
            try:
                agreement = standing[tenant.id].agreements.get((pool.name, q.kind))
                site = self._site(uow, pool.site) if q.mw is not None else None
                contract = draft_contract(q, tenant, pool, self.catalog, self.new_id, agreement, site)
                check_open(invoiced.get(tenant.id, []), contract.start, contract.end, "the contract")
                drafts[i] = contract, self.answer(contract)
            except Exception as exc:
                results[i] = exc
        pools = sorted({c.pool for c, _ in drafts.values() if c.books_capacity})
        if not pools:
            ledger = None
        else:  # every pool locked at once, in order; then the responses stored meanwhile by other batches
            ledger = uow.ledger.load(pools, lock=True)
            seen |= uow.keys.stored_responses(_keys(requests[i] for i in drafts))
        contracts, holds, responses = [], [], []
        for i, (contract, (status, body)) in drafts.items():
            r = requests[i]
            try:
                results[i] = _replay(seen, r)  # the same key signed since, here or in another batch
                if results[i] is not None:
                    continue
                adding = commitment(contract, contract.start, contract.end)
                if contract.tenant_id in exposed:
                    check_credit(limits[contract.tenant_id], exposed[contract.tenant_id], adding, "the contract")
                hold = book_hold(ledger, contract)  # refused (Overbooked) before anything is written
            except Exception as exc:
                results[i] = exc
                continue
            if contract.tenant_id in exposed:
                exposed[contract.tenant_id] += adding
            contracts.append(contract)
            holds += [hold] if hold else []
            results[i] = Signed(status, body)
            if r.idempotency_key is not None:
                seen[r.scope, r.idempotency_key] = StoredResponse(r.fingerprint, status, body)
                responses.append((r.scope, r.idempotency_key, seen[r.scope, r.idempotency_key]))
        uow.contracts.add(contracts)
        uow.ledger.add(holds)
        uow.keys.store_responses(responses, self.now())
        done = [r for r in results if r is not None]
        assert len(done) == len(requests)
        return done

    def forget(self, tenant_id: str) -> None:
        """A tenant's limits or agreements changed: read them again at its next signing."""
        self._standing.pop(tenant_id, None)

    def _standings(self, uow: UnitOfWork, tenant_ids: set[str]) -> dict[str, Standing]:
        now = self.clock()
        out = {t: kept[1] for t in tenant_ids if (kept := self._standing.get(t)) is not None and kept[0] > now}
        missing = sorted(tenant_ids - set(out))
        limits = uow.tenants.get_limits(missing) if missing else {}
        for t in missing:
            out[t] = Standing(limits[t], {(a.pool, a.kind): a for a in uow.tenants.list_agreements(t)})
            self._standing[t] = (now + self.remember_s, out[t])
        return out

    # Tenants and pools are never changed or removed once added: those found once are remembered.
    def _tenant(self, uow: UnitOfWork, key: str) -> Tenant:
        if key not in self._tenants:
            self._tenants[key] = get_tenant(uow, key)
        return self._tenants[key]

    def _site(self, uow: UnitOfWork, name: str) -> Site | None:
        if name not in self._sites:
            self._sites[name] = uow.fleet.get_site(name)
        return self._sites[name]

    def _pool(self, uow: UnitOfWork, name: str) -> Pool:
        if name not in self._pools:
            self._pools[name] = get_pool(uow, name)
        return self._pools[name]


@dataclass(frozen=True, slots=True)
class Standing:
    """What signing needs of a tenant beyond its name: its limits, and its agreements by pool and kind."""

    limits: Limits
    agreements: dict[tuple[str, ContractKind], PriceAgreement]


def _keys(requests: Iterable[SignRequest]) -> set[tuple[str, str]]:
    return {(r.scope, r.idempotency_key) for r in requests if r.idempotency_key is not None}


def replayed(stored: StoredResponse | None, key: str, fingerprint: str) -> StoredResponse | None:
    """The response stored for an earlier request with this Idempotency-Key, if there was one; the key used
    for a different request (another fingerprint) is refused."""
    if stored is not None and stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused(f"Idempotency-Key {quoted(key)} was used for a different request", key=key)
    return stored


def _replay(seen: dict[tuple[str, str], StoredResponse], r: SignRequest) -> Signed | None:
    if r.idempotency_key is None:
        return None
    stored = replayed(seen.get((r.scope, r.idempotency_key)), r.idempotency_key, r.fingerprint)
    return None if stored is None else Signed(stored.status, stored.body, replay=True)
