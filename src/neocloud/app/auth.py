"""API keys: 256-bit random secrets, stored only as SHA-256 digests, shown once, revocable.

A fast digest is the right tool here (unlike for passwords): the secrets are random and long, so there is
nothing to guess; the digest only keeps a stolen database from holding usable keys.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace

from neocloud.app.ports import ApiKey, UnitOfWork
from neocloud.app.services import NewId, get_tenant
from neocloud.core.errors import InvalidState, NeocloudError, NotFound

PREFIX = "nck_"
OPERATOR, TENANT = "operator", "tenant"


class Unauthenticated(NeocloudError):
    code = "unauthenticated"


class Forbidden(NeocloudError):
    code = "forbidden"


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


def create_key(uow: UnitOfWork, now: int, new_id: NewId, tenant: str | None = None) -> tuple[ApiKey, str]:
    """A new key for a tenant (by id or name), or an operator key when no tenant is given. Returns the stored
    key and the secret, which is not kept anywhere."""
    tenant_id = get_tenant(uow, tenant).id if tenant is not None else None
    secret = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(new_id("key"), digest(secret), TENANT if tenant_id else OPERATOR, tenant_id, now)
    uow.save_api_key(key)
    return key, secret


def authenticate(uow: UnitOfWork, secret: str | None) -> Principal:
    if not secret:
        raise Unauthenticated("missing API key: send Authorization: Bearer <key>")
    key = uow.api_key_by_digest(digest(secret))
    if key is None:
        raise Unauthenticated("unknown API key")
    if key.revoked_at is not None:
        raise Unauthenticated(f"API key {key.id} was revoked", key=key.id)
    return Principal(key.id, key.role, key.tenant_id)


def revoke_key(uow: UnitOfWork, key_id: str, now: int) -> ApiKey:
    key = uow.get_api_key(key_id)
    if key is None:
        raise NotFound(f"unknown API key {key_id!r}", key=key_id)
    if key.revoked_at is not None:
        raise InvalidState(f"API key {key_id} is already revoked", key=key_id)
    revoked = replace(key, revoked_at=now)
    uow.save_api_key(revoked)
    return revoked
