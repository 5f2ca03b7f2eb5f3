from decimal import Decimal

import pytest

from neocloud.adapters.specs import load_fleet, parse_fleet
from neocloud.core.catalog import Catalog
from neocloud.core.errors import InvalidSpec, PowerBudgetExceeded, UnknownGpuModel


def test_colossus_1_matches_the_published_site(catalog: Catalog) -> None:
    [site] = load_fleet("colossus-1", catalog)
    assert site.gpus_by_model() == {"gb200-nvl72": 20_016, "h100-sxm": 150_016, "h200-sxm": 50_176}
    assert 220_000 <= site.gpus <= 221_000
    # Hopper arrays are 512 GPUs (8 racks x 8 nodes x 8); NVL72 racks are 72 GPUs (18 trays x 4).
    hopper = site.blocks[0]
    assert hopper.racks * hopper.nodes_per_rack * hopper.node.gpus == 512
    gb200 = site.blocks[2]
    assert gb200.nodes_per_rack * gb200.node.gpus == 72
    # The reference catalog's own power check gives ~288 MW at PUE 1.2; the budget is 300 MW.
    demand = site.facility_power_mw(catalog)
    assert Decimal("285") < demand < Decimal("290")
    assert [p.name for p in site.pools()] == ["colossus-1/gb200-nvl72", "colossus-1/h100-sxm", "colossus-1/h200-sxm"]


def test_nodes_expand_the_topology(catalog: Catalog) -> None:
    [site] = load_fleet("colossus-1", catalog)
    nodes = list(site.nodes())
    assert len(nodes) == 293 * 64 + 98 * 64 + 278 * 18
    assert sum(n.gpus for n in nodes) == site.gpus
    assert nodes[0].name == "h100-array-000-r00-n00"
    assert len({n.name for n in nodes}) == len(nodes)


SITE = """
sites:
  - name: s1
    power_mw: {power}
    pue: 1.2
    pool_by_block: {by_block}
    blocks:
      - name: b
        count: 2
        racks: 2
        nodes_per_rack: {nodes}
        node: {{gpu_model: {model}, gpus: {gpus}}}
"""


def site_yaml(
    power: str = "10", model: str = "h100-sxm", gpus: int = 8, nodes: int = 8, by_block: str = "false"
) -> str:
    return SITE.format(power=power, model=model, gpus=gpus, nodes=nodes, by_block=by_block)


def test_power_budget_is_enforced_with_a_precise_message(catalog: Catalog) -> None:
    # 2 x 2 x 8 x 8 = 256 H100 x 1.031 kW x 1.2 = 0.317 MW
    [site] = parse_fleet(site_yaml(power="0.32"), "f.yaml", catalog)
    assert site.gpus == 256
    with pytest.raises(PowerBudgetExceeded) as refused:
        parse_fleet(site_yaml(power="0.3"), "f.yaml", catalog)
    message = refused.value.message
    assert "f.yaml: sites[0]: site s1 needs 0.3 MW" in message
    assert "budget is 0.3 MW" in message
    assert refused.value.details["demand_mw"] == "0.317"


def test_pools_can_split_per_block(catalog: Catalog) -> None:
    [site] = parse_fleet(site_yaml(by_block="true"), "f.yaml", catalog)
    assert [(p.name, p.gpus) for p in site.pools()] == [("s1/h100-sxm/b-000", 128), ("s1/h100-sxm/b-001", 128)]


@pytest.mark.parametrize(
    ("text", "error", "fragment"),
    [
        (site_yaml(model="z100"), UnknownGpuModel, "unknown GPU model 'z100'"),
        (site_yaml(gpus=-8), InvalidSpec, "f.yaml: sites[0].blocks[0].node.gpus: Input should be greater than 0"),
        (site_yaml(power="lots"), InvalidSpec, "f.yaml: sites[0].power_mw: Input should be a valid decimal"),
        (site_yaml(model="gb200-nvl72", gpus=4, nodes=10), InvalidSpec, "not a whole number of 72-GPU NVLink"),
        ("sites: [}", InvalidSpec, "f.yaml: line 1, column 9: malformed YAML"),
        ("sites: []", InvalidSpec, "f.yaml: sites: List should have at least 1 item"),
    ],
)
def test_bad_fleet_specs_get_precise_errors(catalog: Catalog, text: str, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as refused:
        parse_fleet(text, "f.yaml", catalog)
    assert fragment in str(refused.value)


def test_a_node_is_found_by_its_name_alone(catalog: Catalog) -> None:
    [site] = load_fleet("colossus-1", catalog)
    every = list(site.nodes())
    assert all(site.node(n.name) == n for n in every)  # 30,028 nodes, each found from its name
    last = every[-1].name
    outside = ["h100-array-293-r00-n00", "h100-array-000-r08-n00", "h100-array-000-r00-n08"]  # past the last
    misspelt = ["", "nowhere", last + "0", last.replace("-n", "-n0"), "h100-array-0-r00-n00", "h100-array-000-r00-n-1"]
    for wrong in outside + misspelt:
        assert site.node(wrong) is None, wrong


NAMED = """
sites:
  - name: s1
    blocks:
      - {{name: b, count: 2, racks: 1, nodes_per_rack: 2, node: {{gpu_model: h100-sxm, gpus: 8}}, node_names: {names}}}
      - {{name: c, racks: 1, nodes_per_rack: 1, node: {{gpu_model: h100-sxm, gpus: 8}}}}
"""


def test_nodes_may_carry_a_workload_managers_names(catalog: Catalog) -> None:
    [site] = parse_fleet(NAMED.format(names="[gpu17, gpu18, gpu3, gpu4]"), "f.yaml", catalog)
    nodes = list(site.nodes())
    assert [(n.name, n.block, n.rack) for n in nodes] == [
        ("gpu17", "b-000", "b-000-r00"),
        ("gpu18", "b-000", "b-000-r00"),
        ("gpu3", "b-001", "b-001-r00"),
        ("gpu4", "b-001", "b-001-r00"),
        ("c-000-r00-n00", "c-000", "c-000-r00"),  # a group without names keeps the made ones
    ]
    assert all(site.node(n.name) == n for n in nodes)
    assert site.node("b-000-r00-n00") is None  # a named group's made names are not its nodes'


@pytest.mark.parametrize(
    ("names", "fragment"),
    [
        ("[gpu1, gpu2, gpu3]", "3 node names for 4 nodes"),
        ("[gpu1, gpu2, gpu3, gpu1]", "node names used twice: gpu1"),
        ("[gpu1, gpu2, gpu3, c-000-r00-n00]", "node names used twice: c-000-r00-n00"),
        ('[gpu1, gpu2, gpu3, "gpu\\x07"]', "node_names[3]: String should match pattern"),
        ("[gpu1, gpu2, gpu3, 4]", "node_names[3]: Input should be a valid string"),
        ("[gpu1, gpu2, gpu3, " + "x" * 65 + "]", "node_names[3]: String should have at most 64 characters"),
    ],
)
def test_bad_node_names_get_precise_errors(catalog: Catalog, names: str, fragment: str) -> None:
    with pytest.raises(InvalidSpec) as refused:
        parse_fleet(NAMED.format(names=names), "f.yaml", catalog)
    assert fragment in str(refused.value)
