"""Charts drawn on the server as inline SVG (pygal), for pages that work without JavaScript,
print, and pass the site's Content-Security-Policy.

    line_chart(title, x_labels, series, description="") -> str
    bar_chart(title, x_labels, series, description="", horizontal=False) -> str
    stylesheet() -> str

`series` is a sequence of (name, values) pairs, one value per x label (None: no value). Each
function returns an `<svg>` element to put in a page as it is (mark it safe in a template):

- accessible: role="img", a <title> and a <desc> named by aria-labelledby; the page shows the
  same figures as a table next to it;
- no script: pygal's config script and tooltip are removed (nothing runs them: the CSP
  allows no inline script);
- no inline CSS: the CSP allows styles only from the site, so the chart's <style> and style
  attributes are removed, and the same rules are served from the site by `stylesheet()`
  (scoped to `svg.pygal-chart`); presentation attributes (font-family, fill) are kept so a
  chart stays readable on its own;
- Chinese text: the font list starts with Noto Sans CJK SC (the bureau's PDFs use it too).

Pure: no Flask, no database.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from functools import cache
from itertools import count

import pygal
from pygal.style import Style

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

FONT_FAMILY = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'
# Enough colours for the ten keys a trend series shows, plus a year-earlier line.
COLOURS = ("#1f5fa8", "#c0392b", "#2e8b57", "#d68910", "#7d3c98", "#117a8b", "#a04000", "#566573",
           "#b7950b", "#1abc9c", "#e74c3c", "#34495e")

STYLE = Style(
    font_family=FONT_FAMILY, label_font_family=FONT_FAMILY, major_label_font_family=FONT_FAMILY,
    value_font_family=FONT_FAMILY, title_font_family=FONT_FAMILY, legend_font_family=FONT_FAMILY,
    tooltip_font_family=FONT_FAMILY, no_data_font_family=FONT_FAMILY,
    background="transparent", plot_background="#ffffff", foreground="#222222",
    foreground_strong="#111111", foreground_subtle="#999999", colors=COLOURS,
    title_font_size=18, label_font_size=12, major_label_font_size=12, legend_font_size=13,
    no_data_font_size=24,
)

_CONFIG = {
    "js": [], "disable_xml_declaration": True, "style": STYLE, "width": 800, "height": 360,
    "legend_at_bottom": True, "legend_at_bottom_columns": 3, "truncate_legend": 40, "truncate_label": 20,
    "print_values": False, "margin": 16, "margin_bottom": 28,
}

Series = Sequence[tuple[str, Sequence[float | int | None]]]
_ids = count(1)


# A dot per value only up to this many values in a chart (a year by week, one line; two
# lines of it are drawn as lines alone): each dot is an element with its value inside, and
# a year of weeks for ten merchants (520 dots) took six times as long to draw (and five
# times the bytes) as its lines alone; the table beside a chart has every value.
DOTS_UP_TO = 60


def line_chart(title: str, x_labels: Sequence[str], series: Series, description: str = "",
               no_data: str = "No data") -> str:
    """A line per series over the x labels (periods); thinned labels when there are many."""
    chart = pygal.Line(title=title, x_labels=list(x_labels), no_data_text=no_data,
                       show_dots=len(x_labels) * max(1, len(series)) <= DOTS_UP_TO, dots_size=2.5,
                       x_labels_major_count=12,
                       show_minor_x_labels=len(x_labels) <= 16, x_label_rotation=30 if len(x_labels) > 16 else 0,
                       **_CONFIG)
    return _render(chart, title, description, series)


def bar_chart(title: str, x_labels: Sequence[str], series: Series, description: str = "",
              horizontal: bool = False, no_data: str = "No data") -> str:
    """Bars per x label (keys), one colour per series; horizontal for long names."""
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    chart = kind(title=title, x_labels=list(x_labels), no_data_text=no_data,
                 x_label_rotation=0 if horizontal or len(x_labels) <= 8 else 30, **_CONFIG)
    return _render(chart, title, description, series)


def _render(chart: pygal.graph.graph.Graph, title: str, description: str, series: Series) -> str:
    for name, values in series:
        chart.add(name, [None if v is None else float(v) for v in values])
    return _clean(chart.render(is_unicode=True), title, description)


def _tag(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2] if isinstance(element.tag, str) else ""


def _clean(svg: str, title: str, description: str) -> str:
    """The rendered SVG without scripts, inline styles and tooltips; with a title, a
    description and the font as presentation attributes."""
    root = ET.fromstring(svg)          # the parser drops pygal's comments
    for parent in list(root.iter()):
        for child in list(parent):
            tag = _tag(child)
            if tag in ("script", "style") or (tag == "g" and "tooltip" in child.get("class", "").split()):
                parent.remove(child)
    for element in root.iter():
        element.attrib.pop("style", None)
    for old in [c for c in root if _tag(c) in ("title", "desc")]:
        root.remove(old)
    number = next(_ids)
    title_id, desc_id = f"chart-title-{number}", f"chart-desc-{number}"
    title_element = ET.Element(f"{{{SVG_NS}}}title", {"id": title_id})
    title_element.text = title
    desc_element = ET.Element(f"{{{SVG_NS}}}desc", {"id": desc_id})
    desc_element.text = description or title
    root.insert(0, desc_element)
    root.insert(0, title_element)
    root.set("id", f"chart-{number}")
    root.set("role", "img")
    root.set("aria-labelledby", f"{title_id} {desc_id}")
    root.set("font-family", FONT_FAMILY)
    root.set("preserveAspectRatio", "xMidYMid meet")
    return ET.tostring(root, encoding="unicode")


@cache
def stylesheet() -> str:
    """pygal's CSS for every chart, scoped to `svg.pygal-chart` (served as a file)."""
    chart = pygal.Line(**_CONFIG)  # the rules do not depend on the kind of chart
    for k in range(len(COLOURS)):
        chart.add(str(k), [1])
    svg = chart.render(is_unicode=True)
    found = re.search(r"<style[^>]*>(.*?)</style>", svg, re.S)
    css = found.group(1) if found else ""
    css = css.replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&")
    return re.sub(r"#chart-[0-9a-f-]{36}", "svg.pygal-chart", css) + (
        "\nsvg.pygal-chart{width:100%;height:auto;max-width:800px}\n")
