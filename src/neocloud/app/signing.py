"""Contract signing in batches (group commit), for a server signing many contracts at once.

Signing a contract that books capacity locks its pool from the ledger read to the commit, so on one pool
signings take turns. The desk lets the requests that arrive while a batch is being written wait and go
together in the next: one lock of their pools, one read of the ledger, one commit. Each request still gets
its own answer: a refusal (unknown tenant, overbooking, a reused idempotency key) writes nothing for that
request and leaves the others alone; a failure of the store fails the whole batch, which wrote nothing.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import cache, partial

from neocloud.app.ports import StoredResponse, UnitOfWork
from neocloud.app.services import ContractRequest, NewId, book_contract, draft_contract, get_pool, get_tenant
from neocloud.app.views import plain
from neocloud.core.catalog import Catalog
from neocloud.core.contracts import Contract
from neocloud.core.errors import Conflict, NeocloudError
from neocloud.core.ledger import Ledger


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
    status: int
    body: str  # the JSON response
    replay: bool = False


@dataclass
class SigningDesk:
    uow_of: Callable[[], UnitOfWork]
    catalog: Catalog
    new_id: NewId
    now: Callable[[], int]
    max_batch: int = 64

    def __post_init__(self) -> None:
        self._queue: queue.Queue[tuple[SignRequest, Future[Signed]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def sign(self, request: SignRequest) -> Signed:
        """Sign in the next batch; blocks until it commits. Raises the request's own refusal."""
        return self.submit(request).result()

    async def sign_async(self, request: SignRequest) -> Signed:
        """`sign` for an event loop: waits for the batch without holding a thread."""
        return await asyncio.wrap_future(self.submit(request))

    def submit(self, request: SignRequest) -> Future[Signed]:
        """Queue the request for the next batch; the future holds its answer."""
        done: Future[Signed] = Future()
        self._queue.put((request, done))
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="signing-desk", daemon=True)
                self._thread.start()
        return done

    def _serve(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                results = self.sign_batch([r for r, _ in batch])
            except Exception as exc:  # the store failed: nothing of the batch was written
                for _, done in batch:
                    done.set_exception(exc)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                if isinstance(result, Signed):
                    done.set_result(result)
                else:
                    done.set_exception(result)

    def sign_batch(self, requests: list[SignRequest]) -> list[Signed | NeocloudError]:
        """Sign every request in one transaction; each gets its response or its own refusal."""
        results: list[Signed | NeocloudError | None] = [None] * len(requests)
        with self.uow_of() as uow:
            drafts: dict[int, Contract] = {}
            tenant, pool = cache(partial(get_tenant, uow)), cache(partial(get_pool, uow))  # once per batch
            for i, r in enumerate(requests):
                try:
                    results[i] = self._replay(uow, r)
                    if results[i] is None:
                        q = r.request
                        drafts[i] = draft_contract(q, tenant(q.tenant), pool(q.pool), self.catalog, self.new_id)
                except NeocloudError as exc:
                    results[i] = exc
            pools = sorted({c.pool for c in drafts.values() if c.books_capacity})
            ledger = uow.load_ledger(pools, lock=True) if pools else None  # every pool locked at once, in order
            for i, r in enumerate(requests):
                if i not in drafts:
                    continue
                try:
                    results[i] = self._sign_one(uow, ledger, r, drafts[i])
                except NeocloudError as exc:
                    results[i] = exc
        done = [r for r in results if r is not None]
        assert len(done) == len(requests)
        return done

    @staticmethod
    def _replay(uow: UnitOfWork, r: SignRequest) -> Signed | None:
        """The stored response to an earlier request with the same idempotency key, if there was one."""
        if r.idempotency_key is None:
            return None
        seen = uow.stored_response(r.scope, r.idempotency_key)
        if seen is None:
            return None
        if seen.fingerprint != r.fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {r.idempotency_key!r} was used for a different request", key=r.idempotency_key
            )
        return Signed(seen.status, seen.body, replay=True)

    def _sign_one(self, uow: UnitOfWork, ledger: Ledger | None, r: SignRequest, contract: Contract) -> Signed:
        replay = self._replay(uow, r)  # the same key earlier in this batch
        if replay is not None:
            return replay
        book_contract(uow, ledger, contract)  # refused (Overbooked) before anything is written
        body = json.dumps(plain(contract))
        if r.idempotency_key is not None:
            uow.store_response(r.scope, r.idempotency_key, StoredResponse(r.fingerprint, 201, body), self.now())
        return Signed(201, body)
