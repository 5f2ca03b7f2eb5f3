"""Invoices out of the system: JSON, CSV and a printable, self-contained HTML page."""

from __future__ import annotations

import csv
import html
import io
import json

from neocloud.app.records import StoredInvoice
from neocloud.core.billing.periods import month
from neocloud.core.errors import InvalidInput, quoted
from neocloud.core.timeutil import iso

COLUMNS = ["contract_id", "kind", "description", "quantity", "unit", "unit_price", "amount"]


def to_json(invoice: StoredInvoice) -> str:
    return json.dumps(
        {
            "id": invoice.id,
            "tenant_id": invoice.tenant_id,
            "period": invoice.period,
            "issued_at": iso(invoice.issued_at),
            "currency": "USD",
            "total": str(invoice.total),
            "lines": [{c: str(getattr(line, c)) for c in COLUMNS} for line in invoice.lines],
        },
        indent=2,
    )


def to_csv(invoice: StoredInvoice) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for line in invoice.lines:
        writer.writerow([getattr(line, c) for c in COLUMNS])
    writer.writerow(["", "total", "", "", "", "", invoice.total])
    return out.getvalue()


def to_html(invoice: StoredInvoice, tenant_name: str) -> str:
    period = month(invoice.period)
    rows = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(getattr(line, c)))}</td>" for c in COLUMNS) + "</tr>"
        for line in invoice.lines
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Invoice {html.escape(invoice.id)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #111; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left; }}
td:nth-child(n+4), th:nth-child(n+4) {{ text-align: right; }}
tfoot td {{ font-weight: bold; border-top: 2px solid #111; }}
@media print {{ body {{ margin: 0; }} }}
</style></head>
<body>
<h1>Invoice {html.escape(invoice.id)}</h1>
<p>Tenant: {html.escape(tenant_name)} ({html.escape(invoice.tenant_id)})<br>
Period: {invoice.period} ({iso(period.start)} to {iso(period.end)})<br>Issued: {iso(invoice.issued_at)}</p>
<table>
<thead><tr>{"".join(f"<th>{c.replace('_', ' ')}</th>" for c in COLUMNS)}</tr></thead>
<tbody>
{rows}
</tbody>
<tfoot><tr><td colspan="6">Total (USD)</td><td>{invoice.total}</td></tr></tfoot>
</table>
</body></html>
"""


FORMATS = {"json": "application/json", "csv": "text/csv", "html": "text/html"}


def render(invoice: StoredInvoice, format: str, tenant_name: str) -> tuple[str, str]:
    """The invoice in `format` (json, csv or html), and its media type."""
    if format == "json":
        return to_json(invoice), FORMATS[format]
    if format == "csv":
        return to_csv(invoice), FORMATS[format]
    if format == "html":
        return to_html(invoice, tenant_name), FORMATS[format]
    raise InvalidInput(f"unknown format {quoted(format)}: use json, csv or html", format=format)
