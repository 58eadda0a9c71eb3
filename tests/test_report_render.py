"""The analysis report's two renderings, on a report built here: the PDF's text is real text
in its language, the workbook's figures are the report's numbers."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pypdfium2 as pdfium
import pytest
from openpyxl import load_workbook

from pledge_registry.reports.model import AlertLine, Chart, KeyFigure, Report, Series, Table, Texts
from pledge_registry.reports.pdf_render import render_pdf
from pledge_registry.reports.workbook import render_workbook

MADE = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)

ZH_TEXTS = Texts(
    key_figures="主要指标", measure="指标", this_period="本期", previous_period="上期", year_before="去年同期",
    change="变化", charts="趋势与分布", tables="分类统计", alerts="异常预警", no_alerts="本期无异常预警。",
    alert_columns=("对象", "镇", "周", "件数", "基线", "p 值", "处置"),
    page="第 {page} 页", method="说明：按受理时间统计。",
)
EN_TEXTS = Texts(
    key_figures="Key figures", measure="Measure", this_period="This period", previous_period="Previous",
    year_before="A year earlier", change="Change", charts="Trends", tables="Breakdowns", alerts="Spike alerts",
    no_alerts="No spike alert in this period.",
    alert_columns=("Subject", "Town", "Weeks", "Count", "Baseline", "p", "Outcome"),
    page="Page {page}", method="Counted by the day a request was received.",
)


def make_report(language: str = "zh", **overrides) -> Report:
    zh = language == "zh"
    fields = {
        "language": language,
        "title": "2026年11月消费投诉研判报告" if zh else "Consumer complaints analysis, November 2026",
        "period_code": "2026-11",
        "period_label": "2026年11月" if zh else "November 2026",
        "bureau": "太仓市市场监督管理局",
        "made_line": "示例工作人员 制作于 2026-12-01 09:30" if zh else "Made by Demo Staff, 2026-12-01 09:30",
        "texts": ZH_TEXTS if zh else EN_TEXTS,
        "key_figures": (
            KeyFigure("投诉件数" if zh else "Complaints", 1234, 1100, 980, "件" if zh else ""),
            KeyFigure("满意率" if zh else "Satisfied", 93.2, 92.5, None, "%", 1),
            KeyFigure("挽回金额" if zh else "Recovered", 45678.5, 40000, 39000, "元" if zh else "yuan", 2),
        ),
        "charts": (
            Chart("每周投诉件数" if zh else "Complaints per week", ("11-02", "11-09", "11-16", "11-23"),
                  (Series("本期" if zh else "This period", (300, 310, 290, 334)),
                   Series("去年同期" if zh else "A year earlier", (250, 240, 245, 245)))),
        ),
        "tables": (
            Table("按行业" if zh else "By industry",
                  ("行业" if zh else "Industry", "件数" if zh else "Count", "满意率"),
                  (("餐饮服务", 400, 91.5), ("=HYPERLINK(\"x\")", 12, None), ("家居装饰", 322, 88.0))),
        ),
        "alerts": (
            AlertLine("预付卡 · 沙溪镇" if zh else "Prepaid cards · Shaxi", "沙溪镇" if zh else "Shaxi",
                      "2026-11-09 – 2026-11-16", 42, 9.5, 0.00001,
                      "已确认（张三，2026-11-18）：已约谈经营者" if zh
                      else "Acknowledged by Zhang San: owner summoned"),
        ),
    }
    fields.update(overrides)
    return Report(**fields)


def pdf_text(data: bytes) -> str:
    document = pdfium.PdfDocument(data)
    return "\n".join(page.get_textpage().get_text_range() for page in document)


def squeezed(text: str) -> str:
    """Without white space: table cells wrap, and extraction puts a line break there."""
    return "".join(text.split())


def contains(text: str, *parts: str) -> bool:
    return all(squeezed(part) in squeezed(text) for part in parts)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_pdf_text_holds_the_period_the_figures_and_the_alert(language):
    report = make_report(language)
    text = pdf_text(render_pdf(report, MADE))
    assert report.title in text
    assert report.made_line in text
    assert contains(text, report.alerts[0].subject, report.alerts[0].outcome, report.alerts[0].weeks)
    assert "1,234" in text
    assert report.charts[0].title in text
    assert contains(text, str(report.tables[0].rows[0][0]))


def test_pdf_in_english_has_no_chinese_of_its_own():
    report = make_report("en", bureau="Taicang Market Supervision Bureau",
                         tables=(Table("By industry", ("Industry", "Count"), (("Catering", 400),)),))
    text = pdf_text(render_pdf(report, MADE))
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text)
    assert "Page 1" in text


def test_pdf_says_when_there_is_no_alert():
    text = pdf_text(render_pdf(make_report(alerts=()), MADE))
    assert ZH_TEXTS.no_alerts in text


def test_pdf_is_the_same_bytes_for_the_same_report():
    report = make_report()
    assert render_pdf(report, MADE) == render_pdf(report, MADE)


def test_long_tables_flow_onto_more_pages():
    rows = tuple((f"商户{i:03d}", i, 90.0) for i in range(120))
    report = make_report(tables=(Table("按商户", ("商户", "件数", "满意率"), rows),))
    data = render_pdf(report, MADE)
    document = pdfium.PdfDocument(data)
    assert len(document) >= 3
    text = pdf_text(data)
    assert "商户000" in text and "商户119" in text and "第 3 页" in text


def test_workbook_figures_equal_the_report():
    report = make_report()
    book = load_workbook(io.BytesIO(render_workbook(report, MADE)))
    summary = book[ZH_TEXTS.key_figures]
    rows = [row for row in summary.iter_rows(values_only=True) if row[0] in {f.label for f in report.key_figures}]
    assert [(r[0], r[1], r[2], r[4], r[6]) for r in rows] == [
        (f.label, f.value, f.previous, f.year_before, f.unit) for f in report.key_figures]
    assert rows[0][3] == pytest.approx((1234 - 1100) / 1100)

    weekly = book[report.charts[0].title]
    data = [row for row in weekly.iter_rows(values_only=True) if row[0] in report.charts[0].categories]
    assert [row[1:3] for row in data] == list(zip(*(s.values for s in report.charts[0].series), strict=True))

    industry = book[report.tables[0].title]
    assert list(industry.iter_rows(values_only=True))[-3:] == list(report.tables[0].rows)
    formula_like = industry.cell(industry.max_row - 1, 1)
    assert formula_like.data_type == "s"  # stored as text, never a formula

    alerts = book[ZH_TEXTS.alerts]
    last = list(alerts.iter_rows(values_only=True))[-1]
    assert last[:6] == ("预付卡 · 沙溪镇", "沙溪镇", "2026-11-09 – 2026-11-16", 42, 9.5, 0.00001)


def test_workbook_sheet_names_are_legal_and_distinct():
    long_title = "按商业区/商圈统计的投诉件数与满意率以及挽回金额（不含咨询）"
    report = make_report(tables=(Table(long_title, ("a", "b"), (("x", 1),)),
                                 Table(long_title, ("a", "b"), (("y", 2),))))
    names = load_workbook(io.BytesIO(render_workbook(report, MADE))).sheetnames
    assert len(names) == len(set(names))
    assert all(len(n) <= 31 and "/" not in n for n in names)
