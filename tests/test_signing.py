"""Signing in batches (app/signing.py): one lock and one commit per batch, one answer per request."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from neocloud import bootstrap
from neocloud.app import services
from neocloud.app.signing import IdempotencyKeyReused, Signed, SigningDesk, SignRequest
from neocloud.core.errors import Overbooked, UnknownPool

from .test_services import POOL, reserved, store  # noqa: F401  (fixture)

DAY = 86_400


def desk(ctx: bootstrap.Context) -> SigningDesk:
    return SigningDesk(ctx.uow, ctx.catalog, ctx.new_id, ctx.now)


def held(ctx: bootstrap.Context) -> int:
    with ctx.uow() as uow:
        return sum(h.gpus for h in services.list_holds(uow, POOL))


def test_each_request_in_a_batch_gets_its_own_answer(store: bootstrap.Context) -> None:  # noqa: F811
    results = desk(store).sign_batch(
        [
            SignRequest(reserved(100)),
            SignRequest(replace(reserved(1), pool="nowhere/h100-sxm")),
            SignRequest(reserved(40)),  # 100 + 40 > 128: refused, the others stand
            SignRequest(reserved(28)),
        ]
    )
    assert [type(r) for r in results] == [Signed, UnknownPool, Overbooked, Signed]
    first = results[0]
    assert isinstance(first, Signed)
    assert (first.status, json.loads(first.body)["gpus"]) == (201, 100)
    assert held(store) == 128


def test_idempotency_keys_hold_within_a_batch_and_across_batches(store: bootstrap.Context) -> None:  # noqa: F811
    same = SignRequest(reserved(10), "key-1", "k", "fingerprint-a")
    other = SignRequest(reserved(20), "key-1", "k", "fingerprint-b")
    first, again, reused = desk(store).sign_batch([same, same, other])
    assert isinstance(first, Signed)
    assert isinstance(again, Signed)
    assert (first.replay, again.replay, again.body) == (False, True, first.body)
    assert isinstance(reused, IdempotencyKeyReused)
    [later] = desk(store).sign_batch([same])
    assert isinstance(later, Signed)
    assert (later.replay, later.body) == (True, first.body)
    assert held(store) == 10


def test_concurrent_signers_share_batches_and_never_overbook(store: bootstrap.Context) -> None:  # noqa: F811
    signing = desk(store)

    def attempt(i: int) -> str:
        try:
            signing.sign(SignRequest(reserved(10, start=1_900_000_000 + i)))
            return "signed"
        except Overbooked:
            return "refused"

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(attempt, range(16)))
    # Every request overlaps every other over most of 30 days: 12 x 10 GPUs fit in 128, 4 do not.
    assert sorted(outcomes).count("signed") == 12
    assert held(store) == 120


def test_a_failing_store_fails_the_whole_batch_and_writes_nothing(store: bootstrap.Context) -> None:  # noqa: F811
    def broken_uow() -> object:
        raise RuntimeError("store unavailable")

    signing = SigningDesk(broken_uow, store.catalog, store.new_id, store.now)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="store unavailable"):
        signing.sign(SignRequest(reserved(10)))
    assert held(store) == 0
