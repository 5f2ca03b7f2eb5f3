"""A site's power under caps through the API and the client, by hand on the test fleet (128 H100 in a 10 MW
site at PUE 1.25), and every bad request refused with its reason."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from neocloud.adapters.specs import default_catalog, parse_fleet
from neocloud.app import services
from neocloud.cli.main import app
from neocloud.core.errors import NeocloudError


def test_a_sites_power_under_a_cap_by_hand(api: Any) -> None:
    shown = api("GET", "/sites/s1/power", "lab", params={"cap": "h100-sxm=400", "mw": "1"})
    # At 400 W an H100 takes (0.4 + 0.575 host) x 1.1 network = 1.0725 kW IT, x 1.25 = 1.340625 kW: 10 MW hold
    # 7,459 (7,456 in whole nodes), 1 MW 744; the 128 GPUs may draw 0.1716 MW. Training runs at 54.6 %.
    assert shown == {
        "site": "s1",
        "power_budget_mw": "10",
        "pue": "1.25",
        "kind": "training",
        "contract_mw": "1",
        "facility_power_mw": "0.172",
        "power_headroom_mw": "9.828",
        "models": [
            {
                "gpu_model": "h100-sxm",
                "gpus": 128,
                "cap_w": 400,
                "cap_range_w": [200, 700],
                "it_kw_per_gpu": "1.072",
                "facility_kw_per_gpu": "1.341",
                "facility_power_mw": "0.172",
                "throughput": "0.5464",
                "gpus_in_budget": 7_456,
                "gpus_for_contract": 744,
                "gpus_per_step": 8,
            }
        ],
        "tree": [  # the feed only: the test fleet names no halls or PDUs; 128 x 1.340625 kW
            {
                "kind": "site",
                "name": "s1",
                "limit_kw": "10000.000",
                "draw_kw": "171.600",
                "headroom_kw": "9828.400",
                "over": False,
                "note": "PUE 1.25",
            }
        ],
    }
    uncapped = api("GET", "/sites/s1/power", "lab", params={"kind": "inference"})
    assert (uncapped["models"][0]["cap_w"], uncapped["models"][0]["throughput"]) == (700, "1.0000")
    assert uncapped["models"][0]["gpus_in_budget"] == 5_704  # 1.753125 kW each: 5,704.1
    assert uncapped["contract_mw"] is None
    assert uncapped["models"][0]["gpus_for_contract"] is None


@pytest.mark.parametrize(
    ("params", "status", "reason"),
    [
        ({"cap": "a100-80gb-sxm=300"}, 422, "not a GPU model of site s1"),
        ({"cap": "h100-sxm=9999"}, 422, "can be capped to 200-700 W"),
        ({"cap": "h100-sxm"}, 422, "a cap is MODEL=WATTS"),
        ({"cap": ["h100-sxm=300", "h100-sxm=400"]}, 422, "capped twice"),
        ({"cap": [f"m{i}=1" for i in range(21)]}, 422, "cap"),
        ({"mw": "nan"}, 422, "mw"),
        ({"mw": "inf"}, 422, "mw"),
        ({"mw": "-1"}, 422, "mw"),
        ({"mw": "1e400"}, 422, "mw"),
        ({"mw": "ten"}, 422, "mw"),
        ({"kind": "gaming"}, 422, "unknown kind of work"),
        ({"kind": "x" * 100}, 422, "kind"),
    ],
)
def test_bad_power_requests_are_refused_with_their_reason(
    api: Any, params: dict[str, Any], status: int, reason: str
) -> None:
    refused = api("GET", "/sites/s1/power", "lab", status, params=params)
    assert reason in str(refused["error"]), refused


def test_an_unknown_site_or_no_key(api: Any) -> None:
    assert "unknown site" in api("GET", "/sites/nowhere/power", "lab", 404)["error"]["message"]
    assert api("GET", "/sites/s%01/power", "lab", 404)["error"]["code"] == "not_found"
    api("GET", "/sites/s1/power", None, 401)


def test_the_command_and_the_client_show_colossus_1_under_caps(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'power.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["--db", url, "init"]).exit_code == 0
    args = ["--db", url, "fleet", "power", "colossus-1", "--cap", "h100-sxm=500", "--mw", "10"]
    shown = runner.invoke(app, [*args, "--json"])
    assert shown.exit_code == 0, shown.output
    h100 = {m["gpu_model"]: m for m in json.loads(shown.output)["models"]}["h100-sxm"]
    assert (h100["cap_w"], h100["gpus_in_budget"], h100["gpus_for_contract"]) == (500, 211_416, 7_040)
    text = runner.invoke(app, args)
    assert text.exit_code == 0, text.output
    assert "GPUs in 10 MW" in text.output
    assert "211,416" in text.output
    assert "of 300 MW" in " ".join(text.output.split())


TREE = """
sites:
  - name: t
    power_mw: 0.5
    pue: 1.2
    pue_by_month: {7: 1.4, 8: 1.35}
    halls: [{name: hall-a, mw: 0.2, blocks: [h]}]
    blocks:
      - {name: h, racks: 2, nodes_per_rack: 4, rack_pdu_kw: 50, node: {gpu_model: h100-sxm, gpus: 8}}
      - {name: g, racks: 1, nodes_per_rack: 18, rack_pdu_kw: 132, node: {gpu_model: gb200-nvl72, gpus: 4}}
"""


def test_the_power_tree_by_hand_on_both_stores(api: Any) -> None:
    with api.ctx.uow() as uow:
        services.add_sites(uow, parse_fleet(TREE, "tree.yaml", api.ctx.catalog), api.ctx.catalog)
    stored = {s["name"]: s for s in api("GET", "/sites", "lab")["items"]}
    assert stored["t"]["gpus"] == 64 + 72

    def tree(**params: Any) -> dict[str, Any]:
        return {n["name"]: n for n in api("GET", "/sites/t/power", "lab", params=params)["tree"]}

    at_tdp = tree()
    # The feed: 64 H100 x 1.4025 kW + 72 GB200 x 1.8333 kW = 221.76 kW IT, x PUE 1.4 in July = 310.464 kW.
    assert (at_tdp["t"]["draw_kw"], at_tdp["t"]["over"]) == ("310.464", False)
    assert at_tdp["t"]["note"] == "PUE 1.4 in month 7, the year's highest"
    # The hall feeds block group h only: 64 x 1.4025 = 89.76 kW of IT against 200.
    assert (at_tdp["hall-a"]["limit_kw"], at_tdp["hall-a"]["draw_kw"]) == ("200.000", "89.760")
    # A rack of 32 H100 at 700 W draws 32 x (0.7 + 0.575) = 40.8 kW against its 50 kW PDU x 0.8 = 40: over.
    assert (at_tdp["h"]["draw_kw"], at_tdp["h"]["limit_kw"], at_tdp["h"]["over"]) == ("40.800", "40.000", True)
    # An NVL72 rack at 1,200 W draws 120 kW against 132 x 0.8 = 105.6: over; capped to 1,000 W, exactly 105.6.
    assert (at_tdp["g"]["draw_kw"], at_tdp["g"]["over"]) == ("120.000", True)
    capped = tree(cap=["h100-sxm=600", "gb200-nvl72=1000"])
    assert (capped["h"]["draw_kw"], capped["h"]["over"]) == ("37.600", False)
    assert (capped["g"]["draw_kw"], capped["g"]["limit_kw"], capped["g"]["over"]) == ("105.600", "105.600", False)


HALL = "halls: [{name: hall-a, mw: 0.2, blocks: [h]}]"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("blocks: [h]", "blocks: [nowhere]"), "hall hall-a: no block group 'nowhere'"),
        ((HALL, "halls: [{name: a, mw: 1, blocks: [h]}, {name: b, mw: 1, blocks: [h]}]"), "h is in halls a and b"),
        ((HALL, "halls: [{name: a, mw: 1, blocks: [h]}, {name: a, mw: 1, blocks: [g]}]"), "hall names must be unique"),
        (("{7: 1.4, 8: 1.35}", "{13: 1.4}"), "pue_by_month"),
        (("{7: 1.4, 8: 1.35}", "{7: 0.9}"), "pue_by_month"),
        (("rack_pdu_kw: 50", "rack_pdu_kw: 0"), "rack_pdu_kw: Input should be greater than 0"),
        (("rack_pdu_kw: 50", "rack_pdu_kw: .nan"), "rack_pdu_kw: Input should be a finite number"),
        (("mw: 0.2", "mw: -1"), "mw: Input should be greater than 0"),
    ],
)  # fmt: skip
def test_bad_power_trees_are_refused(change: tuple[str, str], message: str) -> None:
    with pytest.raises(NeocloudError, match=message):
        parse_fleet(TREE.replace(*change), "tree.yaml", default_catalog())
