"""The CLI end to end: tables for people, JSON for scripts, clear errors with stable codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from neocloud.bootstrap import wall_clock
from neocloud.cli.main import app
from neocloud.core.billing.periods import month_of
from neocloud.core.timeutil import iso

from ..builders import sign_args


@pytest.fixture
def cli(store_url: str) -> Any:
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Any:
        result = runner.invoke(app, ["--db", store_url, *args])
        if ok:
            assert result.exit_code == 0, result.output
        else:
            assert result.exit_code == 1, result.output
        return result

    return run


def as_json(result: Any) -> Any:
    return json.loads(result.stdout)


def test_tour_of_the_capacity_core(cli: Any) -> None:
    assert as_json(cli("init", "--json"))["added"] == ["colossus-1"]
    assert as_json(cli("init", "--json"))["kept"] == ["colossus-1"]  # idempotent
    [site] = as_json(cli("fleet", "show", "--json"))
    assert site["gpus"] == 220_208
    assert site["power_budget_mw"] == "300"
    assert site["facility_power_mw"] == "287.718"
    assert "287.718 MW of 300 MW" in cli("fleet", "show").stdout

    tenant = as_json(cli("tenant", "add", "lab", "--json"))
    assert tenant["kind"] == "external"
    contract = as_json(cli(*sign_args(100000, "2027-01-01", "3y", "--notice-days", "90", "--json")))
    assert contract["end"] - contract["start"] == (365 * 3 + 1) * 86_400  # 2028 is a leap year
    assert contract["price_per_gpu_hour"] == "2.400000"

    profile = as_json(
        cli("capacity", "profile", "colossus-1/h100-sxm", "--start", "2026-12-01", "--end", "2030-06-01", "--json")
    )
    assert [step["free"] for step in profile] == [150_016, 50_016, 150_016]
    free = as_json(cli("capacity", "free", "colossus-1/h100-sxm", "--start", "2027-06-01", "--end", "+30d", "--json"))
    assert free["free"] == 50_016
    earliest = as_json(
        cli(
            "capacity",
            "earliest",
            "colossus-1/h100-sxm",
            "--gpus",
            "60000",
            "--duration",
            "30d",
            "--not-before",
            "2027-01-01",
            "--json",
        )
    )
    assert earliest["start"] == contract["end"]

    refused = cli(*sign_args(60000, "2027-02-01", "30d", "--json"), ok=False)
    assert as_json(refused)["error"]["code"] == "overbooked"
    assert as_json(refused)["error"]["details"]["excess"] == 9_984
    assert len(as_json(cli("contract", "list", "--json"))["items"]) == 1

    cancelled = as_json(cli("contract", "cancel", contract["id"], "--json"))
    assert cancelled["status"] == "cancelled"


SIGN = "contract sign --tenant lab --pool colossus-1/h100-sxm --gpus 4 --start 2027-01-01 --term 1d --json"


def test_workloads_run_locally_one_engine_step_at_a_time(cli: Any) -> None:
    cli("init")
    cli("tenant", "add", "lab")
    args = ["--tenant", "lab", "--pool", "colossus-1/h100-sxm", "--gpus", "64", "--start", "now", "--term", "30d"]
    contract = as_json(cli("contract", "sign", *args, "--json"))
    work = as_json(
        cli("workload", "submit", "--contract", contract["id"], "--duration", "2h", "--tasks", "2", "--json")
    )
    assert (work["status"], work["gpus"]) == ("pending", 2)
    stepped = as_json(cli("workload", "step", "--json"))
    # 64 GPUs: 8 nodes of its own. colossus-1 is sold at 1.3 times its feed: not all of its idle nodes may be
    # powered at once, so some are down; the reservation's own are powered first.
    powered_down = stepped.pop("powered_down")
    assert stepped == {"finished": 0, "started": 1, "preempted": 0, "assigned": 8, "healed": 0}
    assert powered_down > 0
    spans = as_json(cli("contract", "nodes", contract["id"], "--json"))
    mine = as_json(cli("node", "list", "--tenant", "lab", "--json"))["items"]
    assert sorted(n["name"] for n in mine) == sorted(s["node"] for s in spans)
    assert len(spans) == 8
    assert {n["contract"] for n in mine} == {contract["id"]}
    shown = as_json(cli("workload", "show", work["id"], "--json"))
    assert shown["status"] == "running"
    assert len(shown["allocation"]) >= 1
    assert "running" in cli("workload", "list").stdout
    assert as_json(cli("workload", "cancel", work["id"], "--json"))["status"] == "cancelled"
    assert as_json(cli("workload", "show", "w-nope", "--json", ok=False))["error"]["code"] == "not_found"
    for bad, code in (
        (["--duration", "soon"], "invalid_input"),
        (["--duration", "0h"], "invalid_input"),
        (["--duration", "1h", "--tasks", "0"], "invalid_request"),  # the API's schema refuses it
    ):
        refused = cli("workload", "submit", "--contract", contract["id"], *bad, "--json", ok=False)
        assert as_json(refused)["error"]["code"] == code, bad


def test_interleaved_workloads_share_gpus_through_the_cli(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEOCLOUD_ENGINE_ORDERING", "muri-s")
    cli("init")
    cli("tenant", "add", "lab")
    args = ["--tenant", "lab", "--pool", "colossus-1/h100-sxm", "--gpus", "64", "--start", "now", "--term", "30d"]
    contract = as_json(cli("contract", "sign", *args, "--json"))
    submitted = []
    for i in range(9):  # 72 GPUs of work on the reservation's 64: storage-bound and GPU-bound in turn
        stages = "1,0,0" if i % 2 == 0 else "0,0,1"
        more = ["--gpus-per-task", "8", "--stages", stages, "--json"]
        submitted.append(as_json(cli("workload", "submit", "--contract", contract["id"], "--duration", "2h", *more)))
    assert (submitted[0]["stages"], submitted[0]["iteration"]) == ([1.0, 0.0, 0.0], 1.0)
    assert as_json(cli("workload", "step", "--json"))["started"] == 9  # all of it: one pair shares 8 GPUs
    shown = [as_json(cli("workload", "show", w["id"], "--json")) for w in submitted]
    pair = [w for w in shown if w["group"]]
    assert len(pair) == 2
    assert pair[0]["allocation"] == pair[1]["allocation"]
    assert pair[0]["group"] == pair[1]["group"]
    assert sorted(pair[0]["group"]) == sorted(w["id"] for w in pair)
    assert {w["pace"] for w in pair} == {1.33 / 1.015}  # one loads data while the other computes
    assert cli("workload", "list").stdout.count(" 2 (1.31) ") == 2  # two share, at pace 1.31


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ("tenant list --json", None),
        (SIGN.replace("--tenant lab", "--tenant ghost"), "unknown_tenant"),
        (SIGN.replace("--gpus 4", "--gpus -4"), "invalid_request"),
        (SIGN.replace("--start 2027-01-01 --term 1d", "--start 2027-01-02 --end 2027-01-01"), "invalid_interval"),
        (SIGN.replace("colossus-1/", "nowhere/"), "unknown_pool"),
        (SIGN.replace("2027-01-01", "soon"), "invalid_input"),
        ("maintenance add colossus-1/gb200-nvl72 --gpus 20017 --start 2027-01-01 --end +1d --json", "overbooked"),
        ("contract cancel c-missing --json", "unknown_contract"),
        ("fleet show atlantis --json", "not_found"),
    ],
)
def test_bad_input_gets_a_stable_code(cli: Any, command: str, code: str | None) -> None:
    args = command.split()
    cli("init")
    cli("tenant", "add", "lab")
    if code is None:
        assert [t["name"] for t in as_json(cli(*args))["items"]] == ["lab"]
        return
    assert as_json(cli(*args, ok=False))["error"]["code"] == code


def test_fleet_import_and_bad_files(cli: Any, traces: Path, tmp_path: Path) -> None:
    site = as_json(
        cli(
            "fleet",
            "import",
            "--format",
            "openb",
            "--json",
            str(traces / "alibaba-openb-gpu-v2023/csv/openb_node_list_gpu_node.csv"),
        )
    )
    assert (site["gpus"], site["nodes"], site["power_budget_mw"]) == (6212, 1213, None)
    again = cli(
        "fleet",
        "import",
        "--format",
        "openb",
        "--json",
        str(traces / "alibaba-openb-gpu-v2023/csv/openb_node_list_gpu_node.csv"),
        ok=False,
    )
    assert as_json(again)["error"]["code"] == "already_exists"
    bad = tmp_path / "fleet.yaml"
    bad.write_text(
        "sites:\n  - name: x\n    power_mw: 1\n    blocks:\n      - {name: b, nodes_per_rack: 200,"
        " node: {gpu_model: h100-sxm, gpus: 8}}\n"
    )
    refused = as_json(cli("init", "--fleet", str(bad), "--json", ok=False))["error"]
    assert refused["code"] == "power_budget_exceeded"
    assert refused["details"]["budget_mw"] == "1"


def test_human_errors_go_to_stderr_with_the_code(cli: Any) -> None:
    result = cli("contract", "cancel", "c-missing", ok=False)
    assert "error[unknown_contract]: unknown contract 'c-missing'" in result.stderr


def test_console_script_runs(tmp_path: Path) -> None:
    env = {**os.environ, "NEOCLOUD_DB_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    script = Path(sys.executable).with_name("neocloud")
    out = subprocess.run([str(script), "init", "--json"], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["added"] == ["colossus-1"]


STORE_AND_SERVER = ("sqlalchemy", "alembic", "psycopg", "uvicorn", "fastapi", "starlette")

IMPORTED_BY = """
import sys
from neocloud.cli.main import app
sys.argv = ["neocloud", *sys.argv[1:]]
try:
    app()
except SystemExit:
    pass
print("\\n" + " ".join(sorted({m.split(".")[0] for m in sys.modules})))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["contract", "--help"],
        ["--version"],
        ["--server", "http://127.0.0.1:9", "--api-key", "k", "contract", "list"],
    ],
)
def test_help_version_and_server_mode_import_no_store_or_server(args: list[str]) -> None:
    done = subprocess.run([sys.executable, "-c", IMPORTED_BY, *args], capture_output=True, text=True, check=True)
    imported = set(done.stdout.splitlines()[-1].split())
    assert "neocloud" in imported
    assert imported.isdisjoint(STORE_AND_SERVER), imported & set(STORE_AND_SERVER)


def test_the_root_loads_a_group_only_when_it_is_used() -> None:
    """`neocloud --help` lists every group with its help without importing the groups' modules; a group is
    loaded when named, and a mistyped name is answered with the nearest ones."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORTED_BY.replace('split(".")[0]', "strip()"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    listed, loaded = done.stdout, set(done.stdout.splitlines()[-1].split())
    from neocloud.cli.tree import GROUPS

    for name, (module, help) in GROUPS.items():
        assert f"  {name} " in listed
        assert help.split()[0] in listed
        assert module == "neocloud.cli.main" or module not in loaded, module
    assert "neocloud.cli.main" in loaded  # full module names
    assert "neocloud.cli.billing" not in loaded
    typo = CliRunner().invoke(app, ["contrct", "list"])
    assert typo.exit_code == 2
    assert "Did you mean 'contract'?" in typo.output
    usage = subprocess.run([str(Path(sys.executable).with_name("neocloud")), "usage"], capture_output=True, text=True)
    assert usage.returncode == 2
    assert usage.stdout.startswith("Usage: neocloud usage")  # the group's help, not an error line
    assert "import  Record many runs" in usage.stdout


def test_version_names_the_package() -> None:
    from neocloud import __version__

    assert CliRunner().invoke(app, ["--version"]).stdout == f"neocloud {__version__}\n"


def test_bench_fgd_on_a_small_inventory(tmp_path: Path) -> None:
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,32000,65536,2,T4\nn1,32000,65536,2,T4\n")
    pods = tmp_path / "pods.csv"
    pods.write_text(
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n" + "".join(f"p{i},4000,4096,1,500,\n" for i in range(6))
    )
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "fgd",
            "--nodes",
            str(nodes),
            "--pods",
            str(pods),
            "--policy",
            "fgd,bestfit",
            "--seeds",
            "1-2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    sweeps = json.loads(result.stdout)
    assert [s["policy"] for s in sweeps] == ["fgd", "bestfit"]
    # Six half-GPU pods, topped up to 1.3 x 4 GPUs: the first eight fit exactly, so 100 % arrived = 100 %.
    assert all(s["allocation_at_100"] == 100.0 for s in sweeps)
    assert [r["seed"] for r in sweeps[0]["runs"]] == [1, 2]
    bad = CliRunner().invoke(
        app, ["bench", "fgd", "--nodes", str(nodes), "--pods", str(pods), "--policy", "magic", "--json"]
    )
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)["error"]["code"] == "invalid_input"


def test_simulate_and_compare_on_the_tiresias_sample(traces: Path, tmp_path: Path) -> None:
    trace = f"tiresias:{traces / 'tiresias-nsdi19' / '60_job.csv'}"
    fleet = f"muri:{traces / 'tiresias-nsdi19' / 'n32g4.csv'}"
    one = CliRunner().invoke(app, ["simulate", "--trace", trace, "--fleet", fleet, "--policy", "srtf", "--json"])
    assert one.exit_code == 0, one.output
    [result] = json.loads(one.stdout)["results"]
    assert (result["ordering"], result["finished"]) == ("srtf", 60)
    csv_path = tmp_path / "out.csv"
    both = CliRunner().invoke(
        app,
        [
            "simulate",
            "compare",
            "--trace",
            trace,
            "--fleet",
            fleet,
            "--policies",
            "fifo,srtf",
            "--csv",
            str(csv_path),
            "--json",
        ],
    )
    assert both.exit_code == 0, both.output
    assert [r["ordering"] for r in json.loads(both.stdout)["results"]] == ["fifo", "srtf"]
    assert csv_path.read_text().splitlines()[0].startswith("policy,placement,scope,jobs,avg_jct_s")
    for args, code in [
        (["--trace", "nope:x"], "invalid_spec"),
        (["--trace", trace, "--policy", "lifo"], "invalid_input"),
        (["--trace", trace, "--fleet", "uniform:0x8"], "invalid_spec"),
    ]:
        bad = CliRunner().invoke(app, ["simulate", *args, "--json"])
        assert bad.exit_code == 1, bad.output
        assert json.loads(bad.stdout)["error"]["code"] == code


def test_simulate_compares_sharing_placements_on_an_openb_cluster(tmp_path: Path) -> None:
    nodes, pods = tmp_path / "nodes.csv", tmp_path / "pods.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,8000,16384,2,T4\nn1,8000,16384,1,T4\n")
    rows = [f"p{i},1000,1024,1,{300 + 100 * (i % 5)},,LS,Running,{10 * i},{10 * i + 100}" for i in range(30)]
    pods.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time\n")
    pods.write_text(pods.read_text() + "\n".join(rows) + "\n")
    args = ["simulate", "compare", "--trace", f"openb:{pods}", "--fleet", f"openb:{nodes}", "--policies", "fifo"]
    out = CliRunner().invoke(app, [*args, "--placements", "bestfit,fgd", "--speedup", "4", "--json"])
    assert out.exit_code == 0, out.output
    results = json.loads(out.stdout)["results"]
    assert [(r["placement"], r["finished"]) for r in results] == [("bestfit", 30), ("fgd", 30)]
    # Four times the arrival rate: 30 pods of 100 s, one every 2.5 s, on 3 GPUs: some must wait.
    assert all(r["avg_queueing"] > 0 for r in results)
    for extra, code in [(["--placements", "topology"], "invalid_input"), (["--speedup", "0"], "invalid_input")]:
        bad = CliRunner().invoke(app, [*args, *extra, "--json"])
        assert bad.exit_code == 1, bad.output
        assert json.loads(bad.stdout)["error"]["code"] == code


def test_simulate_the_pai_simulators_input_with_its_estimates_on_a_pooled_cluster(tmp_path: Path) -> None:
    trace = tmp_path / "pai.csv"
    trace.write_text(
        "job_id,user,submit_time,duration,num_gpu,num_inst,num_cpu,user_dur\n"
        "1,ann,0,1000,8,1,16,900\n2,ann,0,50,2,2,4,500\n3,bob,0,100,4,1,8,50\n10,cat,0,30,0.25,1,2,30\n"
    )
    args = ["simulate", "compare", "--trace", f"pai:{trace},estimate=user_dur", "--fleet", "pooled:8,cpus=16"]
    out = CliRunner().invoke(app, [*args, "--policies", "sjf,fifo-greedy", "--placements", "pooled", "--json"])
    assert out.exit_code == 0, out.output
    sjf, greedy = json.loads(out.stdout)["results"]
    # All arrive at 0 (rank-based: 1,000 a minute). Told user_dur, SJF runs 10 and 3 first (4.25 GPUs), then 2
    # at 30 when 10 ends, then 1 at 100: JCT 30, 100, 80, 1100. Greedy FIFO takes job 1 first (8 GPUs).
    assert sjf["avg_jct"] == (30 + 100 + 80 + 1100) / 4
    assert greedy["per_tenant"]["ann"]["jobs"] == 2
    for extra, code in [
        (["--fleet", "pooled:8,gpus=2"], "invalid_spec"),
        (["--trace", f"pai:{trace},estimate=nope"], "invalid_spec"),
        (["--fleet", "uniform:1x8", "--placements", "pooled"], "invalid_input"),
        (["--policies", "tiresias", "--queues", "7200,3250"], "invalid_input"),
        (["--policies", "tiresias", "--queues", "a,b"], "invalid_input"),
        (["--policies", "tiresias", "--starvation", "nan"], "invalid_input"),
    ]:
        bad = CliRunner().invoke(app, [*args, *extra, "--json"])
        assert bad.exit_code == 1, bad.output
        assert json.loads(bad.stdout)["error"]["code"] == code


def test_bench_philly_runs_per_virtual_cluster(tmp_path: Path) -> None:
    jobs = tmp_path / "philly.csv"
    jobs.write_text(
        "timestamp,duration,num_gpus,gpu_time,cluster\n"
        "2017-10-01 00:00:00,100,8,800,vc1\n2017-10-01 00:00:10,10,8,80,vc1\n"
        "2017-10-01 00:00:00,50,1,50,vc2\n2017-12-05 00:00:00,50,1,50,vc2\n"
    )
    vcs = tmp_path / "vc.csv"
    vcs.write_text("vc,node num\nvc1,1\nvc2,1\n")
    result = CliRunner().invoke(
        app, ["bench", "philly", "--jobs", str(jobs), "--vcs", str(vcs), "--policy", "fifo,srtf", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["jobs"] == 3  # the December job is outside the window
    # vc1 FIFO: 100-s job then the 10-s one (JCT 100 and 100); SRTF preempts: 10-s job 10-20, big one ends 110.
    assert report["policies"]["fifo"]["per_vc"]["vc1"]["avg_jct_s"] == 100
    assert report["policies"]["srtf"]["per_vc"]["vc1"]["avg_jct_s"] == 60


def test_nodes_from_the_command_line(cli: Any) -> None:
    cli("init")
    node = "h100-array-000-r00-n00"
    counts = as_json(cli("node", "states", "--pool", "colossus-1/h100-sxm", "--json"))
    assert [(c["state"], c["nodes"], c["gpus"]) for c in counts] == [("up", 18_752, 150_016)]
    assert "drains: draining" in cli("node", "drain", node, "--reason", "fan alarm").stdout
    refused = as_json(cli("node", "drain", node, "--json", ok=False))
    assert refused["error"]["code"] == "invalid_state"
    shown = cli("node", "show", node).stdout
    assert "rack h100-array-000-r00" in shown
    assert "fan alarm" in shown
    assert [n["name"] for n in as_json(cli("node", "list", "--state", "draining", "--json"))["items"]] == [node]
    assert as_json(cli("node", "resume", node, "--json"))["state"] == "up"


def test_quotes_running_bills_availability_and_analyses_from_the_command_line(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("init")
    cli("tenant", "add", "lab")
    quote = as_json(cli("contract", "quote", "--pool", "colossus-1/h100-sxm", "--term", "30d", "--gpus", "1000",
                        "--tenant", "lab", "--json"))  # fmt: skip
    assert (quote["price_per_gpu_hour"], quote["commitment"], quote["free"]) == ("2.400000", "1728000.00", 150_016)
    assert "earliest start" in cli("contract", "quote", "--pool", "colossus-1/h100-sxm", "--term", "7d", "--gpus",
                                   "8", "--tenant", "lab").stdout  # fmt: skip
    refused = cli("contract", "quote", "--pool", "colossus-1/h100-sxm", "--gpus", "8", "--tenant", "lab", ok=False)
    assert "give --end or --term" in refused.output
    this_month = iso(month_of(wall_clock()).start)[:10]
    signed = as_json(cli(*sign_args(64, this_month, "30d", "--sla", "0.99", "--json")))
    bill = as_json(cli("invoice", "to-date", "--tenant", "lab", "--json"))
    assert [line["contract_id"] for line in bill["lines"]] == [signed["id"]]
    assert "to date: $" in cli("invoice", "to-date", "--tenant", "lab").stdout
    period = month_of(signed["start"]).key
    (row,) = as_json(cli("incident", "availability", "--period", period, "--json"))
    assert (row["contract_id"], row["measured"], row["met"]) == (signed["id"], "1.000000", True)
    assert "SLA availability" in cli("incident", "availability", "--period", period).stdout
    monkeypatch.setenv("NEOCLOUD_ANALYSIS_WORKER", "false")  # the test runs the worker itself, below
    queued = as_json(cli("analysis", "compare", "--trace", "synthetic:200,seed=1", "--policies", "fifo,sjf", "--json"))
    assert queued["status"] == "queued"
    assert as_json(cli("analysis", "work", "--json")) == {"ran": 1}
    shown = cli("analysis", "show", queued["id"]).stdout
    assert "done" in shown
    assert "sjf" in shown
    assert queued["id"] in cli("analysis", "list").stdout
    bad = cli("analysis", "compare", "--trace", "philly:/etc/passwd", ok=False)
    assert "error[invalid_spec]" in bad.output
    # Within colossus-1's power, cut to 30 kW for two hours an hour in: stopping work only, never exceeded.
    powered = ("analysis", "compare", "--trace", "synthetic:200,seed=1", "--fleet", "colossus-1", "--policies", "fifo")
    queued = as_json(cli(*powered, "--curtail", "0.9999@3600+7200", "--no-capping", "--json"))
    assert queued["request"]["power"]["capping"] is False
    assert as_json(cli("analysis", "work", "--json")) == {"ran": 1}
    (run,) = as_json(cli("analysis", "show", queued["id"], "--json"))["result"]["results"]
    stopped = sum(c["preempted"] for c in run["budget"]["changes"])
    assert (run["finished"], run["budget"]["exceeded_at"], stopped > 0) == (200, [], True)
    shown = cli("analysis", "show", queued["id"]).stdout
    assert re.search(rf"│ 0\s+│ {stopped}\s+│ {run['budget']['peak_kw']}\s+│ never", shown), shown
    for refusal, says in ((["--curtail", "2@0+10"], "depth must be within 0 and 1"), (["--ramp", "0"], "above 0"),
                          (["--fall", "fast"], "fall_mw_per_s")):  # fmt: skip
        assert says in cli(*powered, *refusal, ok=False).output
    missing = cli("analysis", "scenario", "/no/such.yaml", ok=False)
    assert "cannot read" in missing.output
    # Its GPUs capped to 90 % of their TDP, every model alike (tests/api/test_analyses.py works the speed).
    alike = ("--cap", "h100-sxm=630", "--cap", "h200-sxm=630", "--cap", "gb200-nvl72=1080")
    queued = as_json(cli(*powered, *alike, "--json"))
    assert queued["request"]["caps"]["caps_w"] == {"h100-sxm": 630, "h200-sxm": 630, "gb200-nvl72": 1080}
    assert as_json(cli("analysis", "work", "--json")) == {"ran": 1}
    assert (
        "under caps (training work): h100-sxm at 630 W runs at 91.2% speed"
        in cli("analysis", "show", queued["id"]).stdout
    )
    assert "a cap is MODEL=WATTS" in cli(*powered, "--cap", "h100-sxm", ok=False).output


def test_simulate_under_a_power_cap_by_hand(tmp_path: Path) -> None:
    trace, fleet = tmp_path / "jobs.csv", tmp_path / "fleet.yaml"
    trace.write_text("id,submit,duration,gpus\na,0,3600,8\nb,0,3600,8\nc,0,3600,8\n")
    fleet.write_text(
        "sites:\n  - name: t\n    blocks:\n"
        "      - {name: b, racks: 1, nodes_per_rack: 2, node: {gpu_model: h100-sxm, gpus: 8}}\n"
    )
    args = ["simulate", "--trace", f"csv:{trace}", "--fleet", str(fleet)]
    out = CliRunner().invoke(app, [*args, "--cap", "h100-sxm=600", "--json"])
    assert out.exit_code == 0, out.output
    shown = json.loads(out.stdout)
    # Training at 600 of 700 W runs at 87.5 %: each hour of work takes ceil(3,600 / 0.875) = 4,115 s. Two of
    # the three jobs run at once on the two nodes, the third after: makespan 8,230 s, JCT 4,115, 4,115, 8,230.
    r = shown["results"][0]
    assert (r["makespan_s"], r["avg_jct"], r["gpu_hours"]) == (8230, round((4115 * 2 + 8230) / 3, 3), 27.433)
    assert shown["power"] == {
        "caps_w": {"h100-sxm": 600},
        "kind": "training",
        "speed": {"h100-sxm": "0.8750"},
        "it_kw_per_gpu": {"h100-sxm": "1.2925"},  # (0.6 + 0.575) x 1.1
    }
    inference = json.loads(
        CliRunner().invoke(app, [*args, "--cap", "h100-sxm=300", "--kind", "inference", "--json"]).stdout
    )
    assert inference["results"][0]["makespan_s"] == 7200  # decode does not reach 300 W: no slower
    text = CliRunner().invoke(app, [*args, "--cap", "h100-sxm=600"])
    assert "h100-sxm at 600 W runs at 87.5% speed" in text.output
    for extra in (
        ["--cap", "h100-sxm=100"],
        ["--cap", "a100-80gb-sxm=300"],
        ["--cap", "h100-sxm=600", "--kind", "gaming"],
        ["--cap", "h100-sxm"],
        ["--cap", "h100-sxm=600", "--fleet", "uniform:2x8"],
    ):
        bad = CliRunner().invoke(app, [*args, *extra, "--json"])
        assert bad.exit_code == 1, bad.output
        assert json.loads(bad.stdout)["error"]["code"] == "invalid_input", bad.stdout
