"""The dashboard's money and booking pages in a real browser against `neocloud serve` (SQLite and PostgreSQL):
a tenant quotes and signs at the rate card, sees its running bill and its invoices and downloads them; the
operator sees revenue, SLA availability and incidents; contracts filter, sort and open; and nothing of one
tenant shows to another, whatever the URL."""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

from neocloud import bootstrap
from neocloud.app import billing
from neocloud.core.billing.periods import month_of

from ..browser import SCREENSHOTS
from .conftest import OTHER_POOL, POOL, signed_in


def test_a_tenant_quotes_and_signs_at_the_rate_card(browser: Any, site: dict[str, str]) -> None:
    outside: list[str] = []
    page = signed_in(browser, site, "lab", outside)
    page.click("nav >> text=Book")
    page.wait_for_url(site["origin"] + "/book")
    page.select_option("#pool", POOL)
    for gpus, days, start, said in (
        ("1e9", "7", "", "GPUs must be a whole number"),
        ("16", "0", "", "days must be 1 to 3,660"),
        ("16", "7", "2020-01-01", "start must be today or later"),
    ):
        page.fill("#gpus", gpus)
        page.fill("#days", days)
        page.fill("#start", start)
        page.click("form.submit button")
        assert said in page.inner_text("[role=alert]")
        assert page.locator("text=Sign at these terms").count() == 0
    page.goto(site["origin"] + f"/book?pool={POOL}&gpus=16&days=7&start=2027-02-30")  # the date picker allows none
    assert "no such date" in page.inner_text("[role=alert]")
    page.goto(site["origin"] + "/book")
    page.select_option("#pool", POOL)
    page.fill("#gpus", "16")
    page.fill("#days", "7")
    page.click("form.submit button")
    quote = page.inner_text("table.terms")
    assert "2.40 $ per GPU-hour" in quote  # the H100 rate card
    assert "6,451.20 $" in quote  # 16 GPUs x 168 h x 2.40 $, take or pay
    assert re.search(r"GPUs free over the whole window\s+147,968", quote)  # 150,016 less the two reservations
    page.screenshot(path=str(SCREENSHOTS / "dashboard-book.png"), full_page=True)
    page.click("text=Sign at these terms")
    page.wait_for_url(re.compile(r"/contracts/c-[0-9a-f]{12}$"))  # the contract signed
    terms = page.inner_text("table.terms")
    assert re.search(r"kind\s+reserved\s+status\s+active\s+pool\s+colossus-1/h100-sxm\s+GPUs\s+16", terms)
    assert "(7 days)" in terms
    assert "2.40 $ per GPU-hour" in terms
    signed = page.url.rsplit("/", 1)[1]
    page.click("nav >> text=Contracts")
    page.wait_for_url(site["origin"] + "/contracts")
    assert signed in page.inner_text("main")  # listed with the others
    # More GPUs than the pool has: quoted, never offered for signing; and a forged signing is refused.
    page.goto(site["origin"] + f"/book?pool={POOL}&kind=reserved&gpus=200000&days=7")
    assert "never: more GPUs than the pool has" in page.inner_text("table.terms")
    assert page.locator("text=Sign at these terms").count() == 0
    assert outside == []


def test_a_tenant_sees_its_running_bill_and_its_invoices_only(
    browser: Any, site: dict[str, str], ctx: bootstrap.Context
) -> None:
    outside: list[str] = []
    page = signed_in(browser, site, "lab", outside)
    with ctx.reader() as uow:  # the bill accrues by the second: read before and after the page
        before = billing.bill_to_date(uow, ctx.catalog, "lab", ctx.now())
    page.click("nav >> text=Billing")
    page.wait_for_url(site["origin"] + "/billing")
    text = page.inner_text("main")
    with ctx.reader() as uow:
        after = billing.bill_to_date(uow, ctx.catalog, "lab", ctx.now())
        invoice = uow.billing.get_invoice(site["lab invoice"])
    assert invoice is not None
    shown = Decimal(re.search(r"To date: ([\d,.]+) \$", text).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert before.total <= shown <= after.total
    assert site["lab sla contract"] in text  # the reservation with an SLA, accruing since the month began
    assert site["lab invoice"] in text
    assert f"{invoice.total:,} $" in text
    assert site["rival invoice"] not in page.content()
    page.screenshot(path=str(SCREENSHOTS / "dashboard-bill.png"), full_page=True)
    page.click(f"text={site['lab invoice']}")
    assert "usage" in page.inner_text("table")
    with page.expect_download() as download:
        page.click("text=CSV")
    csv = Path(download.value.path()).read_text()
    assert site["lab invoice"] in download.value.suggested_filename
    assert str(invoice.total) in csv
    for url in (f"/billing/invoices/{site['rival invoice']}", f"/billing/invoices/{site['rival invoice']}/download"):
        answer = page.goto(site["origin"] + url)
        assert answer is not None
        assert answer.status == 404
        assert f"unknown invoice '{site['rival invoice']}'" in page.inner_text("[role=alert]")
    assert outside == []


def test_the_operator_sees_revenue_availability_and_incidents(
    browser: Any, site: dict[str, str], ctx: bootstrap.Context
) -> None:
    outside: list[str] = []
    page = signed_in(browser, site, "operator", outside)
    now = ctx.now()
    last = month_of(month_of(now).start - 1).key
    page.goto(site["origin"] + f"/billing?period={last}")
    with ctx.reader() as uow:
        revenue = {r.tenant_id: r.amount for r in billing.revenue(uow, last)}
    text = page.inner_text("main")
    for tenant in ("lab", "rival"):
        assert re.search(rf"{tenant}\s+{revenue[f't-{tenant}']:,} \$", text)
    assert page.locator("svg.chart rect").count() == 1  # one invoiced month
    this = month_of(now).key
    with ctx.reader() as uow:  # measured to now: before and after the page, which measured in between
        (before,) = billing.sla_availability(uow, this, ctx.now())
    page.goto(site["origin"] + "/billing")
    with ctx.reader() as uow:
        (after,) = billing.sla_availability(uow, this, ctx.now())
    row = page.locator("section[aria-labelledby=sla] tr", has_text=site["lab sla contract"]).inner_text()
    assert OTHER_POOL in row
    promised, shown = re.findall(r"(\d+\.\d{3}) %", row)
    assert promised == "99.000"
    low, high = sorted((before.measured * 100, after.measured * 100))
    # Shown to 3 places: whichever way the page rounds, it lies between these (97.7495 may show as 97.749).
    assert (
        low.quantize(Decimal("0.001"), ROUND_FLOOR) <= Decimal(shown) <= high.quantize(Decimal("0.001"), ROUND_CEILING)
    )
    assert ("yes" if after.met else "credits due") in row
    sold = page.locator("section[aria-labelledby=use] tr", has_text=site["lab sla contract"]).inner_text()
    assert f"{Decimal(512 * month_of(now).seconds) / 3600:,.2f}" in sold  # the whole month is sold; none used yet
    incident = page.locator("tr", has_text="a leaf switch failed").inner_text()
    assert "1 day" in incident
    assert "64" in incident
    page.screenshot(path=str(SCREENSHOTS / "dashboard-revenue.png"), full_page=True)
    page.goto(site["origin"] + "/billing?period=2027-13")
    assert page.locator("[role=alert]").count() == 1
    assert outside == []


def test_contracts_filter_sort_and_open_and_stay_each_tenants_own(browser: Any, site: dict[str, str]) -> None:
    outside: list[str] = []
    page = signed_in(browser, site, "operator", outside)
    page.goto(site["origin"] + "/contracts")
    page.select_option("#kind", "reserved")
    page.select_option("#order", "gpus")
    page.click("form.filters button")
    rows = page.locator("tbody tr").all_inner_texts()
    assert [re.search(r"reserved\s+\S+\s+([\d,]+)", r).group(1) for r in rows] == ["1,024", "1,024", "512"]  # type: ignore[union-attr]
    page.click(f"text={site['lab sla contract']}")
    terms = page.inner_text("table.terms")
    assert "lab" in terms
    assert "99.000 % a month" in terms
    assert "take or pay" in terms
    page.goto(site["origin"] + "/contracts?kind=spot")
    assert "No contracts match." in page.inner_text("main")
    page.goto(site["origin"] + "/contracts?order=nonsense")
    assert page.locator("[role=alert]").count() == 1
    lab = signed_in(browser, site, "lab", outside)
    answer = lab.goto(site["origin"] + f"/contracts/{site['rival contract']}")
    assert answer is not None
    assert answer.status == 404
    assert "unknown contract" in lab.inner_text("[role=alert]")
    assert outside == []
