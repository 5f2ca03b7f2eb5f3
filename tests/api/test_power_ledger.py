"""Power in the ledger through the API, the client and the CLI, on both stores: contracts in megawatts and at
caps, signings refused where the site's feed is spent though GPUs are free, free power, the power profile,
and every bad request refused, writing nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from neocloud.adapters.specs import parse_fleet
from neocloud.app import billing, services
from neocloud.cli.main import app
from neocloud.core.billing.periods import month

from ..builders import SOON, cli_on

SITE = """
sites:
  - name: p
    power_mw: 0.2
    pue: 1.25
    blocks:
      - {name: h, count: 1, racks: 2, nodes_per_rack: 8, node: {gpu_model: h100-sxm, gpus: 8}}
"""  # 128 H100; the feed carries 0.2 MW / 1.25 = 160 kW of IT power
POOL = "p/h100-sxm"
START, END = SOON.start, SOON.end


def body(**kw: Any) -> dict[str, Any]:
    return {"tenant": "lab", "pool": POOL, "start": START, "end": END, **kw}


@pytest.fixture
def site(api: Any) -> Any:
    with api.ctx.uow() as uow:
        services.add_sites(uow, parse_fleet(SITE, "p.yaml", api.ctx.catalog), api.ctx.catalog)
    return api


def test_contracts_in_megawatts_and_at_caps_by_hand(site: Any) -> None:
    api = site
    # 50 kW at 500 W: (0.5 + 0.575) x 1.1 x 1.25 = 1.478125 kW a GPU, 33.8 GPUs: 4 whole nodes.
    quoted = api("GET", "/quote", "operator", params={"tenant": "lab", "pool": POOL, "start": START, "end": END,
                                                       "mw": "0.05", "cap_w": 500})  # fmt: skip
    assert (quoted["gpus"], quoted["cap_w"], quoted["free"]) == (32, 500, 128)
    signed = api("POST", "/contracts", "operator", 201, json=body(mw="0.05", cap_w=500))
    assert (signed["gpus"], signed["cap_w"]) == (32, 500)
    # 90 more at TDP draw 126.225 kW; with the 37.84 kW booked, 164.065 kW of 160: refused, though 96 GPUs are
    # free.
    refused = api("POST", "/contracts", "operator", 409, json=body(gpus=90))
    assert refused["error"]["code"] == "power_overbooked"
    assert refused["error"]["details"] == {
        "node": "p", "at": START, "excess_kw": "4.065", "requested_kw": "126.225", "limit_kw": "160",
    }  # fmt: skip
    assert [c["gpus"] for c in api("GET", "/contracts", "operator")["items"]] == [32]  # nothing written
    api("POST", "/contracts", "operator", 201, json=body(gpus=80))  # 112.2 kW: 150.04 kW in all
    # 16 GPUs are free; the feed's 9.96 kW holds 7 of them at TDP (1.4025 kW), 10 at 300 W (0.9625 kW).
    free = api("GET", "/capacity/free", "lab", params={"pool": POOL, "start": START, "end": END, "power": "true"})
    assert free == {
        "pool": POOL, "start": START, "end": END, "free": 16,
        "power": {"cap_w": None, "gpus": 7, "nodes": [
            {"node": "p", "limit_kw": "160", "free_kw": "9.96", "steps": [], "more": False}
        ]},
    }  # fmt: skip
    capped = api("GET", "/capacity/free", "lab", params={"pool": POOL, "start": START, "end": END, "cap_w": 300})
    assert capped["power"]["gpus"] == 10
    plain = api("GET", "/capacity/free", "lab", params={"pool": POOL, "start": START, "end": END})
    assert plain == {"pool": POOL, "start": START, "end": END, "free": 16}  # the GPU answer, as before
    # The quote of what no longer fits says so: 8 GPUs at TDP never fit this window's power.
    later = api("GET", "/quote", "operator", params={"tenant": "lab", "pool": POOL, "start": START, "end": END,
                                                      "gpus": 8})  # fmt: skip
    assert (later["free"], later["earliest_start"]) == (7, END)
    # The feed over time: both contracts draw 150.04 kW over the month, nothing after.
    profile = api("GET", "/sites/p/power/profile", "lab", params={"start": START, "end": END + 86_400})
    assert profile["nodes"] == [
        {"node": "p", "limit_kw": "160", "free_kw": "9.96", "more": False, "steps": [
            {"start": START, "end": END, "drawn_kw": "150.04"},
            {"start": END, "end": END + 86_400, "drawn_kw": "0"},
        ]},
    ]  # fmt: skip
    # Extending into power that is taken is refused like booking: 96 GPUs at TDP from the end (134.64 kW), and the
    # 32 at 500 W (37.84 kW) would make 172.48 kW, though the 128 GPUs are free.
    api("POST", "/contracts", "operator", 201, json={**body(gpus=96), "start": END, "end": END + 86_400})
    [first] = [c for c in api("GET", "/contracts", "operator")["items"] if c["gpus"] == 32]
    extended = api("POST", f"/contracts/{first['id']}/extend", "operator", 409, json={"end": END + 3_600})
    assert extended["error"]["code"] == "power_overbooked", extended
    assert api("GET", f"/contracts/{first['id']}", "operator")["end"] == END


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"gpus": 8, "cap_w": 150}, 422, "can be capped to 200-700 W, not 150 W"),
        ({"gpus": 8, "cap_w": 10_001}, 422, "cap_w"),
        ({"gpus": 8, "cap_w": "500"}, 422, "cap_w"),
        ({"gpus": 8, "cap_w": 500.5}, 422, "cap_w"),
        ({"gpus": 8, "cap_w": True}, 422, "cap_w"),
        ({"mw": "NaN"}, 422, "mw"),
        ({"mw": "Infinity"}, 422, "mw"),
        ({"mw": "-1"}, 422, "mw"),
        ({"mw": "1e400"}, 422, "mw"),
        ({"mw": "100001"}, 422, "mw"),
        ({"mw": "0.001"}, 422, "0.001 MW holds no whole 8-GPU step of h100-sxm at its TDP"),
        ({"mw": "0.05", "gpus": 8}, 422, "give mw or gpus, not both"),
        ({"mw": "0.05", "kind": "spot"}, 422, "give mw or gpus, not both"),
        ({"mw": "0.05\u0000"}, 422, "mw"),
        ({"mw": "0.22"}, 409, "p: 120 GPUs"),  # 125.5 GPUs at TDP: 120 in whole nodes, 168.3 kW of IT, over 160
    ],
)
def test_bad_power_contracts_are_refused_and_write_nothing(
    site: Any, change: dict[str, Any], status: int, reason: str
) -> None:
    refused = site("POST", "/contracts", "operator", status, json={**body(), **change})
    assert reason in str(refused["error"]), refused
    assert site("GET", "/contracts", "operator")["items"] == []


@pytest.mark.parametrize(
    ("params", "status", "reason"),
    [
        ({"cap_w": 100}, 422, "can be capped to 200-700 W"),
        ({"cap_w": -5}, 422, "cap_w"),
        ({"cap_w": "x"}, 422, "cap_w"),
        ({"power": "maybe"}, 422, "power"),
        ({"pool": "nowhere/x", "power": "true"}, 404, "unknown pool"),
        ({"end": START, "power": "true"}, 422, "must be after start"),
    ],
)
def test_bad_power_queries_are_refused(site: Any, params: dict[str, Any], status: int, reason: str) -> None:
    query = {"pool": POOL, "start": START, "end": END, **params}
    assert reason in str(site("GET", "/capacity/free", "lab", status, params=query)["error"])


def test_bad_power_profiles_are_refused(site: Any) -> None:
    assert (
        "unknown site"
        in site("GET", "/sites/zz/power/profile", "lab", 404, params={"start": 0, "end": 1})["error"]["message"]
    )
    site("GET", "/sites/p/power/profile", "lab", 422, params={"start": 5, "end": 1})
    site("GET", "/sites/p/power/profile", "lab", 422, params={"start": 0, "end": 1, "limit": 0})
    site("GET", "/sites/p/power/profile", None, 401, params={"start": 0, "end": 1})
    # The test fleet's site has a 10 MW feed and no halls: one node.
    assert [
        n["node"] for n in site("GET", "/sites/s1/power/profile", "lab", params={"start": 0, "end": 1})["nodes"]
    ] == ["s1"]


def test_the_cli_signs_in_megawatts_and_shows_power(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'power.db'}"
    run, runner = cli_on(url), CliRunner()
    run("init")  # colossus-1, sold up to 1.3 x its feed
    run("tenant", "add", "frontier-lab")
    pool = ["--pool", "colossus-1/h100-sxm", "--start", "2031-01-01", "--term", "30d", "--energy", "pass-through"]
    signed = json.loads(
        run("contract", "sign", "--tenant", "frontier-lab", *pool, "--mw", "10", "--cap", "500", "--json")
    )
    assert (signed["gpus"], signed["cap_w"], signed["energy"]) == (
        7_040,
        500,
        "pass-through",
    )  # 10 MW at 500 W: 1.419 kW each, 880 nodes
    free = run("capacity", "free", "colossus-1/h100-sxm", "--start", "2031-01-01", "--end", "+1d", "--power")
    assert "with power for" in free
    assert "colossus-1:" in free
    shown = json.loads(run("capacity", "power", "colossus-1", "--start", "2031-01-01", "--end", "+30d", "--json"))
    # 7,040 x 1.1825 kW = 8,324.8 kW of IT drawn on the feed.
    assert shown["nodes"][0]["steps"][0]["drawn_kw"] == "8324.8"
    assert "MW of IT power" in run("capacity", "power", "colossus-1", "--start", "2031-01-01", "--end", "+30d")
    for bad, reason in (
        (["contract", "sign", "--tenant", "frontier-lab", *pool, "--mw", "nan"], "mw"),
        (["contract", "sign", "--tenant", "frontier-lab", *pool, "--mw", "1", "--gpus", "8"], "not both"),
        (["contract", "sign", "--tenant", "frontier-lab", *pool, "--gpus", "8", "--cap", "50"], "200-700 W"),
        (["contract", "sign", "--tenant", "frontier-lab", *pool, "--gpus", "8", "--energy", "free"], "energy"),
        (["capacity", "free", "colossus-1/h100-sxm", "--power", "--cap", "50"], "200-700 W"),
        (["capacity", "power", "nowhere"], "unknown site"),
        (["capacity", "power", "colossus-1", "--start", "2031-01-01", "--end", "2030-01-01"], "end"),
    ):
        refused = runner.invoke(app, ["--db", url, *bad])
        assert refused.exit_code != 0, bad
        assert reason in refused.output, (bad, refused.output)


def test_energy_passed_through_is_billed_in_kwh_at_the_sites_price_by_hand(api: Any) -> None:
    may = month("2025-05")
    signed = {
        name: api("POST", "/contracts", "operator", 201, json={
            "tenant": "lab", "kind": "on-demand", "pool": "s1/h100-sxm", "start": may.start, "end": may.end, **terms,
        })["id"]
        for name, terms in (
            ("passed", {"energy": "pass-through"}),
            ("capped", {"energy": "pass-through", "cap_w": 300}),
            ("bundled", {}),
        )
    }  # fmt: skip
    assert api("GET", f"/contracts/{signed['passed']}", "lab")["energy"] == "pass-through"
    with api.ctx.uow() as uow:  # each ran 8 GPUs for 10 hours
        runs = [billing.run_record(uow, c, f"j-{n}", 8_000, may.start, may.start + 36_000) for n, c in signed.items()]
        billing.ingest_usage(uow, runs)
    invoice = api("POST", "/invoices", "operator", 201, json={"tenant": "lab", "period": "2025-05"})
    energy = {line["contract_id"]: line for line in invoice["lines"] if line["kind"] == "energy"}
    # An H100 draws its typical 1.031 kW of IT power (catalog); at PUE 1.25 and $80/MWh (the test site's), 80
    # GPU-hours are 103.1 kWh: $8.248, $8.25. Capped to 300 W it draws at most (0.3 + 0.575) x 1.1 = 0.9625
    # kW: 96.25 kWh, $7.70. A bundled contract's price includes its energy: no line.
    assert {c: (e["quantity"], e["unit"], e["unit_price"], e["amount"]) for c, e in energy.items()} == {
        signed["passed"]: ("103.100", "kWh", "0.08", "8.25"),
        signed["capped"]: ("96.250", "kWh", "0.08", "7.70"),
    }
    assert energy[signed["passed"]]["description"] == "energy passed through: 1.031 kW a GPU x PUE 1.25, at $80/MWh"


def test_only_operators_set_the_energy_term_and_it_is_checked(api: Any) -> None:
    mine = {"pool": "s1/h100-sxm", "start": START, "end": END, "gpus": 8, "energy": "pass-through"}
    assert api("POST", "/contracts", "lab", 403, json=mine)["error"]["code"] == "terms_not_allowed"
    for bad in ("free", "", 1, True, "PASS-THROUGH", "bundled\u0000"):
        refused = api("POST", "/contracts", "operator", 422, json={**mine, "tenant": "lab", "energy": bad})
        assert "energy" in str(refused["error"]), (bad, refused)
    assert api("GET", "/contracts", "operator")["items"] == []
