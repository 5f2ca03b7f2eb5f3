"""Signing in batches (app/signing.py): one lock and one commit per batch, one answer per request."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest

from neocloud import bootstrap
from neocloud.api.routes.contracts import created
from neocloud.app import services
from neocloud.app.ports import UnitOfWork
from neocloud.app.signing import IdempotencyKeyReused, Signed, SigningDesk, SignRequest
from neocloud.core.errors import Overbooked, UnknownPool

from ..builders import POOL, reserved

DAY = 86_400


def desk(ctx: bootstrap.Context) -> SigningDesk:
    return SigningDesk(ctx.uow, ctx.catalog, ctx.new_id, ctx.now, created)


def batch(ctx: bootstrap.Context, requests: list[SignRequest]) -> list[Signed | Exception]:
    with ctx.uow() as uow:
        return list(desk(ctx).sign_batch(uow, requests))


def held(ctx: bootstrap.Context) -> int:
    with ctx.uow() as uow:
        return sum(h.gpus for h in services.list_holds(uow, POOL))


def test_each_request_in_a_batch_gets_its_own_answer(store: bootstrap.Context) -> None:
    results = batch(
        store,
        [
            SignRequest(reserved(100)),
            SignRequest(replace(reserved(1), pool="nowhere/h100-sxm")),
            SignRequest(reserved(40)),  # 100 + 40 > 128: refused, the others stand
            SignRequest(reserved(28)),
        ],
    )
    assert [type(r) for r in results] == [Signed, UnknownPool, Overbooked, Signed]
    first = results[0]
    assert isinstance(first, Signed)
    assert (first.status, json.loads(first.body)["gpus"]) == (201, 100)
    assert held(store) == 128


def test_idempotency_keys_hold_within_a_batch_and_across_batches(store: bootstrap.Context) -> None:
    same = SignRequest(reserved(10), "key-1", "k", "fingerprint-a")
    other = SignRequest(reserved(20), "key-1", "k", "fingerprint-b")
    first, again, reused = batch(store, [same, same, other])
    assert isinstance(first, Signed)
    assert isinstance(again, Signed)
    assert (first.replay, again.replay, again.body) == (False, True, first.body)
    assert isinstance(reused, IdempotencyKeyReused)
    [later] = batch(store, [same])
    assert isinstance(later, Signed)
    assert (later.replay, later.body) == (True, first.body)
    assert held(store) == 10


def test_concurrent_signers_share_batches_and_never_overbook(store: bootstrap.Context) -> None:
    signing = desk(store)
    sizes: list[int] = []
    sign_batch = signing.sign_batch

    def counted(uow: UnitOfWork, requests: list[SignRequest]) -> list[Any]:
        sizes.append(len(requests))
        return sign_batch(uow, requests)

    signing.sign_batch = counted  # type: ignore[method-assign]

    async def attempt(i: int) -> str:
        try:
            await signing.sign(SignRequest(reserved(10, start=1_900_000_000 + i)))
            return "signed"
        except Overbooked:
            return "refused"

    async def all_at_once() -> list[str]:
        return await asyncio.gather(*(attempt(i) for i in range(16)))

    outcomes = asyncio.run(all_at_once())
    # Every request overlaps every other over most of 30 days: 12 x 10 GPUs fit in 128, 4 do not.
    assert sorted(outcomes).count("signed") == 12
    assert held(store) == 120
    assert sum(sizes) == 16
    assert len(sizes) < 16  # the requests that came while a batch was written went together


def test_a_failing_store_fails_the_whole_batch_and_writes_nothing(store: bootstrap.Context) -> None:
    def broken() -> UnitOfWork:
        raise RuntimeError("store unavailable")

    signing = SigningDesk(broken, store.catalog, store.new_id, store.now, created)
    with pytest.raises(RuntimeError, match="store unavailable"):
        asyncio.run(signing.sign(SignRequest(reserved(10))))
    assert held(store) == 0


def test_new_rows_are_read_back_in_their_transaction_and_written_with_it(store: bootstrap.Context) -> None:
    with store.uow() as uow:
        contract = services.sign_contract(uow, reserved(10), store.catalog, store.new_id, store.now())
        assert uow.contracts.get(contract.id) == contract  # the rows waiting for the commit go before a read
    with store.uow() as uow:
        assert uow.contracts.get(contract.id) == contract

    def sign_then_fail() -> None:
        with store.uow() as uow:
            services.sign_contract(uow, reserved(20), store.catalog, store.new_id, store.now())
            raise RuntimeError("after signing")

    with pytest.raises(RuntimeError, match="after signing"):
        sign_then_fail()
    assert held(store) == 10  # the failed transaction wrote neither its contract nor its hold
