"""Sites and their pools in SQL."""

from __future__ import annotations

from sqlalchemy import delete, select

from neocloud.adapters.store import codec
from neocloud.adapters.store.session import Transaction
from neocloud.adapters.store.tables import CurtailmentRow, PoolRow, SiteRow
from neocloud.app.records import CurtailmentEvent
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

    def save_curtailment(self, event: CurtailmentEvent) -> None:
        e = event
        self._tx.session.merge(
            CurtailmentRow(id=e.id, site=e.site, depth=e.depth, start=e.start, end=e.end,
                           recorded_at=e.recorded_at, description=e.description, incident_ids=list(e.incidents))
        )  # fmt: skip
        self._tx.session.flush()

    def get_curtailment(self, curtailment_id: str) -> CurtailmentEvent | None:
        row = self._tx.session.get(CurtailmentRow, curtailment_id)
        return None if row is None else _curtailment(row)

    def remove_curtailment(self, curtailment_id: str) -> None:
        self._tx.session.execute(delete(CurtailmentRow).where(CurtailmentRow.id == curtailment_id))

    def curtailments(self, site: str | None, start: int, end: int) -> list[CurtailmentEvent]:
        c = CurtailmentRow
        query = select(c).where(c.start < end, c.end > start).order_by(c.site, c.start, c.id)
        if site is not None:
            query = query.where(c.site == site)
        return [_curtailment(r) for r in self._tx.session.scalars(query)]


def _curtailment(r: CurtailmentRow) -> CurtailmentEvent:
    incidents = tuple(str(i) for i in r.incident_ids or ())
    return CurtailmentEvent(r.id, r.site, r.depth.normalize(), r.start, r.end, r.recorded_at, r.description, incidents)
