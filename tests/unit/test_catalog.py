from decimal import Decimal
from pathlib import Path

import pytest

from neocloud.adapters.specs import load_catalog, parse_catalog
from neocloud.core.catalog import Catalog
from neocloud.core.errors import InvalidSpec, UnknownGpuModel

REFERENCE_MODELS = ["a100-80gb-sxm", "h100-sxm", "h200-sxm", "b200-sxm", "gb200-nvl72", "mi300x", "mi325x"]


def test_packaged_catalog_has_the_reference_models_with_prices(catalog: Catalog) -> None:
    for name in REFERENCE_MODELS:
        model = catalog[name]
        assert model.tdp_w > 0
        assert model.mem_gb > 0
        assert model.it_kw_per_gpu > 0
        assert model.bf16_tflops is not None
        assert model.list_price_usd is not None
        prices = (model.spot_usd_per_hr, model.reserved_1y_usd_per_hr, model.on_demand_usd_per_hr)
        assert all(p is not None for p in prices)
        assert prices[0] < prices[1] < prices[2]  # type: ignore[operator]
    h100 = catalog["h100-sxm"]
    assert (h100.tdp_w, h100.nvlink_domain, h100.on_demand_usd_per_hr) == (700, 8, Decimal("3.00"))
    assert catalog["gb200-nvl72"].nvlink_domain == 72


def test_every_packaged_value_names_its_source() -> None:
    text = (Path(__file__).parents[2] / "src/neocloud/core/data/catalog.yaml").read_text()
    for line in text.splitlines():
        stripped = line.strip()
        if ":" in stripped and not stripped.startswith(
            ("#", "- name", "schema_version", "as_of", "currency", "gpu_models", "vendor", "aliases")
        ):
            assert "# source:" in line, line


def test_trace_aliases_resolve(catalog: Catalog) -> None:
    assert catalog["A100-SXM4-80GB"].name == "a100-80gb-sxm"
    assert catalog["V100M32"].name == "v100"
    assert "H800" in catalog
    with pytest.raises(UnknownGpuModel, match="unknown GPU model 'Z9000'"):
        catalog["Z9000"]


def test_user_yaml_overrides_fields_and_adds_models(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "gpu_models:\n"
        "  - name: h100-sxm\n    on_demand_usd_per_hr: 2.10\n"
        "  - {name: x1, vendor: acme, tdp_w: 500, mem_gb: 96, nvlink_domain: 4, gpus_per_node: 4,"
        " it_kw_per_gpu: 0.8}\n"
    )
    catalog = load_catalog(path)
    assert catalog["h100-sxm"].on_demand_usd_per_hr == Decimal("2.10")
    assert catalog["h100-sxm"].tdp_w == 700  # untouched fields stay
    assert catalog["x1"].spot_usd_per_hr is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("gpu_models: [\n", "malformed YAML"),
        ("gpu_models:\n  - {name: h100-sxm, tdp_w: -1}\n", "gpu_models[0].tdp_w: Input should be greater than 0"),
        ("gpu_models:\n  - {name: new, vendor: x}\n", "gpu_models[0].tdp_w: Field required"),
        ("gpu_models:\n  - {name: h100-sxm, colour: red}\n", "gpu_models[0].colour: Extra inputs are not permitted"),
        ("models: []\n", "gpu_models: Field required"),
    ],
)
def test_bad_catalog_yaml_names_file_and_path(catalog: Catalog, text: str, fragment: str) -> None:
    with pytest.raises(InvalidSpec) as refused:
        parse_catalog(text, "mine.yaml", base=catalog)
    assert refused.value.message.startswith("mine.yaml:")
    assert fragment in refused.value.message
    assert refused.value.code == "invalid_spec"
