"""A site's power under caps through the API and the client, by hand on the test fleet (128 H100 in a 10 MW
site at PUE 1.25), and every bad request refused with its reason."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from neocloud.adapters.specs import default_catalog, parse_fleet
from neocloud.app import billing, services
from neocloud.app import power as power_cases
from neocloud.cli.main import app
from neocloud.core.errors import InvalidState, NeocloudError

from ..builders import JUNE, TIGHT, cli_on, snapshot, tight_site


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
        (("pue: 1.2", "pue: 1.2\n    ramp_mw_per_s: 0"), "ramp_mw_per_s: Input should be greater than 0"),
        (("pue: 1.2", "pue: 1.2\n    ramp_mw_per_s: -5"), "ramp_mw_per_s: Input should be greater than 0"),
        (("pue: 1.2", "pue: 1.2\n    ramp_mw_per_s: .nan"), "ramp_mw_per_s: Input should be a finite number"),
        (("pue: 1.2", "pue: 1.2\n    ramp_mw_per_s: 1e9"), "ramp_mw_per_s: Input should be less than or equal"),
        (("pue: 1.2", "pue: 1.2\n    ramp_mw_per_s: fast"), "ramp_mw_per_s"),
        (("pue: 1.2", "pue: 1.2\n    fall_mw_per_s: 0"), "fall_mw_per_s: Input should be greater than 0"),
        (("pue: 1.2", "pue: 1.2\n    fall_mw_per_s: .inf"), "fall_mw_per_s: Input should be a finite number"),
        (("pue: 1.2", "pue: 1.2\n    fall_mw_per_s: [1]"), "fall_mw_per_s"),
    ],
)  # fmt: skip
def test_bad_power_trees_are_refused(change: tuple[str, str], message: str) -> None:
    with pytest.raises(NeocloudError, match=message):
        parse_fleet(TREE.replace(*change), "tree.yaml", default_catalog())


# --- curtailment ------------------------------------------------------------------------------------------


def test_a_curtailment_of_25_percent_for_3_hours_by_hand(api: Any) -> None:
    ids = tight_site(api.ctx)
    start = JUNE + 9 * 86_400 + 12 * 3600
    d = api(
        "GET", "/sites/p/curtailment", "operator", params={"depth": "0.25", "start": start, "end": start + 3 * 3600}
    )
    by_id = {a["contract_id"]: a for a in d["actions"]}
    # At TDP each GPU draws (0.7 + 0.575) x 1.1 x 1.25 = 1.753125 kW: 128 of them 224.4 kW against 150 left.
    assert (d["limit_kw"], d["draw_kw"]) == ("150.000", "224.400")
    # 74.4 kW to cut. The spot work's 32 GPUs capped to 200 W save 32 x 500 W x 1.375 = 22 kW; stopping it
    # saves the 34.1 kW it still draws; 18.3 kW remain. Reserved A (signed first) is capped by 278 W:
    # ceil(18.3 / (48 x 0.001375)) = 278, to 422 W, saving 18.348 kW; B is untouched.
    assert (by_id[ids["spot"]]["action"], by_id[ids["spot"]]["after_kw"]) == ("stopped", "0.000")
    assert (by_id[ids["a"]]["cap_w"], by_id[ids["a"]]["after_kw"]) == (422, "65.802")
    assert by_id[ids["b"]]["action"] == "untouched"
    assert (d["after_kw"], d["shortfall_kw"]) == ("149.952", "0.000")
    # A lost 18.348 / 84.15 of its power for 3 of June's 720 hours: available 99.909 % of the month, below its
    # 99.99 %: 10 % of its month, 48 GPUs x 720 h x $2.40 = $82,944, is credited. B's 99 % still holds.
    assert (by_id[ids["a"]]["credit_usd"], by_id[ids["b"]]["credit_usd"]) == ("8294.40", "0.00")
    assert d["credits_usd"] == "8294.40"


@pytest.mark.parametrize(
    ("params", "status", "reason"),
    [
        ({"depth": "0", "start": JUNE, "end": JUNE + 3600}, 422, "depth"),
        ({"depth": "1.5", "start": JUNE, "end": JUNE + 3600}, 422, "depth"),
        ({"depth": "nan", "start": JUNE, "end": JUNE + 3600}, 422, "depth"),
        ({"depth": "0.25", "start": JUNE, "end": JUNE}, 422, "ends after it starts"),
        ({"depth": "0.25", "start": JUNE, "end": JUNE + 40 * 86_400}, 422, "within one month"),
        ({"depth": "0.25", "start": -1, "end": JUNE}, 422, "start"),
        ({"depth": "0.25", "start": JUNE}, 422, "end"),
    ],
)
def test_bad_drills_are_refused(api: Any, params: dict[str, Any], status: int, reason: str) -> None:
    tight_site(api.ctx)
    assert reason in str(api("GET", "/sites/p/curtailment", "operator", status, params=params)["error"])


def test_drills_are_for_operators_on_sites_with_a_budget(api: Any) -> None:
    window = {"depth": "0.25", "start": JUNE, "end": JUNE + 3600}
    api("GET", "/sites/s1/curtailment", "lab", 403, params=window)
    assert api("GET", "/sites/nowhere/curtailment", "operator", 404, params=window)["error"]["code"] == "not_found"
    with api.ctx.uow() as uow:
        services.add_sites(
            uow,
            parse_fleet(TIGHT.replace("    power_mw: 0.2\n", "").replace(": p", ": q"), "q.yaml", api.ctx.catalog),
            api.ctx.catalog,
        )
    assert "no power budget" in api("GET", "/sites/q/curtailment", "operator", 422, params=window)["error"]["message"]


def test_the_drill_command_on_colossus_1(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'drill.db'}"
    run = cli_on(url)
    run("init")
    run("tenant", "add", "frontier-lab")
    run("tenant", "add", "research", "--internal")
    sign = ["contract", "sign", "--start", "2027-01-01", "--term", "365d"]
    run(*sign, "--tenant", "frontier-lab", "--pool", "colossus-1/h100-sxm", "--gpus", "100000", "--sla", "0.999")
    run(*sign, "--tenant", "research", "--pool", "colossus-1/h200-sxm", "--gpus", "50000", "--kind", "internal")
    drill = ["power", "curtail", "--site", "colossus-1", "--start", "2027-07-15T14:00", "--end", "+3h"]
    d = json.loads(run(*drill, "--depth", "0.25", "--json"))
    # 150,000 Hopper GPUs at 1.683 kW draw 252,450 kW against 225,000: 27,450 kW to cut, from the internal work
    # first: ceil(27,450 / (50,000 x 1.1 x 1.2 / 1000)) = 416 W off its 700, to 284 W. The lease is untouched.
    by_kind = {a["kind"]: a for a in d["actions"]}
    assert (by_kind["internal"]["action"], by_kind["reserved"]["action"]) == ("capped to 284 W", "untouched")
    assert (d["draw_kw"], d["limit_kw"], d["credits_usd"]) == ("252450.000", "225000.000", "0.00")
    text = run(*drill, "--depth", "0.5")
    assert "capped to 561 W" in text  # half the feed: the internal work stopped, the lease capped
    assert "research" in text  # tenants by name


# --- a curtailment applied ---------------------------------------------------------------------------------

CUT = JUNE + 9 * 86_400 + 12 * 3600  # June 10th, 12:00 to 15:00


def test_an_applied_curtailment_is_recorded_and_its_incident_credits_what_the_drill_said(api: Any) -> None:
    ids = tight_site(api.ctx)
    window = {"depth": "0.25", "start": CUT, "end": CUT + 3 * 3600}
    drilled = api("GET", "/sites/p/curtailment", "operator", params=window)
    applied = api("POST", "/sites/p/curtailments", "operator", 201, json={**window, "description": "grid notice"})
    assert applied["drill"] == drilled  # what the drill showed is what was applied
    event = applied["curtailment"]
    assert (event["site"], event["depth"], event["start"], event["end"]) == ("p", "0.25", CUT, CUT + 3 * 3600)
    assert event["description"] == "grid notice"
    # Reserved A lost 18.348 of its 84.15 kW for 3 hours: the GPUs that power stands for, ceil(48 x 0.218) =
    # 11, are out of service over the event. B was untouched: one incident.
    [incident_id] = applied["incidents"]
    listed = api("GET", "/incidents", "operator", params={"period": "2030-06"})["items"]
    [incident] = [i for i in listed if i["id"] == incident_id]
    assert (incident["contract_id"], incident["gpus"], incident["start"], incident["end"]) == (
        ids["a"], 11, CUT, CUT + 3 * 3600
    )  # fmt: skip
    assert event["id"] in incident["description"]
    shown = api("GET", "/sites/p/curtailments", "lab", params={"start": JUNE, "end": JUNE + 30 * 86_400})
    assert [e["id"] for e in shown] == [event["id"]]
    # The invoice measures availability from the incident: 1 - 11 x 3 h / (48 x 720 h) = 99.905 %, below A's
    # 99.99 %: 10 % of its month, $82,944, credited: $8,294.40, as the drill said.
    with api.ctx.uow() as uow:
        invoice = billing.generate_invoice(uow, api.ctx.catalog, "lab", "2030-06", JUNE + 31 * 86_400, api.ctx.new_id)
    credits = [line for line in invoice.lines if line.kind == "sla-credit"]
    assert [(c.contract_id, c.amount) for c in credits] == [(ids["a"], Decimal("-8294.40"))]
    assert drilled["credits_usd"] == "8294.40"


def test_curtailments_that_clash_or_are_over_or_fall_in_an_invoiced_month_are_refused(api: Any) -> None:
    tight_site(api.ctx)
    window = {"depth": "0.25", "start": CUT, "end": CUT + 3 * 3600}
    first = api("POST", "/sites/p/curtailments", "operator", 201, json=window)["curtailment"]
    before = snapshot(api.ctx)
    clash = api("POST", "/sites/p/curtailments", "operator", 409, json={**window, "start": CUT + 3599})["error"]
    assert (clash["code"], clash["details"]["curtailment"]) == ("curtailment_overlaps", first["id"])
    over = {"depth": "0.5", "start": 1_700_000_000, "end": 1_700_003_600}  # 2023: long over
    assert "has not ended yet" in api("POST", "/sites/p/curtailments", "operator", 422, json=over)["error"]["message"]
    api("POST", "/sites/p/curtailments", "lab", 403, json={**window, "start": CUT + 4 * 3600})
    assert api("POST", "/sites/nowhere/curtailments", "operator", 404, json=window)["error"]["code"] == "not_found"
    assert snapshot(api.ctx) == before
    # Back to back is no clash.
    api(
        "POST",
        "/sites/p/curtailments",
        "operator",
        201,
        json={**window, "start": CUT + 3 * 3600, "end": CUT + 4 * 3600},
    )
    with api.ctx.uow() as uow:  # once June is invoiced, its incidents can no longer change
        billing.generate_invoice(uow, api.ctx.catalog, "lab", "2030-06", JUNE + 31 * 86_400, api.ctx.new_id)
    closed = api(
        "POST",
        "/sites/p/curtailments",
        "operator",
        409,
        json={**window, "start": CUT + 86_400, "end": CUT + 86_400 + 3600},
    )
    assert (closed["error"]["code"], closed["error"]["details"]["period"]) == ("invalid_state", "2030-06")
    assert "already invoiced" in closed["error"]["message"]


def _invoiced_credits(api: Any) -> list[tuple[str | None, Decimal]]:
    """June's SLA credits on the lab's invoice."""
    with api.ctx.uow() as uow:
        invoice = billing.generate_invoice(uow, api.ctx.catalog, "lab", "2030-06", JUNE + 31 * 86_400, api.ctx.new_id)
    return [(line.contract_id, line.amount) for line in invoice.lines if line.kind == "sla-credit"]


def _june_incidents(api: Any) -> list[tuple[str, int, int]]:
    return [
        (i["id"], i["start"], i["end"])
        for i in api("GET", "/incidents", "operator", params={"period": "2030-06"})["items"]
    ]


def test_a_curtailment_lifted_early_shortens_its_incident_and_takes_its_credit_back(api: Any) -> None:
    tight_site(api.ctx)
    window = {"depth": "0.25", "start": CUT, "end": CUT + 3 * 3600}
    applied = api("POST", "/sites/p/curtailments", "operator", 201, json=window)
    event, [incident] = applied["curtailment"], applied["incidents"]
    assert event["incidents"] == [incident]
    # The grid operator lifts it 1,000 s in: A's 11 GPUs were out for 1,000 s, not 3 hours.
    lifted = api("POST", f"/sites/p/curtailments/{event['id']}/lift", "operator", 200, json={"end": CUT + 1000})
    assert (lifted["withdrawn"], lifted["curtailment"]["end"], lifted["curtailment"]["incidents"]) == (
        False, CUT + 1000, [incident]
    )  # fmt: skip
    assert _june_incidents(api) == [(incident, CUT, CUT + 1000)]
    shown = api("GET", "/sites/p/curtailments", "operator", params={"start": JUNE, "end": JUNE + 30 * 86_400})
    assert [(e["id"], e["end"]) for e in shown] == [(event["id"], CUT + 1000)]
    # Availability 1 - 11 x 1,000 s / (48 GPUs x 720 h) = 99.9912 %: A's 99.99 % holds, so its $8,294.40 credit
    # (3 hours: 99.905 %) is gone.
    assert _invoiced_credits(api) == []


def test_a_curtailment_lifted_before_it_begins_is_withdrawn_with_its_incidents(api: Any) -> None:
    tight_site(api.ctx)
    applied = api(
        "POST", "/sites/p/curtailments", "operator", 201, json={"depth": "0.25", "start": CUT, "end": CUT + 3 * 3600}
    )
    event = applied["curtailment"]
    assert len(_june_incidents(api)) == 1
    lifted = api("POST", f"/sites/p/curtailments/{event['id']}/lift", "operator", 200, json={})  # now: before June 2030
    assert (lifted["withdrawn"], lifted["curtailment"]["id"], lifted["curtailment"]["end"]) == (
        True,
        event["id"],
        CUT + 3 * 3600,
    )
    assert api("GET", "/sites/p/curtailments", "operator", params={"start": JUNE, "end": JUNE + 30 * 86_400}) == []
    assert _june_incidents(api) == []  # so June's invoice credits nothing for it
    # The same window may be applied again.
    api("POST", "/sites/p/curtailments", "operator", 201, json={"depth": "0.5", "start": CUT, "end": CUT + 3600})


@pytest.mark.parametrize(
    ("who", "path", "body", "status", "reason"),
    [
        ("lab", "p/curtailments/{id}", {}, 403, "forbidden"),
        ("operator", "p/curtailments/cur-nope", {}, 404, "unknown curtailment"),
        ("operator", "s1/curtailments/{id}", {}, 404, "unknown curtailment"),
        ("operator", "nowhere/curtailments/{id}", {}, 404, "unknown curtailment"),
        ("operator", "p/curtailments/{id}", {"end": 1_700_000_000}, 422, "between now"),
        ("operator", "p/curtailments/{id}", {"end": CUT + 3 * 3600}, 422, "between now"),
        ("operator", "p/curtailments/{id}", {"end": CUT + 10**9}, 422, "between now"),
        ("operator", "p/curtailments/{id}", {"end": 10**30}, 422, "end"),
        ("operator", "p/curtailments/{id}", {"end": "soon"}, 422, "end"),
        ("operator", "p/curtailments/{id}", {"end": 1.5}, 422, "end"),
        ("operator", "p/curtailments/{id}", {"end": True}, 422, "end"),
        ("operator", "p/curtailments/{id}", {"why": "grid"}, 422, "why"),
        ("operator", "p/curtailments/a%00b", {}, 422, "curtailment_id"),
    ],
)  # fmt: skip
def test_bad_lifts_are_refused_and_nothing_is_written(
    api: Any, who: str, path: str, body: dict[str, Any], status: int, reason: str
) -> None:
    tight_site(api.ctx)
    event = api(
        "POST", "/sites/p/curtailments", "operator", 201, json={"depth": "0.25", "start": CUT, "end": CUT + 3 * 3600}
    )
    before = snapshot(api.ctx)
    refused = api("POST", f"/sites/{path.format(id=event['curtailment']['id'])}/lift", who, status, json=body)
    assert reason in json.dumps(refused["error"])
    assert snapshot(api.ctx) == before


def test_a_curtailment_over_or_in_an_invoiced_month_cannot_be_lifted(api: Any) -> None:
    tight_site(api.ctx)
    event = api(
        "POST", "/sites/p/curtailments", "operator", 201, json={"depth": "0.25", "start": CUT, "end": CUT + 3 * 3600}
    )
    cut_id = event["curtailment"]["id"]
    _invoiced_credits(api)  # June invoiced: its incidents can no longer change
    before = snapshot(api.ctx)
    closed = api("POST", f"/sites/p/curtailments/{cut_id}/lift", "operator", 409, json={"end": CUT + 60})["error"]
    assert (closed["code"], closed["details"]["period"]) == ("invalid_state", "2030-06")
    with pytest.raises(InvalidState, match="is over"), api.ctx.uow() as uow:  # the clock past its end
        power_cases.lift_curtailment(uow, "p", cut_id, None, CUT + 3 * 3600)
    assert snapshot(api.ctx) == before


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"depth": "nan"}, "depth"),
        ({"depth": "Infinity"}, "depth"),
        ({"depth": "1e400"}, "depth"),
        ({"depth": "0"}, "depth"),
        ({"depth": "-0.25"}, "depth"),
        ({"depth": "1.0000001"}, "depth"),
        ({"depth": True}, "depth"),
        ({"depth": ["0.25"]}, "depth"),
        ({"depth": "0.25\x00"}, "depth"),
        ({"start": "soon"}, "start"),
        ({"start": 1.5}, "start"),
        ({"end": 10**30}, "end"),
        ({"end": CUT}, "ends after it starts"),
        ({"end": CUT + 40 * 86_400}, "within one month"),
        ({"description": "a\x07b"}, "description"),
        ({"description": "x" * 100_000}, "description"),
        ({"why": "grid"}, "why"),
    ],
)  # fmt: skip
def test_bad_curtailments_are_refused_and_nothing_is_written(api: Any, change: dict[str, Any], reason: str) -> None:
    tight_site(api.ctx)
    before = snapshot(api.ctx)
    body = {"depth": "0.25", "start": CUT, "end": CUT + 3 * 3600, **change}
    refused = api("POST", "/sites/p/curtailments", "operator", 422, json=body)
    assert reason in json.dumps(refused["error"])
    assert snapshot(api.ctx) == before


def test_the_curtail_command_applies_and_lists(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'apply.db'}"
    run = cli_on(url)
    run("init")
    run("tenant", "add", "frontier-lab")
    sign = ["contract", "sign", "--start", "2027-01-01", "--term", "365d", "--tenant", "frontier-lab"]
    run(*sign, "--pool", "colossus-1/h100-sxm", "--gpus", "100000", "--sla", "0.999")
    cut = ["power", "curtail", "--site", "colossus-1", "--start", "2027-07-15T14:00", "--end", "+3h", "--depth", "0.5"]
    text = run(*cut, "--apply", "--description", "grid operator notice")
    assert "applied as cur" in text
    shown = json.loads(run("power", "curtailments", "colossus-1", "--start", "2027-07-01", "--end", "+30d", "--json"))
    assert [(e["depth"], e["description"]) for e in shown] == [("0.5", "grid operator notice")]
    refused = run(*cut, "--apply", expect_failure=True)
    assert "already curtailed" in refused
    early = run("power", "lift", shown[0]["id"], "--site", "colossus-1", "--at", "2020-01-01", expect_failure=True)
    assert "between now" in early
    lifted = run("power", "lift", shown[0]["id"], "--site", "colossus-1")
    assert f"{shown[0]['id']} withdrawn before it began" in lifted
    assert (
        json.loads(run("power", "curtailments", "colossus-1", "--start", "2027-07-01", "--end", "+30d", "--json")) == []
    )
    again = json.loads(run("power", "lift", shown[0]["id"], "--site", "colossus-1", "--json", expect_failure=True))
    assert again["error"]["code"] == "not_found"
