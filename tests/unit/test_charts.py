"""The dashboard's SVG bar charts (api/charts.py): bars from zero, up or down, in proportion."""

from __future__ import annotations

import re
from decimal import Decimal

from neocloud.api.charts import HEIGHT, bar_chart


def _bars(svg: str) -> dict[str, tuple[float, float]]:
    """Each bar's top and bottom, by its label."""
    found = re.findall(r'<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"[^>]*><title>([^:]+):', svg)
    return {label: (float(y), float(y) + float(h)) for y, h, label in found}


def test_bars_rise_and_fall_from_one_zero_line_in_proportion() -> None:
    bars = _bars(bar_chart([("keep", Decimal(-50)), ("rent", Decimal(150)), ("none", Decimal(0))], "value"))
    zero = bars["keep"][0]
    assert bars["rent"][1] == zero == bars["none"][0] == bars["none"][1]  # all from the same zero
    up, down = zero - bars["rent"][0], bars["keep"][1] - zero
    assert abs(up / down - 3) < 0.01  # 150 against 50
    assert bars["keep"][1] <= HEIGHT


def test_labels_and_values_are_escaped_and_nothing_divides_by_zero() -> None:
    svg = bar_chart([("<script>", Decimal(0))], "a <b> title")
    assert "<script>" not in svg
    assert "&lt;script&gt;: 0.00" in svg
    assert bar_chart([], "empty").startswith("<svg")
