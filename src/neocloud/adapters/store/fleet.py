"""Sites and their pools in SQL."""

from __future__ import annotations

from sqlalchemy import select

from neocloud.adapters.store import codec
from neocloud.adapters.store.session import Transaction
from neocloud.adapters.store.tables import PoolRow, SiteRow
from neocloud.core.fleet import Pool, Site


class SqlFleet:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def add_site(self, site: Site) -> None:
        session = self._tx.session
        session.add(SiteRow(name=site.name, spec=codec.site_to_json(site)))
        session.flush()  # pools refer to the site
        session.add_all(
            PoolRow(name=p.name, site=p.site, gpu_model=p.gpu_model, block=p.block, gpus=p.gpus) for p in site.pools()
        )
        session.flush()

    def get_site(self, name: str) -> Site | None:
        row = self._tx.session.get(SiteRow, name)
        return None if row is None else codec.site_from_json(row.spec)

    def list_sites(self) -> list[Site]:
        rows = self._tx.session.scalars(select(SiteRow).order_by(SiteRow.name))
        return [codec.site_from_json(row.spec) for row in rows]

    def get_pool(self, name: str) -> Pool | None:
        p = PoolRow
        query = select(p.name, p.site, p.gpu_model, p.block, p.gpus).where(p.name == name)
        found = self._tx.session.execute(query).first()
        return None if found is None else Pool(*found)

    def list_pools(self) -> list[Pool]:
        return [codec.pool_from_row(r) for r in self._tx.session.scalars(select(PoolRow).order_by(PoolRow.name))]
