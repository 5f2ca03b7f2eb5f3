"""The dashboard: HTML pages rendered on the server (Jinja2) from what the API reads, for the operator, tenants
and analysts, signed in with an API key (app/sessions.py). No script and no file from elsewhere: the pages
work offline, every chart is drawn here (api/charts.py), and a tenant sees only what its key shows through
the API."""

from __future__ import annotations

from fastapi import APIRouter

from neocloud.api.dashboard import analyses, billing, booking, operations, power
from neocloud.api.dashboard.common import SESSION, refused_page

__all__ = ["SESSION", "is_page", "refused_page", "router"]

PAGES = frozenset(  # past the API's door: each page checks its session
    {
        "/",
        "/sign-in",
        "/sign-out",
        "/contracts",
        "/capacity",
        "/workloads",
        "/workloads/cancel",
        "/billing",
        "/book",
        "/analyses",
        "/power",
        "/power/curtail",
        "/power/lift",
        "/static/dashboard.css",
    }
)
PREFIXES = ("/billing/invoices/", "/contracts/", "/analyses/")  # pages named by what they show

router = APIRouter(include_in_schema=False)
for part in (operations, billing, booking, analyses, power):
    router.include_router(part.router)


def is_page(path: str) -> bool:
    return path in PAGES or path.startswith(PREFIXES)
