"""Every list the API and the CLI page through, with its sort key (see app/pages.py). The store's lists are
in these orders; the others are sorted so before they are paged."""

from __future__ import annotations

from neocloud.app.billing import Availability, CapacityUse, RevenueRow
from neocloud.app.nodes import NodeView, StateCount
from neocloud.app.pages import Listing
from neocloud.app.records import ApiKey, Incident, StoredInvoice, StoredWorkload
from neocloud.core.billing.metering import UsageRecord
from neocloud.core.contracts import Contract, PriceAgreement, Tenant
from neocloud.core.fleet import Pool, Site
from neocloud.core.ledger import Hold, ProfileStep

AGREEMENTS: Listing[PriceAgreement] = Listing(
    "agreements", (str, str, str), lambda a: (a.tenant_id, a.pool, str(a.kind))
)
AVAILABILITY: Listing[Availability] = Listing("availability", (str,), lambda a: (a.contract_id,))
CAPACITY_USE: Listing[CapacityUse] = Listing("capacity-use", (str,), lambda u: (u.contract_id,))
CONTRACTS: Listing[Contract] = Listing("contracts", (int, str), lambda c: (c.start, c.id))
HOLDS: Listing[Hold] = Listing("holds", (int, str), lambda h: (h.start, h.id))
INCIDENTS: Listing[Incident] = Listing("incidents", (int, str), lambda i: (i.start, i.id))
INVOICES: Listing[StoredInvoice] = Listing("invoices", (str, str), lambda i: (i.period, i.tenant_id))
NODES: Listing[NodeView] = Listing("nodes", (str,), lambda n: (n.name,))
NODE_STATES: Listing[StateCount] = Listing("node-states", (str, str), lambda c: (c.pool, str(c.state)))
KEYS: Listing[ApiKey] = Listing("keys", (int, str), lambda k: (k.created_at, k.id))
POOLS: Listing[Pool] = Listing("pools", (str,), lambda p: (p.name,))
PROFILE: Listing[ProfileStep] = Listing("profile", (int,), lambda s: (s.start,))
REVENUE: Listing[RevenueRow] = Listing("revenue", (str, str, str), lambda r: (r.period, r.tenant_id, r.contract_id))
SITES: Listing[Site] = Listing("sites", (str,), lambda s: (s.name,))
TENANTS: Listing[Tenant] = Listing("tenants", (str,), lambda t: (t.name,))
USAGE: Listing[UsageRecord] = Listing("usage", (int, str), lambda r: (r.start, r.key))
WORKLOADS: Listing[StoredWorkload] = Listing("workloads", (int, str), lambda w: (w.job.submit, w.job.id))
