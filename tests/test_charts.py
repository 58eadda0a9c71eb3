"""The chart module: valid SVG with a title and a description, no script, no inline CSS,
Chinese text kept, and a stylesheet scoped to the charts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pledge_registry.analysis import charts

NS = {"svg": charts.SVG_NS}


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)     # raises on anything that is not well-formed XML


@pytest.mark.parametrize("draw", [
    lambda: charts.line_chart("投诉件数，按月", ["2026-01", "2026-02", "2026-03"],
                              [("食品", [3, 5, None]), ("去年同期", [1, 2, 4])], "每月件数与去年同期"),
    lambda: charts.bar_chart("按行业", ["食品", "预付式消费"], [("本期", [4, 2]), ("上期", [1, 0])], "对比"),
    lambda: charts.bar_chart("按规模", ["老王面馆"], [("每店", [2.5])], "", horizontal=True),
])
def test_valid_accessible_svg_without_script_or_inline_style(draw):
    svg = draw()
    root = _parse(svg)
    assert root.tag == f"{{{charts.SVG_NS}}}svg"
    assert root.get("role") == "img" and "pygal-chart" in root.get("class", "")
    title, desc = root[0], root[1]
    assert title.tag.endswith("title") and title.text and desc.tag.endswith("desc") and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert "Noto Sans CJK SC" in root.get("font-family", "")
    for element in root.iter():
        assert not element.tag.endswith(("script", "style")), element.tag
        assert "style" not in element.attrib
        assert not any(k.startswith("on") for k in element.attrib)   # no event handlers
    assert "<script" not in svg and "javascript:" not in svg
    texts = " ".join(t.text or "" for t in root.iter(f"{{{charts.SVG_NS}}}text"))
    assert title.text in texts                                        # drawn, in Chinese


def test_series_values_are_drawn():
    svg = charts.line_chart("t", ["a", "b"], [("x", [1, 7])])
    values = [d.text for d in _parse(svg).iter(f"{{{charts.SVG_NS}}}desc") if d.get("class") == "value"]
    assert values == ["1", "7"]


def test_ids_differ_between_charts_of_one_page():
    a, b = _parse(charts.bar_chart("a", ["x"], [("s", [1])])), _parse(charts.bar_chart("b", ["x"], [("s", [1])]))
    assert a.get("id") != b.get("id") and a[0].get("id") != b[0].get("id")


def test_no_data():
    root = _parse(charts.bar_chart("空", [], [], no_data="暂无数据"))
    assert "暂无数据" in ET.tostring(root, encoding="unicode")


def test_text_is_escaped():
    svg = charts.bar_chart('<b>&"', ["<script>alert(1)</script>"], [("<i>", [1])])
    root = _parse(svg)
    assert root[0].text == '<b>&"' and "<script>" not in svg


def test_stylesheet_is_scoped():
    css = charts.stylesheet()
    assert "svg.pygal-chart" in css and "#chart-" not in css and "<" not in css.replace("&lt;", "")
    assert "Noto Sans CJK SC" in css
    assert ".color-0" in css and f".color-{len(charts.COLOURS) - 1}" in css


def test_a_chart_of_many_values_draws_lines_without_a_dot_each() -> None:
    labels = [f"W{i}" for i in range(52)]
    few = charts.line_chart("t", labels[:12], [("x", list(range(12))), ("y", list(range(12)))])
    many = charts.line_chart("t", labels, [(f"s{k}", list(range(52))) for k in range(10)])
    assert few.count('class="dot ') == 24
    assert many.count('class="dot ') == 0 and many.count('class="line reactive') == 10
