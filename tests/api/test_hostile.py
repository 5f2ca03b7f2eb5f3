"""Hostile input is normal input: every bound of the API and the CLI by hand, on both stores. Each case gets
its precise 4xx and code, a short answer in the project's error shape, and leaves the store as it was."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from neocloud import bootstrap
from neocloud.adapters.specs import default_catalog
from neocloud.api.app import create_app
from neocloud.app import auth
from neocloud.cli.main import app as cli_app
from neocloud.cli.main import main
from neocloud.core.billing.periods import month

from ..builders import POOL, snapshot

SOON = month("2030-05")
PAST = month("2025-05")


@pytest.fixture
def door(store: bootstrap.Context) -> Iterator[tuple[TestClient, dict[str, str], bootstrap.Context]]:
    with store.uow() as uow:
        keys = {
            "operator": auth.create_key(uow, 0, store.new_id)[1],
            "lab": auth.create_key(uow, 0, store.new_id, "lab")[1],
        }
    with TestClient(create_app(store, tick=0), raise_server_exceptions=False) as client:
        yield client, keys, store


def body(**kw: Any) -> dict[str, Any]:
    return {"pool": POOL, "start": SOON.start, "end": SOON.end, "gpus": 8, **kw}


def raw(text: str) -> dict[str, Any]:
    return {"content": text.encode(), "headers": {"Content-Type": "application/json"}}


N = "NaN"
CASES: list[tuple[str, str, str, str, dict[str, Any], int, str]] = [
    # name, who, method, path, request, status, code
    ("NaN start", "lab", "POST", "/contracts", raw(f'{{"pool":"{POOL}","start":NaN,"end":1,"gpus":8}}'), 422, ""),
    ("Infinity end", "lab", "POST", "/contracts", raw(f'{{"pool":"{POOL}","start":1,"end":Infinity}}'), 422, ""),
    ("1e400 gpus", "lab", "POST", "/contracts", raw(f'{{"pool":"{POOL}","start":1,"end":2,"gpus":1e400}}'), 422, ""),
    ("200-digit gpus", "lab", "POST", "/contracts", {"json": body(gpus=10**200)}, 422, "invalid_request"),
    ("4300+ digit number", "lab", "POST", "/contracts", raw('{"gpus": ' + "9" * 5000 + "}"), 400, "malformed_request"),
    ("2**62 end", "operator", "POST", "/contracts", {"json": body(tenant="lab", end=2**62)}, 422, "invalid_request"),
    ("1e30 float start", "lab", "POST", "/contracts", {"json": body(start=1e30)}, 422, "invalid_request"),
    ("year 10000", "lab", "POST", "/contracts", {"json": body(end=253_402_300_801)}, 422, "invalid_request"),
    ("before 1970", "operator", "POST", "/contracts", {"json": body(tenant="lab", start=-1)}, 422, ""),
    ("NUL in tenant", "operator", "POST", "/contracts", {"json": body(tenant="lab\x00")}, 422, "invalid_request"),
    ("NUL in pool", "lab", "POST", "/contracts", {"json": body(pool="s1/h100\x00")}, 422, "invalid_request"),
    ("1 MB pool name", "lab", "POST", "/contracts", {"json": body(pool="p" * 1_000_000)}, 422, "invalid_request"),
    ("5 MB body", "operator", "POST", "/tenants", {"json": {"name": "x" * 5_000_000}}, 413, "body_too_large"),
    ("tenant sets a price", "lab", "POST", "/contracts", {"json": body(price_per_gpu_hour="0")}, 403, ""),
    ("tenant sets notice", "lab", "POST", "/contracts", {"json": body(termination_notice_days=0)}, 403, ""),
    ("tenant sets overage", "lab", "POST", "/contracts", {"json": body(overage_per_gpu_hour="1.50")}, 403, ""),
    ("tenant backdates", "lab", "POST", "/contracts", {"json": body(start=PAST.start, end=SOON.end)}, 422, ""),
    ("tenant names another", "lab", "POST", "/contracts", {"json": body(tenant="research")}, 403, "forbidden"),
    (
        "price 1e-30",
        "operator",
        "POST",
        "/contracts",
        {"json": body(tenant="lab", price_per_gpu_hour="1e-30")},
        422,
        "",
    ),
    (
        "7 places",
        "operator",
        "POST",
        "/contracts",
        {"json": body(tenant="lab", price_per_gpu_hour="2.4000001")},
        422,
        "",
    ),
    (
        "negative overage",
        "operator",
        "POST",
        "/contracts",
        {"json": body(tenant="lab", overage_per_gpu_hour="-1")},
        422,
        "",
    ),
    ("NaN price", "operator", "POST", "/contracts", {"json": body(tenant="lab", price_per_gpu_hour=N)}, 422, ""),
    (
        "price as a number",
        "operator",
        "POST",
        "/contracts",
        {"json": body(tenant="lab", price_per_gpu_hour=2.4)},
        422,
        "",
    ),
    (
        "below the floor",
        "operator",
        "POST",
        "/contracts",
        {"json": body(tenant="lab", price_per_gpu_hour="1.00")},
        422,
        "invalid_input",
    ),
    (
        "price 0",
        "operator",
        "POST",
        "/contracts",
        {"json": body(tenant="lab", price_per_gpu_hour="0")},
        422,
        "invalid_input",
    ),
    ('gpus "1"', "lab", "POST", "/contracts", {"json": body(gpus="1")}, 422, "invalid_request"),
    ("gpus true", "lab", "POST", "/contracts", {"json": body(gpus=True)}, 422, "invalid_request"),
    ("gpus 1.5", "lab", "POST", "/contracts", {"json": body(gpus=1.5)}, 422, "invalid_request"),
    ('take_or_pay "yes"', "operator", "POST", "/contracts", {"json": body(tenant="lab", take_or_pay="yes")}, 422, ""),
    (
        "notice 10**6 days",
        "operator",
        "POST",
        "/contracts",
        {"json": body(tenant="lab", termination_notice_days=10**6)},
        422,
        "",
    ),
    ("SLA 1.5", "operator", "POST", "/contracts", {"json": body(tenant="lab", sla_uptime="1.5")}, 422, ""),
    ("unknown kind", "lab", "POST", "/contracts", {"json": body(kind="free")}, 422, "invalid_request"),
    ("unknown field", "lab", "POST", "/contracts", {"json": body(discount="100%")}, 422, "invalid_request"),
    ("a list, not an object", "lab", "POST", "/contracts", {"json": [1, 2]}, 422, "invalid_request"),
    ("malformed JSON", "lab", "POST", "/contracts", raw("{not json"), 400, "malformed_request"),
    (
        "invalid UTF-8",
        "lab",
        "POST",
        "/contracts",
        {"content": b'{"pool": "\xff"}', "headers": {"Content-Type": "application/json"}},
        400,
        "malformed_request",
    ),
    ("100k-deep nesting", "lab", "POST", "/contracts", raw("[" * 100_000 + "]" * 100_000), 400, "malformed_request"),
    ("period 9999-12", "lab", "GET", "/usage", {"params": {"period": "9999-12"}}, 200, ""),
    ("period 10000-01", "lab", "GET", "/usage", {"params": {"period": "10000-01"}}, 422, "invalid_request"),
    ("period 2027-13", "lab", "GET", "/usage", {"params": {"period": "2027-13"}}, 422, "invalid_request"),
    ("NUL in period", "lab", "GET", "/usage", {"params": {"period": "2027-01\x00"}}, 422, "invalid_request"),
    ("quote at 1e30", "lab", "GET", "/capacity/free", {"params": {"pool": POOL, "start": "1e30", "end": 5}}, 422, ""),
    ("quote at 2**62", "lab", "GET", "/capacity/free", {"params": {"pool": POOL, "start": 0, "end": 2**62}}, 422, ""),
    (
        "quote backwards",
        "lab",
        "GET",
        "/capacity/free",
        {"params": {"pool": POOL, "start": 9, "end": 5}},
        422,
        "invalid_interval",
    ),
    (
        "earliest of 0 GPUs",
        "lab",
        "GET",
        "/capacity/earliest",
        {"params": {"pool": POOL, "gpus": 0, "duration": 60, "not_before": 0}},
        422,
        "",
    ),
    (
        "a 10**12 s job",
        "lab",
        "GET",
        "/capacity/earliest",
        {"params": {"pool": POOL, "gpus": 1, "duration": 10**12, "not_before": 0}},
        422,
        "",
    ),
    ("%2F in an id", "lab", "GET", "/contracts/a%2Fb", {}, 404, "not_found"),
    ("NUL in an id", "lab", "GET", "/contracts/a%00b", {}, 422, "invalid_request"),
    ("5,000-char id", "lab", "GET", "/contracts/" + "c" * 5000, {}, 422, "invalid_request"),
    ("another tenant's list", "lab", "GET", "/contracts", {"params": {"tenant": "research"}}, 403, "forbidden"),
    ("garbage cursor", "lab", "GET", "/contracts", {"params": {"cursor": "garbage"}}, 422, "invalid_cursor"),
    ("page of 0", "lab", "GET", "/contracts", {"params": {"limit": 0}}, 422, "invalid_request"),
    ("page of 1001", "lab", "GET", "/contracts", {"params": {"limit": 1001}}, 422, "invalid_request"),
    ("bad Idempotency-Key", "lab", "POST", "/workloads", {"json": {}, "headers": {"Idempotency-Key": "a b"}}, 422, ""),
    (
        "long Idempotency-Key",
        "lab",
        "POST",
        "/workloads",
        {"json": {}, "headers": {"Idempotency-Key": "k" * 201}},
        422,
        "",
    ),
    (
        "10**9 GPUs a task",
        "lab",
        "POST",
        "/workloads",
        {"json": {"contract_id": "c-x", "gpus_per_task": 10**9, "duration": 60}},
        422,
        "",
    ),
    ("a 0 s workload", "lab", "POST", "/workloads", {"json": {"contract_id": "c-x", "duration": 0}}, 422, ""),
    ('tasks "2"', "lab", "POST", "/workloads", {"json": {"contract_id": "c-x", "tasks": "2", "duration": 60}}, 422, ""),
    ("NaN stage", "lab", "POST", "/workloads", raw('{"contract_id":"c-x","duration":60,"stages":[NaN]}'), 422, ""),
    ("1e400 stage", "lab", "POST", "/workloads", raw('{"contract_id":"c-x","duration":60,"stages":[1e400]}'), 422, ""),
    (
        "Infinity iteration",
        "lab",
        "POST",
        "/workloads",
        raw('{"contract_id":"c-x","duration":60,"stages":[1],"iteration":Infinity}'),
        422,
        "",
    ),
    (
        "NUL in a description",
        "operator",
        "POST",
        "/incidents",
        {"json": {"pool": POOL, "start": 0, "end": 60, "description": "a\x00"}},
        422,
        "",
    ),
    (
        "incident of 0 GPUs",
        "operator",
        "POST",
        "/incidents",
        {"json": {"pool": POOL, "start": 0, "end": 60, "gpus": 0}},
        422,
        "",
    ),
    ("NaN minimum", "operator", "PUT", "/contracts/c-x/terms", {"json": {"minimum_per_period": N}}, 422, ""),
    ("3-place money", "operator", "PUT", "/contracts/c-x/terms", {"json": {"prepaid_balance": "1.001"}}, 422, ""),
    (
        "agreement below floor",
        "operator",
        "PUT",
        "/agreements",
        {"json": {"tenant": "lab", "pool": POOL, "price_per_gpu_hour": "0.10"}},
        422,
        "invalid_input",
    ),
    (
        "agreement, unknown tenant",
        "operator",
        "PUT",
        "/agreements",
        {"json": {"tenant": "ghost", "pool": POOL}},
        404,
        "unknown_tenant",
    ),
    ("negative credit limit", "operator", "PUT", "/tenants/lab/credit-limit", {"json": {"usd": "-5"}}, 422, ""),
    ("quota of -1", "operator", "PUT", "/tenants/lab/quotas", {"json": {"pool": POOL, "gpus": -1}}, 422, ""),
    (
        "key expired at birth",
        "operator",
        "POST",
        "/tenants/lab/keys",
        {"json": {"expires_at": 1}},
        422,
        "invalid_input",
    ),
    ("key expiring at 2**62", "operator", "POST", "/tenants/lab/keys", {"json": {"expires_at": 2**62}}, 422, ""),
    ("a tenant's limits, by another", "lab", "GET", "/tenants/research/limits", {}, 403, "forbidden"),
    ("wrong method", "lab", "DELETE", "/contracts", {}, 405, "method_not_allowed"),
    ("no such route", "lab", "GET", "/nothing", {}, 404, "not_found"),
    ("a 10 KB bearer", None, "GET", "/pools", {"headers": {"Authorization": "Bearer " + "k" * 10_000}}, 401, ""),
    ("Basic auth", None, "GET", "/pools", {"headers": {"Authorization": "Basic abc"}}, 401, "unauthenticated"),
    (
        "a bad Content-Length",
        "lab",
        "POST",
        "/contracts",
        {"content": b"{}", "headers": {"Content-Length": "x"}},
        400,
        "",
    ),
]


def test_every_bound_gets_its_4xx_and_writes_nothing(door: Any) -> None:
    """Every case in CASES, one after another on one store (a store per case would cost a database each)."""
    client, keys, ctx = door
    wrong = []
    for name, who, method, path, request, status, code in CASES:
        request = {**request, "headers": dict(request.get("headers", {}))}
        if who is not None:
            request["headers"].setdefault("Authorization", f"Bearer {keys[who]}")
        before = snapshot(ctx)
        response = client.request(method, f"/v1{path}", **request)
        problems = []
        if response.status_code != status:
            problems.append(f"status {response.status_code}, not {status}: {response.text[:300]}")
        if len(response.content) >= 4_000:
            problems.append(f"an answer of {len(response.content):,} bytes")  # never the input echoed back
        if response.status_code >= 400:
            error = response.json().get("error", {})
            if set(error) != {"code", "message", "details", "request_id"}:
                problems.append(f"not the error shape: {response.text[:300]}")
            elif error["request_id"] != response.headers.get("x-request-id"):
                problems.append("the request id differs from the header's")
            elif code and error["code"] != code:
                problems.append(f"code {error['code']}, not {code}")
        if snapshot(ctx) != before:
            problems.append("the store changed")
        wrong += [f"{name}: {p}" for p in problems]
    assert not wrong, "\n".join(wrong)


def test_a_json_number_without_a_fraction_is_a_whole_number(door: Any) -> None:
    """JSON has one kind of number: 8.0 is 8 (as JSON Schema's "integer" says), "8" and true are not."""
    client, keys, _ = door
    signed = client.post("/v1/contracts", headers={"Authorization": f"Bearer {keys['lab']}"}, json=body(gpus=8.0))
    assert (signed.status_code, signed.json()["gpus"]) == (201, 8)


def test_a_chunked_body_over_the_limit_is_refused_as_it_arrives(door: Any) -> None:
    client, keys, ctx = door

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(300):
            yield b"x" * 10_000
        yield b'"}'

    before = snapshot(ctx)
    response = client.post("/v1/tenants", content=chunks(), headers={"Authorization": f"Bearer {keys['operator']}"})
    assert (response.status_code, response.json()["error"]["code"]) == (413, "body_too_large")
    assert snapshot(ctx) == before


def test_a_client_request_id_is_kept_only_if_it_is_a_short_token(door: Any) -> None:
    client, keys, _ = door
    auth_header = {"Authorization": f"Bearer {keys['lab']}"}
    assert client.get("/v1/pools", headers={**auth_header, "X-Request-Id": "trace-42"}).headers["x-request-id"] == (
        "trace-42"
    )
    hostile = client.get("/v1/pools", headers={**auth_header, "X-Request-Id": "a b\tc" + "x" * 100})
    assert hostile.headers["x-request-id"] != "a b\tc"
    assert len(hostile.headers["x-request-id"]) == 32


# The commands that the API serves answer with its codes: the schema's refusals are invalid_request.
SIGN = ["contract", "sign", "--tenant", "lab", "--pool", POOL, "--start", "now"]
CURTAIL = ["power", "curtail", "--site", "colossus-1", "--start", "now", "--end", "+3h"]
CLI_CASES = [
    ([*SIGN, "--term", "1"], "invalid_input"),
    ([*SIGN[:-1], "99999-01-01", "--term", "1d"], "invalid_input"),
    ([*SIGN, "--term", "9999999y"], "invalid_input"),
    ([*SIGN, "--term", "1d", "--gpus", "1e3"], "invalid_input"),
    ([*SIGN, "--term", "1d", "--gpus", str(10**30)], "invalid_request"),
    ([*SIGN, "--term", "1d", "--gpus", "8", "--price", "NaN"], "invalid_request"),
    ([*SIGN, "--term", "1d", "--gpus", "8", "--price", "0.5"], "invalid_input"),
    ([*SIGN, "--term", "1d", "--gpus", "8", "--sla", "2"], "invalid_request"),
    (["contract", "sign", "--tenant", "lab\x01", "--pool", POOL, "--start", "now", "--term", "1d"], "invalid_request"),
    (["usage", "list", "--period", "9999-13"], "invalid_request"),
    (["capacity", "earliest", POOL, "--gpus", "8", "--duration", "3600"], "invalid_input"),
    (["tenant", "add", "bad name"], "invalid_request"),
    (["tenant", "add", "x" * 100_000], "invalid_request"),
    (["contract", "list", "--cursor", "garbage"], "invalid_cursor"),
    (["fleet", "power", "colossus-1", "--cap", "h100-sxm=1"], "invalid_input"),
    (["fleet", "power", "colossus-1", "--cap", "h100-sxm"], "invalid_input"),
    (["fleet", "power", "colossus-1", "--mw", "NaN"], "invalid_request"),
    (["fleet", "power", "colossus-1", "--kind", "gaming"], "invalid_input"),
    ([*CURTAIL, "--depth", "2"], "invalid_request"),
    ([*CURTAIL, "--depth", "NaN"], "invalid_request"),
    ([*CURTAIL, "--depth", "1.5", "--apply"], "invalid_request"),
    ([*CURTAIL, "--depth", "0.25", "--apply", "--description", "a\x07b"], "invalid_request"),
    ([*CURTAIL[:-1], "+90d", "--depth", "0.25", "--apply"], "invalid_input"),
    (["power", "curtailments", "colossus-1", "--end", "+1e9d"], "invalid_input"),
    (["power", "lift", "cur-x", "--site", "colossus-1", "--at", "soon"], "invalid_input"),
    (["power", "lift", "cur-x", "--site", "colossus-1"], "not_found"),
    (["power", "lift", "cur-x\x01", "--site", "colossus-1"], "invalid_request"),
    ([*CURTAIL[:-1], "+90d", "--depth", "0.25"], "invalid_input"),
    (["power", "curtail", "--site", "nowhere", "--start", "now", "--end", "+3h", "--depth", "0.25"], "not_found"),
    (["contract", "list", "--limit", "5000"], "invalid_request"),
    (["limit", "credit", "--tenant", "lab", "--usd", "1e9"], "invalid_input"),
    (["key", "create", "--tenant", "lab", "--expires", "1970-01-02"], "invalid_input"),
    (["workload", "submit", "--contract", "c-x", "--duration", "1h", "--stages", "NaN"], "invalid_input"),
    (["workload", "submit", "--contract", "c-x", "--duration", "1h", "--stages", "0.2,inf"], "invalid_input"),
    (["workload", "submit", "--contract", "c-x", "--duration", "1h", "--stages", "0.2,x"], "invalid_input"),
    (["workload", "submit", "--contract", "c-x", "--duration", "1h", "--stages", ",".join("1" * 9)], "invalid_input"),
    (
        ["workload", "submit", "--contract", "c-x", "--duration", "1h", "--stages", "1", "--iteration", "nan"],
        "invalid_input",
    ),
    (
        ["workload", "submit", "--contract", "c-x", "--duration", "1h", "--stages", "1", "--iteration", "0"],
        "invalid_request",
    ),
]


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One SQLite store for the CLI's cases: options are parsed before any store is, and none of them writes."""
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'cli.db'}"
    runner = CliRunner()
    assert runner.invoke(cli_app, ["--db", url, "init"]).exit_code == 0
    assert runner.invoke(cli_app, ["--db", url, "tenant", "add", "lab"]).exit_code == 0
    return url


@pytest.mark.parametrize("args", CLI_CASES, ids=[f"{' '.join(a[:2])} #{i}" for i, (a, _) in enumerate(CLI_CASES)])
def test_every_cli_option_is_bounded(
    cli_store: str, args: tuple[list[str], str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the command's real entry point (usage errors included), with and without --json."""
    argv, code = args
    store_url = cli_store
    argv = ["--db", store_url, *(a.replace(POOL, "colossus-1/h100-sxm") for a in argv)]
    for as_json in (True, False):
        monkeypatch.setattr(sys, "argv", ["neocloud", *argv, *(["--json"] if as_json else [])])
        with pytest.raises(SystemExit) as done:
            main()
        out, err = capsys.readouterr()
        assert done.value.code in (1, 2), out + err
        if as_json:
            assert json.loads(out)["error"]["code"] == code
            assert len(out) < 2_000
        else:
            assert (out, err.count("\n")) == ("", 1), err
            assert err.startswith(f"error[{code}]"), err


def test_a_bad_store_url_is_one_line_even_with_json(capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> None:
    """The `neocloud` entry point itself (main(), in this process): one line on stderr, or one JSON object."""
    from neocloud.cli.main import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["neocloud", *args])
        with pytest.raises(SystemExit) as done:
            main()
        out = capsys.readouterr()
        return int(done.value.code or 0), out.out, out.err

    for url, code in (
        ("bogus://", "invalid_input"),
        (":::", "invalid_input"),
        ("postgresql://x@127.0.0.1:1/x", "store_unavailable"),
    ):
        started = time.monotonic()
        status, stdout, stderr = run("--db", url, "contract", "list")
        assert (status, stdout) == (1, "")
        assert stderr.count("\n") == 1, stderr
        assert stderr.startswith(f"error[{code}]"), stderr
        status, stdout, stderr = run("--db", url, "contract", "list", "--json")
        assert json.loads(stdout)["error"]["code"] == code
        assert stderr == ""
        assert time.monotonic() - started < 20
    status, _, stderr = run("contract", "list", "--gpus", "5")
    assert status == 2
    assert stderr.count("\n") == 1
    assert stderr.startswith("error[invalid_input]")


FLEET_CASES = [
    ("count: 1e12", "count: Input should be a valid integer"),
    ("count: 1000000000000", "count: Input should be less than or equal to 100000"),
    ("count: 100000, racks: 10000", "a site of more than 10,000,000 GPUs is not one"),
    ("count: 1, power: .nan", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("change", "message"), FLEET_CASES)
def test_fleet_files_are_bounded(tmp_path: Any, change: str, message: str) -> None:
    from neocloud.adapters.specs import load_fleet
    from neocloud.core.errors import InvalidSpec

    block = "{name: b, " + change + ", nodes_per_rack: 8, node: {gpu_model: h100-sxm, gpus: 8}}"
    path = tmp_path / "fleet.yaml"
    path.write_text(f"sites:\n  - name: s1\n    blocks:\n      - {block}\n")
    with pytest.raises(InvalidSpec, match=message) as refused:
        load_fleet(str(path), default_catalog())
    assert len(refused.value.message) < 400


def test_sites_with_nan_power_or_control_characters_are_refused(tmp_path: Any) -> None:
    from neocloud.adapters.specs import load_fleet
    from neocloud.core.errors import InvalidSpec

    block = "{name: b, nodes_per_rack: 8, node: {gpu_model: h100-sxm, gpus: 8}}"
    for site, message in (
        ("power_mw: .nan", "power_mw: Input should be a finite number"),
        ("pue: .inf", "pue: Input should be a finite number"),
        ('location: "a\\u0000b"', "location: String should match pattern"),
    ):
        path = tmp_path / "fleet.yaml"
        path.write_text(f"sites:\n  - name: s1\n    {site}\n    blocks:\n      - {block}\n")
        with pytest.raises(InvalidSpec, match=message):
            load_fleet(str(path), default_catalog())


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("c-x,j1,9999999999999999999999,0,60,false", "milli_gpus.*out of range"),
        ("c-x,j1,NaN,0,60,false", "milli_gpus.*not an integer"),
        ("c-x,j1,8000,0," + "9" * 5000 + ",false", "end.*not an integer"),
        ("c-x,j1,8000,-5,60,false", "start.*out of range"),
        ("c-x,j1,8000,0,60,maybe", "preempted must be true or false"),
    ],
)
def test_usage_files_are_bounded(cli_store: str, tmp_path: Any, row: str, message: str) -> None:
    path = tmp_path / "usage.csv"
    path.write_text("contract,job,milli_gpus,start,end,preempted\n" + row + "\n")
    result = CliRunner().invoke(cli_app, ["--db", cli_store, "usage", "import", str(path), "--json"])
    assert result.exit_code == 1, result.output
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "invalid_spec"
    assert re.search(message, error["message"]), error["message"]
    assert len(result.stdout) < 2_000
