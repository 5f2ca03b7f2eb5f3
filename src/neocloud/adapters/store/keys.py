"""API keys, and the responses kept for idempotency keys, in SQL."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, select, tuple_, update

from neocloud.adapters.store.paging import Key, page
from neocloud.adapters.store.session import Transaction
from neocloud.adapters.store.tables import ApiKeyRow, IdempotencyRow
from neocloud.app.records import ApiKey, StoredResponse

K = ApiKeyRow
COLUMNS = (K.id, K.digest, K.role, K.tenant_id, K.created_at, K.revoked_at, K.expires_at, K.last_used_at)


class SqlKeys:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def save(self, key: ApiKey) -> None:
        session = self._tx.session
        session.merge(
            ApiKeyRow(
                id=key.id,
                digest=key.digest,
                role=key.role,
                tenant_id=key.tenant_id,
                created_at=key.created_at,
                revoked_at=key.revoked_at,
                expires_at=key.expires_at,
                last_used_at=key.last_used_at,
            )
        )
        session.flush()

    def get(self, key_id: str) -> ApiKey | None:
        found = self._tx.session.execute(select(*COLUMNS).where(K.id == key_id)).first()
        return None if found is None else ApiKey(*found)

    def by_digest(self, digest: str) -> ApiKey | None:
        found = self._tx.session.execute(select(*COLUMNS).where(K.digest == digest)).first()
        return None if found is None else ApiKey(*found)

    def page(self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None) -> list[ApiKey]:
        query = select(K) if tenant_id is None else select(K).where(K.tenant_id == tenant_id)
        rows = self._tx.session.scalars(page(query, (K.created_at, K.id), after, limit))
        return [
            ApiKey(r.id, r.digest, r.role, r.tenant_id, r.created_at, r.revoked_at, r.expires_at, r.last_used_at)
            for r in rows
        ]

    def touch(self, key_id: str, now: int) -> None:
        self._tx.session.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(last_used_at=now))

    def stored_responses(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredResponse]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        i = IdempotencyRow
        rows = self._tx.session.execute(
            select(i.scope, i.key, i.fingerprint, i.status, i.body).where(tuple_(i.scope, i.key).in_(wanted))
        )
        return {(r.scope, r.key): StoredResponse(r.fingerprint, r.status, r.body) for r in rows}

    def store_responses(self, responses: Iterable[tuple[str, str, StoredResponse]], now: int) -> None:
        """Keep the responses, sent with whatever comes next (at the latest, the commit)."""
        values: list[dict[str, object]] = [
            {"scope": s, "key": k, "fingerprint": r.fingerprint, "status": r.status, "body": r.body, "created_at": now}
            for s, k, r in responses
        ]
        self._tx.queue(insert(IdempotencyRow), values)
