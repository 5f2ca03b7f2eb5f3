"""The dashboard in a real browser (tests/browser.py) against `neocloud serve` on SQLite and PostgreSQL, with
nothing reachable beyond the server: signing in with a key, what the operator and a tenant each see, and
that a tenant sees nothing of another tenant's."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx

from neocloud import bootstrap
from neocloud.app import auth, live, services
from neocloud.core.contracts import TenantKind
from neocloud.core.workload import WorkloadStatus

from ..browser import SCREENSHOTS, offline_page
from ..servers import serve
from .conftest import POOL, signed_in


def test_the_operator_sees_the_fleet_power_capacity_and_every_contract(browser: Any, site: dict[str, str]) -> None:
    outside: list[str] = []
    page = signed_in(browser, site, "operator", outside)
    text = page.inner_text("main")
    assert "Sites and power" in text
    # GPUs, nodes, MW: budget, typical draw and headroom; at TDP (docs/power.md) 380.958 MW, 80.958 over, and
    # one limit of its power tree over (the feed: it names no halls or PDUs).
    # Then the IT power its contracts hold now at their caps, against what its feed may sell: 300 MW x its
    # oversubscription policy 1.3 / PUE 1.2 = 325 MW. Lab's reservation of OTHER_POOL holds 512 H200 this month,
    # at 1.4025 kW each: 0.718 MW (the others start next hour).
    # Last, the curtailment applied next month (the fixture's): a quarter of its feed for three hours.
    cut = datetime.fromtimestamp(int(site["curtailment"]), UTC)
    assert re.search(
        r"colossus-1\s+220,208\s+30,028\s+300\s+287\.718\s+12\.282\s+380\.958\s+-80\.958\s+1\s+0\.718\s+325\.000"
        rf"\s+25 % from {cut:%Y-%m-%d} 14:00 UTC to {cut:%Y-%m-%d} 17:00 UTC",
        text,
    )
    assert re.search(rf"{POOL}\s+h100-sxm\s+150,016\s+0\s+0\s+150,016", text)  # held from next hour only
    assert "Nodes by state" in text
    page.screenshot(path=str(SCREENSHOTS / "dashboard-operator.png"), full_page=True)
    page.click("text=Contracts")
    page.wait_for_url(site["origin"] + "/contracts")
    listed = page.inner_text("main")
    assert site["lab contract"] in listed
    assert site["rival contract"] in listed
    page.set_viewport_size({"width": 800, "height": 900})
    page.screenshot(path=str(SCREENSHOTS / "dashboard-contracts-800.png"), full_page=True)
    assert outside == []


def test_a_tenant_sees_its_own_and_nothing_of_another_tenants(browser: Any, site: dict[str, str]) -> None:
    outside: list[str] = []
    page = signed_in(browser, site, "lab", outside)
    assert site["lab contract"] in page.inner_text("main")
    assert "Sites and power" not in page.content()
    for path in ("/", "/contracts"):
        page.goto(site["origin"] + path)
        html = page.content()
        assert site["rival contract"] not in html
        assert "rival" not in html  # nor its tenant id, t-rival
    page.screenshot(path=str(SCREENSHOTS / "dashboard-tenant.png"), full_page=True)
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["neocloud_session"]
    assert (session["httpOnly"], session["sameSite"]) == (True, "Strict")
    page.click("text=Sign out")
    page.wait_for_url(site["origin"] + "/sign-in")
    page.goto(site["origin"] + "/contracts")
    assert page.url.endswith("/sign-in")  # the session is gone
    assert outside == []


def test_a_wrong_key_is_told_in_the_page_and_opens_nothing(browser: Any, site: dict[str, str]) -> None:
    page = offline_page(browser, site["origin"], [])
    page.goto(site["origin"] + "/sign-in")
    page.fill("#key", "nck_" + "x" * 40)
    page.click("button[type=submit]")
    assert page.inner_text("[role=alert]") == "unknown API key"
    assert "neocloud_session" not in {c["name"] for c in page.context.cookies()}


def test_keyboard_alone_signs_in_and_moves_between_views(browser: Any, site: dict[str, str]) -> None:
    page = offline_page(browser, site["origin"], [])
    page.goto(site["origin"] + "/sign-in")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'key'")  # autofocus
    page.keyboard.type(site["operator"])
    page.keyboard.press("Enter")
    page.wait_for_url(site["origin"] + "/")
    for _ in range(3):  # neocloud, Overview, Contracts
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(site["origin"] + "/contracts")


def test_forged_and_cross_site_posts_are_refused(site: dict[str, str]) -> None:
    origin = site["origin"]
    with httpx.Client(base_url=origin) as client:
        client.get("/sign-in")
        # A sign-in whose token is not the one its cookie carries (another site's form) is refused.
        forged = client.post("/sign-in", data={"key": site["operator"], "csrf": "forged"})
        assert forged.status_code == 403
        token = re.search(r'name="csrf" value="([^"]+)"', forged.text)  # the form again, with a new token
        assert token is not None
        signed = client.post("/sign-in", data={"key": site["operator"], "csrf": token.group(1)})
        assert signed.status_code == 303
        assert client.post("/sign-out", data={"csrf": "not-this-sessions"}).status_code == 403
        assert client.get("/contracts").status_code == 200  # still signed in
        session = client.cookies["neocloud_session"]
    # A made-up or altered session is no session.
    altered = session[:-1] + ("1" if session.endswith("0") else "0")
    for hostile in (altered, "", "x" * 5000, "key-1.99999999999.%s" % ("0" * 64), "key-1.1.\xe9\t;;="):
        cookie = b"neocloud_session=" + hostile.encode("latin-1")
        answer = httpx.get(origin + "/", headers=[(b"cookie", cookie)])
        assert (answer.status_code, answer.headers["location"]) == (303, "/sign-in")
    big = httpx.post(origin + "/sign-in", data={"key": "k" * 300, "csrf": "c"})
    assert big.status_code == 422


def test_a_pools_timeline_is_drawn_from_the_ledger(browser: Any, site: dict[str, str]) -> None:
    outside: list[str] = []
    page = signed_in(browser, site, "operator", outside)
    page.click(f"text={POOL}")
    page.wait_for_url(re.compile(r"/capacity\?pool="))
    assert (page.locator("svg.chart title").first.text_content() or "").startswith(f"{POOL}: GPUs held")
    assert page.locator("svg.chart path title", has_text="held").count() == 1  # two reservations, 2,048 GPUs
    rows = page.inner_text("table")
    assert re.search(r"150,016\s+0\s+2,048\s+147,968", rows)  # installed, maintenance, held, free
    page.screenshot(path=str(SCREENSHOTS / "dashboard-capacity.png"), full_page=True)
    page.goto(site["origin"] + "/capacity?pool=colossus-1/nowhere")
    assert "unknown pool" in page.inner_text("[role=alert]")
    assert outside == []


def test_a_tenant_submits_and_cancels_work_from_the_browser(
    browser: Any, site: dict[str, str], ctx: bootstrap.Context
) -> None:
    outside: list[str] = []
    page = signed_in(browser, site, "lab", outside)
    page.click("text=Workloads")
    page.wait_for_url(site["origin"] + "/workloads")
    page.select_option("#contract", site["lab on-demand"])
    for given, said in (("NaN", "GPUs per task must be a whole number"), ("100000", "gpus_per_task must be within")):
        page.fill("#gpus_per_task", given)
        page.click("form.submit button")
        assert said in page.inner_text("[role=alert]")
    page.fill("#gpus_per_task", "8")
    page.fill("#tasks", "2")
    page.fill("#stages", "0.2,NaN")
    page.click("form.submit button")
    assert "bad stage seconds nan" in page.inner_text("[role=alert]")
    assert page.input_value("#stages") == "0.2,NaN"  # the form keeps what was given
    page.fill("#stages", "0.2,0.6,1.4")
    page.click("form.submit button")
    page.wait_for_url(site["origin"] + "/workloads")
    row = page.locator("tbody tr").first
    assert re.search(r"w-[0-9a-f]{12}\s+colossus-1/h100-sxm\s+\S+\s+16\s+pending", row.inner_text())
    workload = row.inner_text().split()[0]
    page.screenshot(path=str(SCREENSHOTS / "dashboard-workloads.png"), full_page=True)
    operator = signed_in(browser, site, "operator", outside)
    operator.goto(site["origin"] + "/workloads")
    assert workload in operator.inner_text("main")  # in the operator's queue
    rival = signed_in(browser, site, "rival", outside)
    rival.goto(site["origin"] + "/workloads")
    assert workload not in rival.content()
    page.click(f"button[aria-label='Cancel {workload}']")
    page.wait_for_url(site["origin"] + "/workloads")
    assert "cancelled" in page.locator("tbody tr", has_text=workload).inner_text()
    assert page.locator(f"button[aria-label='Cancel {workload}']").count() == 0
    with ctx.uow() as uow:
        stages = live.submit_workload(uow, site["lab on-demand"], 8, 1, 3600, ctx.now(), ctx.new_id).job.stages
        assert stages == ()  # without stage times
        ran = uow.workloads.get(workload)
        assert ran is not None
        assert ran.job.stages == (0.2, 0.6, 1.4)
        assert ran.job.iteration == 0.2 + 0.6 + 1.4
        pair = [
            live.submit_workload(uow, site["lab on-demand"], 8, 1, 3600, ctx.now(), ctx.new_id, stages=times)
            for times in ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0))
        ]
        ids = tuple(w.job.id for w in pair)
        for w in pair:  # as the live engine leaves a pair it interleaves (tests/store/test_live_interleave.py)
            running = {"status": WorkloadStatus.RUNNING, "started": ctx.now(), "allocation": (("n1", 8),)}
            uow.workloads.save(replace(w, **running, group=ids, pace=1.33 / 1.015))  # type: ignore[arg-type]
    page.reload()
    rows = {text.split()[0]: text for text in page.locator("tbody tr").all_inner_texts()}
    assert f"{ids[1]} (pace 1.31)" in rows[ids[0]]  # each shows whom it shares its GPUs with
    assert f"{ids[0]} (pace 1.31)" in rows[ids[1]]
    assert outside == []


def test_pages_count_against_their_keys_limits_and_strangers_against_their_address(
    ctx: bootstrap.Context, tmp_path: Path
) -> None:
    with ctx.uow() as uow:
        services.add_tenant(uow, "lab", TenantKind.EXTERNAL, lambda p: "t-lab")
        key = auth.create_key(uow, 0, ctx.new_id, "lab")[1]
    env = {**os.environ, "NEOCLOUD_DB_URL": ctx.url, "NEOCLOUD_TICK": "0", "NEOCLOUD_RATE_LIMIT": "0.05"}
    process, base = serve({**env, "NEOCLOUD_RATE_BURST": "5"}, "--workers", "1", log=tmp_path / "server.log")
    origin = base.removesuffix("/v1")
    try:
        with httpx.Client(base_url=origin) as browser:
            form = browser.get("/sign-in")
            token = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert token is not None
            assert browser.post("/sign-in", data={"key": key, "csrf": token.group(1)}).status_code == 303
            # The key's API calls and its pages share one budget: a burst of 5, then one each 20 s.
            for _ in range(5):
                httpx.get(base + "/contracts", headers={"Authorization": f"Bearer {key}"})
            refused = browser.get("/contracts")
            assert refused.status_code == 429
            assert "too many requests for key key-" in refused.json()["error"]["message"]
        strangers = [httpx.get(origin + "/sign-in") for _ in range(8)]
        assert strangers[-1].status_code == 429
        assert "too many requests for address 127.0.0.1" in strangers[-1].json()["error"]["message"]
    finally:
        process.terminate()
        process.wait(10)


def test_the_operator_drills_and_applies_a_curtailment_from_the_browser(browser: Any, site: dict[str, str]) -> None:
    outside: list[str] = []
    page = signed_in(browser, site, "operator", outside)
    page.click("text=Power")
    page.wait_for_url(site["origin"] + "/power")
    # Each site's power: colossus-1's 300 MW feed at PUE 1.2, sold up to 1.3 x, with no ramp limits.
    assert re.search(r"colossus-1\s+300\s+1.2\s+1.3 x\s+any\s+any", page.inner_text("section[aria-labelledby=limits]"))
    fixture = datetime.fromtimestamp(int(site["curtailment"]), UTC)
    assert re.search(rf"colossus-1\s+25 %\s+{fixture:%Y-%m-%d} 14:00 UTC", page.inner_text("main"))
    day = fixture.replace(day=3)  # the 3rd of next month, 14:00 to 17:00
    page.select_option("#site", "colossus-1")
    page.fill("#depth", "lots")
    page.fill("#start", f"{day:%Y-%m-%d}T14:00")
    page.fill("#end", f"{day:%Y-%m-%d}T17:00")
    page.click("form[method=get] button")
    assert "depth is a share" in page.inner_text("[role=alert]")
    page.fill("#depth", "50 %")
    page.click("form[method=get] button")
    # Half of 300 MW: the reservations of 1,024 H100 (1.683 kW each at PUE 1.2) are far within it.
    drilled = page.inner_text("main")
    assert "a cut of 50 % leaves 150,000.0 kW" in drilled
    assert "capped to" not in drilled
    assert "stopped" not in drilled
    page.fill("#description", "grid operator notice")
    page.click("text=Apply this curtailment")
    page.wait_for_url(site["origin"] + "/power")
    listed = page.inner_text("main")
    assert re.search(
        rf"colossus-1\s+50 %\s+{day:%Y-%m-%d} 14:00 UTC\s+{day:%Y-%m-%d} 17:00 UTC\s+grid operator", listed
    )
    page.screenshot(path=str(SCREENSHOTS / "dashboard-power.png"), full_page=True)
    # Applying the same window again overlaps: refused, said on the page, nothing written.
    page.goto(site["origin"] + f"/power?site=colossus-1&depth=0.5&start={day:%Y-%m-%d}T14:00&end={day:%Y-%m-%d}T17:00")
    page.click("text=Apply this curtailment")
    assert "already curtailed" in page.inner_text("[role=alert]")
    # The grid operator calls it off before it begins: withdrawn, and gone from the list.
    page.goto(site["origin"] + "/power")
    row = page.locator("tbody tr", has_text="grid operator notice")
    cut_id = row.inner_text().split()[0]
    page.click(f"button[aria-label='Withdraw {cut_id}']")
    page.wait_for_url(site["origin"] + "/power")
    assert cut_id not in page.inner_text("main")
    assert page.locator("tbody tr", has_text="25 %").count() == 1  # the fixture's own cut stays
    tenant = signed_in(browser, site, "lab", outside)
    assert "Power" not in tenant.inner_text("nav")
    tenant.goto(site["origin"] + "/power")
    assert "Power is for operator keys" in tenant.inner_text("main")
    assert outside == []
