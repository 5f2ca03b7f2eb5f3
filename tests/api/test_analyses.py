"""Analyses through the API on both stores: queued by operators only, checked before they are queued (a bad
one is refused with its reason and nothing is written), run by the worker (here in the test's process, as
`neocloud analysis work` runs it) with its progress kept, and a failure kept as the run's own."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from neocloud import bootstrap
from neocloud.adapters.analysis_runs import work
from neocloud.api import schemas
from neocloud.api.app import create_app
from neocloud.app import analyses, auth
from neocloud.app.records import AnalysisStatus
from neocloud.cli.main import app
from neocloud.client import ApiError, Client
from neocloud.client.local import InProcess

from ..builders import snapshot
from ..e2e.test_scenario import TINY

TRACES = Path(__file__).parent.parent.parent.parent / "shared" / "traces"


@pytest.fixture
def lab(store: bootstrap.Context) -> Any:
    """The API without its worker (the test runs it), and a caller per role."""
    return caller(store, TRACES)


def caller(store: bootstrap.Context, traces: Path) -> Any:
    ctx = replace(store, settings=bootstrap.Settings(tick=0, analysis_worker=False, traces=str(traces)))
    with ctx.uow() as uow:
        keys = {
            "operator": auth.create_key(uow, 0, ctx.new_id)[1],
            "lab": auth.create_key(uow, 0, ctx.new_id, "lab")[1],
        }
    client = TestClient(create_app(ctx))

    def call(method: str, path: str, who: str, status: int, **kw: Any) -> Any:
        answer = client.request(method, f"/v1{path}", headers={"Authorization": f"Bearer {keys[who]}"}, **kw)
        assert answer.status_code == status, answer.text
        return answer.json() if answer.headers["content-type"].startswith("application/json") else answer.text

    call.ctx = ctx  # type: ignore[attr-defined]
    return call


def test_a_comparison_is_queued_run_and_kept_with_its_findings(lab: Any) -> None:
    body = {"trace": "synthetic:300,seed=2", "policies": ["fifo", "sjf"], "fleet": "uniform:4x8"}
    queued = lab("POST", "/analyses/comparison", "operator", 202, json=body)
    assert (queued["status"], queued["steps"], queued["result"]) == ("queued", 2, None)
    ctx = lab.ctx
    assert work(ctx.uow, ctx.now, Path(ctx.settings.traces), ctx.catalog) == 1
    done = lab("GET", f"/analyses/{queued['id']}", "operator", 200)
    assert (done["status"], done["done"], done["error"]) == ("done", 2, None)
    results = done["result"]["results"]
    assert done["result"]["jobs"] == 300
    assert [r["ordering"] for r in results] == ["fifo", "sjf"]
    assert all(r["finished"] == r["jobs"] > 280 for r in results)  # jobs wider than 32 GPUs never fit
    assert results[1]["avg_jct"] < results[0]["avg_jct"]  # shortest first waits less on average
    listed = lab("GET", "/analyses", "operator", 200)
    assert (listed["total"], listed["items"][0]["id"], listed["items"][0]["result"]) == (1, queued["id"], None)
    assert lab("GET", f"/analyses/{queued['id']}/report", "operator", 404)["error"]["code"] == "not_found"


def test_a_comparison_of_the_pai_simulators_rules_on_a_pooled_cluster(store: bootstrap.Context, tmp_path: Path) -> None:
    # The PAI 2020 simulator's input format; arrivals at their submit times. On 10 pooled GPUs job 1 (8 GPUs)
    # runs 0-1000; FIFO blocks job 10 (a quarter GPU, at 30) behind job 2 (4 GPUs): greedy FIFO does not.
    (tmp_path / "pai.csv").write_text(
        "job_id,user,submit_time,duration,num_gpu,num_inst,user_dur\n"
        "1,ann,0,1000,8,1,900\n2,ann,10,50,2,2,500\n3,bob,20,100,4,1,50\n10,cat,30,30,0.25,1,30\n"
    )
    lab = caller(store, tmp_path)
    body = {
        "trace": "pai:pai.csv,per_minute=0,estimate=user_dur",
        "fleet": "pooled:10",
        "policies": ["fifo", "fifo-greedy"],
        "placements": ["pooled"],
    }
    queued = lab("POST", "/analyses/comparison", "operator", 202, json=body)
    assert work(lab.ctx.uow, lab.ctx.now, tmp_path, lab.ctx.catalog) == 1
    fifo, greedy = lab("GET", f"/analyses/{queued['id']}", "operator", 200)["result"]["results"]
    assert (fifo["placement"], fifo["per_tenant"]["cat"]["avg_jct"], greedy["per_tenant"]["cat"]["avg_jct"]) == (
        "pooled",
        1000,
        30,
    )
    for bad, says in (
        ({**body, "trace": "pai:pai.csv,speed=2"}, "unknown options"),
        ({**body, "trace": "pai:pai.csv,estimate=duration"}, "estimate is one of"),
        ({**body, "trace": "pai:../pai.csv,per_minute=0"}, "outside the traces folder"),
        ({**body, "trace": "muri:pai.csv,overhead=yes"}, "overhead is muri or none"),
        ({**body, "trace": "philly:pai.csv,overhead=muri"}, "is not a file"),
        ({**body, "fleet": "pooled:300000"}, "1 to 200,000 GPUs"),
        ({**body, "placements": ["bestfit"]}, "unknown placement bestfit"),
        ({**body, "fleet": "uniform:2x8"}, "unknown placement pooled"),
    ):
        assert says in lab("POST", "/analyses/comparison", "operator", 422, json=bad)["error"]["message"]


def test_a_comparison_replays_an_operators_own_slurm_history(store: bootstrap.Context, tmp_path: Path) -> None:
    # sacct -P text: two 8-GPU jobs an hour long submitted together, and one that never started. On one node
    # of 8 GPUs they run one after the other: JCT 3,600 and 7,200.
    (tmp_path / "sacct.txt").write_text(
        "JobID|Submit|Start|End|AllocTRES|Account|User|Partition|Timelimit\n"
        "1|2026-12-01T10:00:00|2026-12-01T10:00:00|2026-12-01T11:00:00|gres/gpu=8,node=1|lab|ann|gpu|02:00:00\n"
        "2|2026-12-01T10:00:00|2026-12-01T11:00:00|2026-12-01T12:00:00|gres/gpu=8,node=1|ml|bob|gpu|02:00:00\n"
        "3|2026-12-01T10:00:00|Unknown|Unknown||ml|bob|gpu|02:00:00\n"
    )
    lab = caller(store, tmp_path)
    body = {"trace": "sacct:sacct.txt,tenant=user", "fleet": "uniform:1x8", "policies": ["fifo"]}
    queued = lab("POST", "/analyses/comparison", "operator", 202, json=body)
    assert work(lab.ctx.uow, lab.ctx.now, tmp_path, lab.ctx.catalog) == 1
    (fifo,) = lab("GET", f"/analyses/{queued['id']}", "operator", 200)["result"]["results"]
    assert (fifo["finished"], fifo["avg_jct"], sorted(fifo["per_tenant"])) == (2, 5400, ["ann", "bob"])
    for bad, says in (
        ({**body, "trace": "sacct:sacct.txt,tenant=team"}, "tenant is one of"),
        ({**body, "trace": "csv:sacct.txt,gpu=N"}, "unknown options"),
    ):
        assert says in lab("POST", "/analyses/comparison", "operator", 422, json=bad)["error"]["message"]


POWERED = {"trace": "synthetic:300,seed=2,gpus=64,load=0.9", "fleet": "colossus-1", "policies": ["fifo"]}
CUT = {"depth": "0.9999", "start": 3_600, "seconds": 7_200}


def test_a_comparison_keeps_the_fleets_power_through_a_curtailment(lab: Any) -> None:
    # colossus-1's 300 MW feed cut by 99.99 % for two hours an hour in: 30 kW, which feeds few GPUs of its
    # hungriest model at the year's highest PUE. The run keeps it (checked from its timeline), as the CLI's
    # replay of the same trace does.
    body = {**POWERED, "power": {"curtailments": [CUT], "fall_mw_per_s": "0.001", "capping": False}}
    queued = lab("POST", "/analyses/comparison", "operator", 202, json=body)
    assert queued["request"]["power"]["curtailments"] == [["0.9999", 3_600, 7_200]]
    ctx = lab.ctx
    assert work(ctx.uow, ctx.now, Path(ctx.settings.traces), ctx.catalog) == 1
    done = lab("GET", f"/analyses/{queued['id']}", "operator", 200)
    assert (done["status"], done["error"]) == ("done", None)
    budget = done["result"]["results"][0]["budget"]
    kw_per_gpu = Decimal(budget["kw_per_gpu"])
    cut = budget["changes"][1]
    assert (cut["budget_kw"], budget["budget_kw"], budget["fall_mw_per_s"]) == ("30", "300000", "0.001")
    assert cut["gpus"] == int(Decimal(30) / kw_per_gpu)
    assert (cut["preempted"] > 0, cut["capped"]) == (True, 0)  # stopping only: capping is off
    assert budget["exceeded_at"] == []
    cli = CliRunner().invoke(
        app,
        ["simulate", "--trace", POWERED["trace"], "--fleet", "colossus-1", "--policy", "fifo",
         "--curtail", "0.9999@3600+7200", "--fall", "0.001", "--no-capping", "--json"],
    )  # fmt: skip
    replayed = json.loads(cli.stdout)
    assert replayed["budget"] == budget
    assert replayed["results"][0]["avg_jct"] == done["result"]["results"][0]["avg_jct"]


# colossus-1's models capped to 90 % of their TDP alike (630 of 700 W, 1,080 of 1,200 W): a job that may run on
# any of them runs at one speed, 0.875 + (0.9 - 6/7) / (1 - 6/7) x 0.125 = 91.25 % for training work.
ALIKE = {"h100-sxm": 630, "h200-sxm": 630, "gb200-nvl72": 1080}


def test_a_comparison_runs_its_fleets_gpus_capped_as_the_cli_does(lab: Any) -> None:
    body = {**POWERED, "caps": ALIKE, "power": {"curtailments": [CUT]}}
    queued = lab("POST", "/analyses/comparison", "operator", 202, json=body)
    assert queued["request"]["caps"] == {"caps_w": ALIKE, "kind": "training"}
    plain = lab("POST", "/analyses/comparison", "operator", 202, json=POWERED)
    uncapped = lab("POST", "/analyses/comparison", "operator", 202, json={**body, "caps": {}})
    ctx = lab.ctx
    assert work(ctx.uow, ctx.now, Path(ctx.settings.traces), ctx.catalog) == 3
    done = lab("GET", f"/analyses/{queued['id']}", "operator", 200)
    assert (done["status"], done["error"]) == ("done", None)
    assert done["result"]["caps"]["speed"] == dict.fromkeys(ALIKE, "0.9125")
    (capped,) = done["result"]["results"]
    (full,) = lab("GET", f"/analyses/{plain['id']}", "operator", 200)["result"]["results"]
    # Every job's work takes 1 / 0.9125 as long, in whole seconds up.
    assert full["gpu_hours"] / 0.9125 <= capped["gpu_hours"] <= full["gpu_hours"] / 0.9125 + 300 * 64 / 3600
    # The budget counts a GPU at its cap (the hungriest model's, gb200 at 1,080 of 1,200 W), so more fit a cut.
    (full_power,) = lab("GET", f"/analyses/{uncapped['id']}", "operator", 200)["result"]["results"]
    assert Decimal(capped["budget"]["kw_per_gpu"]) < Decimal(full_power["budget"]["kw_per_gpu"])
    assert capped["budget"]["changes"][1]["gpus"] > full_power["budget"]["changes"][1]["gpus"]
    caps = [arg for model, watts in ALIKE.items() for arg in ("--cap", f"{model}={watts}")]
    cli = CliRunner().invoke(
        app,
        ["simulate", "--trace", POWERED["trace"], "--fleet", "colossus-1", "--policy", "fifo", *caps,
         "--curtail", "0.9999@3600+7200", "--json"],
    )  # fmt: skip
    replayed = json.loads(cli.stdout)
    assert replayed["power"] == done["result"]["caps"]
    assert replayed["budget"] == capped["budget"]
    assert replayed["results"][0]["avg_jct"] == capped["avg_jct"]


def test_the_client_asks_for_a_replays_power_as_a_model_or_a_mapping(lab: Any) -> None:
    ctx = lab.ctx
    with ctx.uow() as uow:
        key = auth.create_key(uow, 0, ctx.new_id)[1]
    asked = schemas.ReplayPowerIn(curtailments=[schemas.ReplayCutIn(**CUT)], ramp_mw_per_s="0.5")
    with Client("http://sdk", key, transport=InProcess(create_app(ctx))) as client:
        typed = client.analyses.compare(POWERED["trace"], "colossus-1", ["fifo"], power=asked)
        mapped = client.analyses.compare(POWERED["trace"], "colossus-1", ["fifo"], power={"fall_mw_per_s": "2"})
        with pytest.raises(ApiError) as refused:
            client.analyses.compare(POWERED["trace"], "uniform:4x8", ["fifo"], power={})
    assert typed.request["power"] == {
        "curtailments": [["0.9999", 3_600, 7_200]], "ramp_mw_per_s": "0.5", "fall_mw_per_s": None, "capping": True
    }  # fmt: skip
    assert (mapped.request["power"]["fall_mw_per_s"], mapped.request["power"]["curtailments"]) == ("2", [])
    assert (refused.value.status, refused.value.code) == (422, "invalid_input")


def test_a_scenario_runs_to_its_report(lab: Any) -> None:
    queued = lab("POST", "/analyses/scenario", "operator", 202, json={"scenario": TINY, "title": "tiny"})
    ctx = lab.ctx
    work(ctx.uow, ctx.now, Path(ctx.settings.traces), ctx.catalog)
    done = lab("GET", f"/analyses/{queued['id']}", "operator", 200)
    assert (done["status"], done["title"], done["has_report"]) == ("done", "tiny", True)
    assert done["done"] <= done["steps"]
    assert done["result"]["decision"]["text"].startswith(f"Best: {done['result']['decision']['best']}.")
    assert "<h1>Rent it out or keep it" in lab("GET", f"/analyses/{queued['id']}/report", "operator", 200)


def test_a_scenario_with_possible_futures_reports_their_odds(lab: Any) -> None:
    text = TINY + "uncertainty: {paths: 20}\n"
    queued = lab("POST", "/analyses/scenario", "operator", 202, json={"scenario": text})
    ctx = lab.ctx
    work(ctx.uow, ctx.now, Path(ctx.settings.traces), ctx.catalog)
    done = lab("GET", f"/analyses/{queued['id']}", "operator", 200)
    assert done["status"] == "done"
    assert done["done"] <= done["steps"]
    odds = done["result"]["uncertainty"]
    assert odds["paths"] == 20
    assert sum(s["probability_best"] for s in odds["strategies"]) == pytest.approx(1.0)
    assert "Possible futures" in lab("GET", f"/analyses/{queued['id']}/report", "operator", 200)


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("comparison", {"trace": "philly:/etc/passwd"}, 422, "outside the traces folder"),
        ("comparison", {"trace": "muri:../../../../etc/passwd"}, 422, "outside the traces folder"),
        ("comparison", {"trace": "philly:no/such.csv"}, 422, "is not a file in the traces folder"),
        ("comparison", {"trace": "synthetic:0"}, 422, "1 to 200,000 jobs"),
        ("comparison", {"trace": "synthetic:300", "fleet": "uniform:100000x8"}, 422, "1 to 200,000 GPUs"),
        ("comparison", {"trace": "synthetic:300", "fleet": "/etc/fleet.yaml"}, 422, "packaged fleet"),
        ("comparison", {"trace": "synthetic:300", "policies": ["nope"]}, 422, "unknown ordering nope"),
        ("comparison", {"trace": "synthetic:300", "policies": ["fifo"] * 13}, 422, "at most 12"),
        ("comparison", {"trace": "synthetic:300", "seed": 1.5}, 422, "seed"),
        ("comparison", {"trace": "synthetic:300", "policies": "fifo"}, 422, "policies"),
        ("comparison", {"trace": "x" * 301}, 422, "trace"),
        ("comparison", {"trace": "synthetic:300", "tiresias_queues": [7200, 3250]}, 422, "rising"),
        ("comparison", {"trace": "synthetic:300", "tiresias_queues": []}, 422, "tiresias_queues"),
        ("comparison", {"trace": "synthetic:300", "tiresias_queues": [0]}, 422, "tiresias_queues"),
        ("comparison", {"trace": "synthetic:300", "tiresias_queues": [1] * 9}, 422, "tiresias_queues"),
        ("comparison", {"trace": "synthetic:300", "tiresias_starvation": -1}, 422, "tiresias_starvation"),
        ("comparison", {"trace": "synthetic:300", "tiresias_starvation": 1e300}, 422, "tiresias_starvation"),
        ("comparison", {"trace": "sacct:s.txt,tenant=boss"}, 422, "tenant is one of"),
        ("comparison", {"trace": "synthetic:30", "power": {}}, 422, "needs a fleet with a site's power budget"),
        ("comparison", {**POWERED, "power": {"curtailments": [{**CUT, "depth": "0"}]}}, 422, "depth is a share"),
        ("comparison", {**POWERED, "power": {"curtailments": [{**CUT, "depth": "NaN"}]}}, 422, "depth"),
        ("comparison", {**POWERED, "power": {"curtailments": [{**CUT, "depth": "1.5"}]}}, 422, "depth"),
        ("comparison", {**POWERED, "power": {"curtailments": [{**CUT, "depth": "0.5\u0000"}]}}, 422, "depth"),
        ("comparison", {**POWERED, "power": {"curtailments": [{**CUT, "depth": True}]}}, 422, "depth"),
        ("comparison", {**POWERED, "power": {"curtailments": [{**CUT, "start": -1}]}}, 422, "start"),
        ("comparison", {**POWERED, "power": {"curtailments": [{**CUT, "start": 1e30}]}}, 422, "start"),
        ("comparison", {**POWERED, "power": {"curtailments": [{**CUT, "seconds": 0}]}}, 422, "seconds"),
        ("comparison", {**POWERED, "power": {"curtailments": [{**CUT, "seconds": "60"}]}}, 422, "seconds"),
        ("comparison", {**POWERED, "power": {"curtailments": [CUT] * 21}}, 422, "curtailments"),
        ("comparison", {**POWERED, "power": {"curtailments": [{**CUT, "why": "x"}]}}, 422, "why"),
        ("comparison", {**POWERED, "power": {"ramp_mw_per_s": "0"}}, 422, "ramp_mw_per_s is above 0"),
        ("comparison", {**POWERED, "power": {"ramp_mw_per_s": "Infinity"}}, 422, "ramp_mw_per_s"),
        ("comparison", {**POWERED, "power": {"fall_mw_per_s": "1e400"}}, 422, "fall_mw_per_s"),
        ("comparison", {**POWERED, "power": {"fall_mw_per_s": "-2"}}, 422, "fall_mw_per_s"),
        ("comparison", {**POWERED, "power": {"capping": "yes"}}, 422, "capping"),
        ("comparison", {**POWERED, "power": []}, 422, "power"),
        ("comparison", {**POWERED, "policies": ["muri-s"], "power": {}}, 422, "they share GPUs"),
        ("comparison", {**POWERED, "caps": {"h100-sxm": 50}}, 422, "200-700 W"),
        ("comparison", {**POWERED, "caps": {"a100-80gb-sxm": 300}}, 422, "not a GPU model of the fleet"),
        ("comparison", {"trace": "synthetic:30", "caps": {"h100-sxm": 600}}, 422, "caps need a fleet with GPU"),
        ("comparison", {**POWERED, "caps": {"h100-sxm": "600"}}, 422, "caps"),
        ("comparison", {**POWERED, "caps": {"h100-sxm": 6e300}}, 422, "caps"),
        ("comparison", {**POWERED, "caps": {"h100-sxm": True}}, 422, "caps"),
        ("comparison", {**POWERED, "caps": {f"m{i}": 500 for i in range(17)}}, 422, "caps"),
        ("comparison", {**POWERED, "caps": {"../x": 500}}, 422, "caps"),
        ("comparison", {**POWERED, "caps": {"h100-sxm": 600}, "work_kind": "gaming"}, 422, "work_kind"),
        ("scenario", {"scenario": "demand: [unclosed"}, 422, "malformed YAML"),
        ("scenario", {"scenario": "horizon: {start: 2027-13}"}, 422, "horizon"),
        ("scenario", {"scenario": "demand: {trace: 'philly:/etc/passwd', load: 1}"}, 422, "outside the traces"),
        ("scenario", {"scenario": "a: 1\n" * 20_000}, 422, "scenario"),
        ("scenario", {"scenario": 7}, 422, "scenario"),
        ("scenario", {"scenario": "uncertainty: {paths: 1000000}"}, 422, "uncertainty.paths"),
        ("scenario", {"scenario": "uncertainty: {demand: {sd: .nan}}"}, 422, "uncertainty.demand.sd"),
        ("scenario", {"title": "\u0000"}, 422, "title"),
    ],
)
def test_bad_requests_are_refused_with_their_reason_and_write_nothing(
    lab: Any, path: str, body: dict[str, Any], status: int, says: str
) -> None:
    before = snapshot(lab.ctx)
    answer = lab("POST", f"/analyses/{path}", "operator", status, json=body)
    assert says in answer["error"]["message"]
    assert snapshot(lab.ctx) == before


def test_tenants_may_not_run_or_read_analyses(lab: Any) -> None:
    lab("POST", "/analyses/comparison", "operator", 202, json={"trace": "synthetic:10"})
    for method, path in (("GET", "/analyses"), ("POST", "/analyses/scenario"), ("GET", "/analyses/an-x")):
        assert lab(method, path, "lab", 403, json={})["error"]["code"] == "forbidden"


def test_a_run_that_fails_keeps_its_reason_and_a_silent_worker_is_replaced(lab: Any) -> None:
    ctx = lab.ctx
    queued = lab("POST", "/analyses/comparison", "operator", 202, json={"trace": "synthetic:50"})
    with ctx.uow() as uow:  # the request as stored goes bad (a fleet gone since it was checked)
        found = analyses.get(uow, queued["id"])
        uow.analyses.save(replace(found, request={**found.request, "fleet": "uniform:0x8"}))
    work(ctx.uow, ctx.now, Path(ctx.settings.traces), ctx.catalog)
    failed = lab("GET", f"/analyses/{queued['id']}", "operator", 200)
    assert failed["status"] == "failed"
    assert "nodes and GPUs must be positive" in failed["error"]
    again = lab("POST", "/analyses/comparison", "operator", 202, json={"trace": "synthetic:50"})
    now = ctx.now()
    with ctx.uow() as uow:  # a worker took it and went silent
        taken = analyses.claim(uow, now - analyses.STALE_S - 5)
        assert taken is not None
        assert taken.id == again["id"]
    with ctx.uow() as uow:
        assert analyses.claim(uow, now - analyses.STALE_S + 5) is None  # not silent for long enough yet
    assert work(ctx.uow, ctx.now, Path(ctx.settings.traces), ctx.catalog) == 1
    assert lab("GET", f"/analyses/{again['id']}", "operator", 200)["status"] == AnalysisStatus.DONE
