"""The analyst's pages in a real browser against `neocloud serve` (SQLite and PostgreSQL): a comparison of
scheduling policies and an uploaded scenario, each queued from a form, run by the worker process the server
starts, watched while it runs, and shown with its charts (and the scenario's full report); bad requests are
refused in the page; tenants see no analyses."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx

from ..browser import SCREENSHOTS
from .conftest import signed_in
from .test_scenario import TINY

DONE_WITHIN_S = 120  # a few seconds alone; CI runs other tests beside it


def _finished(page: Any, url: str) -> str:
    """The analysis page once its run has ended (the page refreshes itself; this reloads it too)."""
    deadline = time.monotonic() + DONE_WITHIN_S
    seen = []
    while time.monotonic() < deadline:
        page.goto(url)
        text = page.inner_text("main")
        seen.append(text.split("\n")[1] if "\n" in text else text)
        if "refreshes itself" not in text:
            return text
        time.sleep(1)
    raise AssertionError(f"not done in {DONE_WITHIN_S} s; the page said, in turn: {seen[:3]} ... {seen[-3:]}")


def test_an_analyst_compares_policies_and_sees_them_side_by_side(browser: Any, site: dict[str, str]) -> None:
    outside: list[str] = []
    page = signed_in(browser, site, "operator", outside)
    page.click("nav >> text=Analyses")
    page.wait_for_url(site["origin"] + "/analyses")
    assert "No analysis yet." in page.inner_text("main")
    for trace, said in (
        ("philly:/etc/passwd", "is outside the traces folder"),
        ("synthetic:999999999", "a synthetic trace has 1 to 200,000 jobs"),
        ("nonsense", "use FORMAT:PATH"),
    ):
        page.fill("#trace", trace)
        page.click("text=Compare")
        assert said in page.inner_text("[role=alert]")
        assert page.input_value("#trace") == trace  # the form keeps what was typed
    page.fill("#trace", "synthetic:600,seed=3,gpus=64,load=0.9")
    page.uncheck("input[value=srtf]")
    page.check("input[value=tiresias]")
    for queues, starvation, said in (("7200,3250", "0", "rising"), ("3250", "nan", "Tiresias starvation factor")):
        page.fill("#tiresias-queues", queues)
        page.fill("#tiresias-starvation", starvation)
        page.click("text=Compare")
        assert said in page.inner_text("[role=alert]")
    page.fill("#tiresias-queues", "3250,7200")
    page.fill("#tiresias-starvation", "0")
    page.click("text=Compare")
    page.wait_for_url(re.compile(r"/analyses/an-[0-9a-f]{12}$"))
    url = page.url
    text = _finished(page, url)
    assert "600 jobs of synthetic:600,seed=3,gpus=64,load=0.9 on uniform:8x8" in text
    rows = page.locator("tbody tr").all_inner_texts()
    assert [r.split("\t")[:3] for r in rows] == [[p, "bestfit", "600"] for p in ("fifo", "sjf", "tiresias")]
    assert page.locator("svg.chart").count() == 4  # average and p99 JCT, wait, utilization
    assert page.locator("svg.chart rect title", has_text="sjf/bestfit").count() == 4
    assert "The site's power, kept" not in text
    page.screenshot(path=str(SCREENSHOTS / "dashboard-comparison.png"), full_page=True)
    page.click("text=all analyses")
    assert re.search(r"an-[0-9a-f]{12}\s+comparison\s+fifo, sjf, tiresias on synthetic:600", page.inner_text("main"))
    # The same trace within colossus-1's power, cut to 30 kW for two hours an hour in, stopping work only.
    page.fill("#trace", "synthetic:300,seed=2,gpus=64,load=0.9")
    page.fill("#fleet", "colossus-1")
    for curtail, fall, said in (
        ("0.25@soon+60", "", "DEPTH@START+SECONDS"),
        ("2@0+60", "", "depth is a share"),
        ("0.9999@3600+7200", "0", "fall is above 0"),
        ("0.9999@3600+7200", "-1", "fall must be within 0 and"),
        ("0.9999@3600+7200", "NaN", "fall"),
    ):
        page.fill("#curtail", curtail)
        page.fill("#fall", fall)
        page.click("text=Compare")
        assert said in page.inner_text("[role=alert]")
        assert page.input_value("#curtail") == curtail
    page.fill("#fall", "")
    page.check("#stop-only")
    for caps, said in (("h100-sxm=50", "200-700 W"), ("h100-sxm", "a cap is MODEL=WATTS"), ("x=1", "not a GPU model")):
        page.fill("#caps", caps)
        page.click("text=Compare")
        assert said in page.inner_text("[role=alert]")
        assert page.input_value("#caps") == caps
    # Every model at 90 % of its TDP (tests/api/test_analyses.py works the speed out).
    page.fill("#caps", "h100-sxm=630, h200-sxm=630, gb200-nvl72=1080")
    page.click("text=Compare")
    page.wait_for_url(re.compile(r"/analyses/an-[0-9a-f]{12}$"))
    kept = _finished(page, page.url)
    assert "Under power caps (training work): h100-sxm at 630 W runs at 91.2 % speed" in kept
    assert "colossus-1: 300,000 kW" in kept
    assert "cut by 99.99 % from" in kept
    rows = page.locator("section[aria-labelledby=power-kept] tbody tr").all_inner_texts()
    assert [r.split("\t")[0] for r in rows] == ["fifo", "sjf", "srtf"]
    assert all(r.split("\t")[2] == "0" and int(r.split("\t")[3]) > 0 and "never" in r for r in rows), rows
    page.locator("section[aria-labelledby=power-kept]").screenshot(path=str(SCREENSHOTS / "dashboard-power-kept.png"))
    assert outside == []


def test_an_uploaded_scenario_runs_to_its_report(browser: Any, site: dict[str, str], tmp_path: Path) -> None:
    outside: list[str] = []
    page = signed_in(browser, site, "operator", outside)
    page.goto(site["origin"] + "/analyses")
    bad = tmp_path / "bad.yaml"
    bad.write_text("demand: {synthetic: {slice_gpus: 64, days: 7}}\n")
    page.set_input_files("#scenario-file", str(bad))
    page.click("text=Run the scenario")
    assert "give either a trace" in page.inner_text("[role=alert]")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00name")
    page.set_input_files("#scenario-file", str(binary))
    page.click("text=Run the scenario")
    assert "is not UTF-8 text" in page.inner_text("[role=alert]")
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(TINY)
    page.set_input_files("#scenario-file", str(tiny))
    page.fill("#scenario-title", "two months, synthetic demand")
    page.click("text=Run the scenario")
    page.wait_for_url(re.compile(r"/analyses/an-[0-9a-f]{12}$"))
    text = _finished(page, page.url)
    assert re.search(r"Best: \S+\. Over 2 months (renting|keeping) all beats", text)
    assert [r.split("\t")[0] for r in page.locator("tbody tr").all_inner_texts()] == [
        "keep-all",
        "rent-all",
        "rent-half",
        "rent-with-reclaim",
    ]
    page.screenshot(path=str(SCREENSHOTS / "dashboard-scenario.png"), full_page=True)
    page.click("text=The full report")
    assert page.inner_text("h1").startswith("Rent it out or keep it")
    assert outside == []


def test_tenants_see_no_analyses(browser: Any, site: dict[str, str]) -> None:
    outside: list[str] = []
    page = signed_in(browser, site, "lab", outside)
    assert page.locator("nav >> text=Analyses").count() == 0
    answer = page.goto(site["origin"] + "/analyses")
    assert answer is not None
    assert answer.status == 403
    assert "Analyses are for operator keys." in page.inner_text("[role=alert]")
    api = site["origin"] + "/v1/analyses"
    headers = {"Authorization": f"Bearer {site['lab']}"}
    assert httpx.get(api, headers=headers).status_code == 403
    assert httpx.post(api + "/scenario", headers=headers, json={}).status_code == 403
    assert outside == []
