"""API keys: 256-bit random secrets, stored only as SHA-256 digests, shown once, revocable.

A fast digest is the right tool here (unlike for passwords): the secrets are random and long, so there is
nothing to guess; the digest only keeps a stolen database from holding usable keys.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from neocloud.app.ports import UnitOfWork
from neocloud.app.records import ApiKey
from neocloud.app.services import NewId, get_tenant
from neocloud.core.bounds import check_time
from neocloud.core.errors import InvalidInput, InvalidState, NeocloudError, NotFound, quoted

PREFIX = "nck_"
OPERATOR, TENANT = "operator", "tenant"
MISSING = "missing API key: send Authorization: Bearer <key>"
TOUCH_EVERY = 60  # seconds: a key's last use is written at most this often (a write per request would cost)


class Unauthenticated(NeocloudError):
    code = "unauthenticated"


class Forbidden(NeocloudError):
    code = "forbidden"


class TermsNotAllowed(Forbidden):
    """A tenant key naming commercial terms: those come from the rate card or the tenant's agreement."""

    code = "terms_not_allowed"


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    role: str
    tenant_id: str | None

    @property
    def is_operator(self) -> bool:
        return self.role == OPERATOR


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    uow: UnitOfWork, now: int, new_id: NewId, tenant: str | None = None, expires_at: int | None = None
) -> tuple[ApiKey, str]:
    """A new key for a tenant (by id or name), or an operator key when no tenant is given, valid until
    `expires_at` (None: until revoked). Returns the stored key and the secret, which is not kept anywhere."""
    tenant_id = get_tenant(uow, tenant).id if tenant is not None else None
    if expires_at is not None and check_time(expires_at, "expires_at") <= now:
        raise InvalidInput("a key must expire after it is made", field="expires_at")
    secret = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(new_id("key"), digest(secret), TENANT if tenant_id else OPERATOR, tenant_id, now, None, expires_at)
    uow.keys.save(key)
    return key, secret


def authenticate(uow: UnitOfWork, secret: str | None, now: int) -> tuple[Principal, int | None]:
    """The principal of a key, and when it expires; its last use is noted (to within TOUCH_EVERY)."""
    if not secret:
        raise Unauthenticated(MISSING)
    if len(secret) > 200:
        raise Unauthenticated("unknown API key")
    key = uow.keys.by_digest(digest(secret))
    if key is None:
        raise Unauthenticated("unknown API key")
    if key.revoked_at is not None:
        raise Unauthenticated(f"API key {key.id} was revoked", key=key.id)
    if key.expires_at is not None and key.expires_at <= now:
        raise Unauthenticated(f"API key {key.id} expired", key=key.id)
    if key.last_used_at is None or key.last_used_at <= now - TOUCH_EVERY:
        uow.keys.touch(key.id, now)
    return Principal(key.id, key.role, key.tenant_id), key.expires_at


def revoke_key(uow: UnitOfWork, key_id: str, now: int) -> ApiKey:
    key = uow.keys.get(key_id)
    if key is None:
        raise NotFound(f"unknown API key {quoted(key_id)}", key=key_id)
    if key.revoked_at is not None:
        raise InvalidState(f"API key {key_id} is already revoked", key=key_id)
    revoked = replace(key, revoked_at=now)
    uow.keys.save(revoked)
    return revoked


class KeyCache:
    """Principals by key digest for `ttl` seconds, so that most requests skip the key lookup.

    A revocation takes effect at once in the process that made it (`forget`) and within `ttl` seconds in
    the server's other worker processes. Unknown keys are never cached.
    """

    def __init__(
        self,
        ttl: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        limit: int = 10_000,
        wall: Callable[[], int] = lambda: int(time.time()),
    ) -> None:
        self.ttl, self.clock, self.limit, self.wall = ttl, clock, limit, wall
        self._known: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()
        self._looking_up: dict[str, asyncio.Future[Principal]] = {}  # by digest, on the event loop

    async def look_up(self, uow_of: Callable[[], UnitOfWork], secret: str | None) -> Principal:
        """`authenticate` for an event loop, in a thread. The requests that come with a key while it is
        being looked up wait for that lookup: when a busy key's entry expires, its requests make one lookup,
        not one each (which, in threads beside the loop, used to stall the worker every `ttl` seconds)."""
        who = self.cached(secret)
        if who is not None:
            return who
        key = digest(secret or "")
        found = self._looking_up.get(key)
        if found is None or found.get_loop() is not asyncio.get_running_loop():
            found = asyncio.ensure_future(asyncio.to_thread(self.authenticate, uow_of, secret))
            self._looking_up[key] = found
            found.add_done_callback(lambda done: self._looking_up.get(key) is done and self._looking_up.pop(key))
        return await asyncio.shield(found)  # a waiter that gives up does not cancel the others' lookup

    def cached(self, secret: str | None) -> Principal | None:
        """The key's principal if it was looked up less than `ttl` ago (no I/O)."""
        if not secret:
            raise Unauthenticated(MISSING)
        entry = self._known.get(digest(secret))
        return entry[1] if entry is not None and entry[0] > self.clock() else None

    def authenticate(self, uow_of: Callable[[], UnitOfWork], secret: str | None) -> Principal:
        who = self.cached(secret)
        if who is not None:
            return who
        now = self.wall()
        with uow_of() as uow:
            who, expires_at = authenticate(uow, secret, now)
        assert secret is not None
        ttl = self.ttl if expires_at is None else min(self.ttl, expires_at - now)  # never past its expiry
        with self._lock:
            if len(self._known) >= self.limit:
                self._known.clear()
            self._known[digest(secret)] = (self.clock() + ttl, who)
        return who

    def forget(self, key_id: str) -> None:
        with self._lock:
            self._known = {d: entry for d, entry in self._known.items() if entry[1].key_id != key_id}
