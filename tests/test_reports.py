"""Analysis reports: `flask report build` and the staff button make and archive a month's or
a quarter's report (a PDF whose text is real text, a workbook with the figures), in the
maker's language; the archive and its downloads are for staff only."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from openpyxl import load_workbook

from pledge_registry.analysis import spike_rule
from pledge_registry.extensions import db
from pledge_registry.models import AnalysisReport, AnalysisReportFile, SpikeAlert, Town
from pledge_registry.paging import PER_PAGE
from tests.factories import make_complaint, make_merchant, make_station, make_user
from tests.helpers import count_rows, form_post, login, missing_id, text

TZ = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 10, tzinfo=TZ).astimezone(UTC)


@pytest.fixture
def complaints(app):
    """November 2026: 3 complaints (one answered satisfied, 12.50 yuan recovered), 1 report;
    October: 2 complaints; November 2025: 1."""
    shop = make_merchant(category="food")
    other = make_merchant(category="clothing")
    make_complaint(shop, at(11, 3), survey="satisfied", amount_recovered_cents=1250)
    make_complaint(shop, at(11, 10))
    make_complaint(other, at(11, 24), problem_type="price")
    make_complaint(shop, at(11, 5), request_type="report")
    make_complaint(shop, at(10, 8))
    make_complaint(shop, at(10, 20))
    make_complaint(shop, at(11, 12, year=2025))
    return shop


def pdf_text(data: bytes) -> str:
    return "".join("".join(page.get_textpage().get_text_range().split()) for page in pdfium.PdfDocument(data))


def stored(report: AnalysisReport, kind: str) -> bytes:
    return db.session.get(AnalysisReportFile, (report.id, kind)).content


def only_report() -> AnalysisReport:
    return db.session.scalars(sa.select(AnalysisReport)).one()


def key_figures(workbook: bytes) -> dict[str, tuple]:
    sheet = load_workbook(io.BytesIO(workbook)).worksheets[0]
    return {row[0]: row[1:] for row in sheet.iter_rows(values_only=True) if row and row[0]}


def test_command_builds_and_archives_a_month(app, runner, complaints):
    result = runner.invoke(args=["report", "build", "--month", "2026-11"])
    assert result.exit_code == 0, result.output
    report = only_report()
    assert (report.period_kind, str(report.period_start), str(report.period_end)) == ("month", "2026-11-01",
                                                                                     "2026-11-30")
    assert report.language == "zh" and report.made_by_id is None
    assert f"#{report.id}" in result.output

    text_of_pdf = pdf_text(stored(report, "pdf"))
    assert "2026年11月" in text_of_pdf
    assert "消费投诉研判报告" in text_of_pdf
    assert "投诉件数" in text_of_pdf

    figures = key_figures(stored(report, "xlsx"))
    # this period, the period before, the change, a year earlier, the change, the unit
    assert figures["投诉件数"][:5] == (3, 2, pytest.approx(0.5), 1, pytest.approx(2.0))
    assert figures["举报件数"][:2] == (1, 0)
    assert figures["消费者满意率"][0] == 100.0
    assert figures["挽回金额"][0] == 12.5 and figures["挽回金额"][5] == "元"


def test_the_report_breaks_the_complaints_down_by_channel(app, runner, complaints):
    make_complaint(complaints, at(11, 18), channel="12345", channel_ref="H-1", consent_method="channel")
    assert runner.invoke(args=["report", "build", "--month", "2026-11"]).exit_code == 0
    text_of_pdf = pdf_text(stored(only_report(), "pdf"))
    assert "按渠道" in text_of_pdf and "12345" in text_of_pdf


def test_command_builds_a_quarter_in_english(app, runner, complaints):
    result = runner.invoke(args=["report", "build", "--quarter", "2026Q4", "--lang", "en"])
    assert result.exit_code == 0, result.output
    report = only_report()
    assert (report.period_kind, str(report.period_start), str(report.period_end), report.language) == (
        "quarter", "2026-10-01", "2026-12-31", "en")
    text_of_pdf = pdf_text(stored(report, "pdf"))
    assert "Q42026" in text_of_pdf and "Complaintsreceived" in text_of_pdf
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text_of_pdf)  # shop names aside, none here
    assert key_figures(stored(report, "xlsx"))["Complaints received"][0] == 5


def test_command_records_the_staff_member_it_is_given(app, runner, complaints):
    staff = make_user("staff", display_name="李四")
    result = runner.invoke(args=["report", "build", "--month", "2026-11", "--by", staff.login_name])
    assert result.exit_code == 0, result.output
    assert only_report().made_by_id == staff.id
    assert "李四" in pdf_text(stored(only_report(), "pdf"))


def _alerts_of_november() -> tuple[SpikeAlert, SpikeAlert]:
    """An open alert and an acknowledged one whose weeks fall in November 2026, and one of
    October that the November report leaves out."""
    town = db.session.scalar(sa.select(Town).order_by(Town.id))
    officer = make_user("staff", display_name="张三", town_id=town.id)

    def alert(dimension: str, key: str, first: date, last: date, **fields: Any) -> SpikeAlert:
        row = SpikeAlert(town_id=town.id, dimension=dimension, key=key, week_start=first, last_week=last,
                         observed=14, baseline_mean=2.25, p_value=2e-6, series=[2] * 8 + [14],
                         rule=spike_rule.RULE, **fields)
        db.session.add(row)
        return row

    opened = alert("category", "food", date(2026, 11, 16), date(2026, 11, 23))
    acknowledged = alert("problem_type", "price", date(2026, 10, 26), date(2026, 11, 2), status="acknowledged",
                         acknowledged_by_id=officer.id, acknowledged_at=at(11, 4), note="已约谈商户，规范明码标价")
    alert("merchant", "999", date(2026, 10, 5), date(2026, 10, 12))
    db.session.commit()
    return opened, acknowledged


def test_the_report_lists_the_periods_alerts_with_their_outcome(app, runner, complaints):
    _alerts_of_november()
    result = runner.invoke(args=["report", "build", "--month", "2026-11"])
    assert result.exit_code == 0, result.output
    assert "2 alert(s)" in result.output
    report = only_report()
    assert report.alert_count == 2
    text_of_pdf = pdf_text(stored(report, "pdf"))
    assert "异常预警" in text_of_pdf and "本期无异常预警" not in text_of_pdf
    assert "行业：" in text_of_pdf and "问题类型：" in text_of_pdf
    assert "2026-11-16–2026-11-29" in text_of_pdf
    assert "张三于2026-11-04确认：已约谈商户，规范明码标价" in text_of_pdf
    assert "待确认" in text_of_pdf
    assert "999" not in text_of_pdf.split("异常预警")[-1]             # October's alert is not listed
    sheet = load_workbook(io.BytesIO(stored(report, "xlsx")))["异常预警"]
    rows = [r for r in sheet.iter_rows(values_only=True) if r and r[0]]
    outcomes = [r[6] for r in rows[2:]]
    assert outcomes == ["张三 于 2026-11-04 确认：已约谈商户，规范明码标价", "待确认"]
    assert rows[2][3] == 14 and rows[2][4] == 2.25


def test_the_english_report_words_the_alerts_in_english(app, runner, complaints):
    _alerts_of_november()
    result = runner.invoke(args=["report", "build", "--month", "2026-11", "--lang", "en"])
    assert result.exit_code == 0, result.output
    text_of_pdf = pdf_text(stored(only_report(), "pdf"))
    assert "Industry:Foodandcatering" in text_of_pdf and "Problemtype:Price" in text_of_pdf
    assert "Acknowledgedby张三on2026-11-04:" in text_of_pdf and "Open" in text_of_pdf


def test_an_acknowledgement_after_the_report_was_made_is_not_in_it(app, complaints):
    from pledge_registry.reports import content
    from pledge_registry.reports.period import ReportPeriod

    _alerts_of_november()
    with force_locale("en"):
        early = content.gather(ReportPeriod.month(2026, 11), "en", None, at(11, 3))
    assert [a.outcome for a in early.alerts] == ["Open", "Open"]


@pytest.mark.parametrize("args", [
    [],
    ["--month", "2026-11", "--quarter", "2026Q4"],
    ["--month", "2026-13"],
    ["--month", "2026Q4"],
    ["--quarter", "2026-11"],
    ["--month", "2099-01"],
    ["--month", "2026-11", "--by", "nobody@example.test"],
    ["--month", "2026-11", "--lang", "fr"],
])
def test_command_refuses_what_names_no_report(app, runner, args):
    result = runner.invoke(args=["report", "build", *args])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert count_rows(AnalysisReport) == 0


def test_staff_button_makes_the_report_in_the_staff_members_language(app, client, complaints):
    staff = make_user("staff", display_name="Wang Wu")
    login(client, staff)
    client.set_cookie("lang", "en")
    response = form_post(client, "/staff/reports", {"period": "2026-11"})
    assert response.status_code == 302
    report = only_report()
    assert (report.language, report.made_by_id, str(report.period_start)) == ("en", staff.id, "2026-11-01")
    page = text(client.get(response.headers["Location"]))
    assert "November 2026" in page and "Wang Wu" in page
    pdf = client.get(f"/staff/reports/{report.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "November2026" in pdf_text(pdf.data)
    assert 'filename="analysis-report-2026-11-en-' in pdf.headers["Content-Disposition"]
    workbook = client.get(f"/staff/reports/{report.id}.xlsx")
    assert key_figures(workbook.data)["Complaints received"][0] == 3


def test_staff_button_refuses_a_period_it_does_not_offer(app, client):
    login(client, make_user("staff"))
    response = form_post(client, "/staff/reports", {"period": "2099-01"})
    assert response.status_code == 400
    assert count_rows(AnalysisReport) == 0


def _archived(count: int) -> list[AnalysisReport]:
    rows = [AnalysisReport(period_kind="month", period_start=datetime(2026, 1 + n % 11, 1).date(),
                           period_end=datetime(2026, 1 + n % 11, 28).date(), language="zh", title=f"报告{n}",
                           alert_count=0, pdf_size=1, workbook_size=1, made_at=at(11, 1 + n % 28))
            for n in range(count)]
    db.session.add_all(rows)
    db.session.flush()
    db.session.add_all([AnalysisReportFile(report_id=r.id, kind=kind, content=b"x")
                        for r in rows for kind in ("pdf", "xlsx")])
    db.session.commit()
    return rows


def test_archive_is_paged_newest_first(app, client):
    rows = _archived(PER_PAGE + 5)
    login(client, make_user("staff"))
    first = text(client.get("/staff/reports"))
    newest = max(rows, key=lambda r: (r.made_at, r.id))
    assert first.count('id="report-') == PER_PAGE
    assert first.split('id="report-')[1].startswith(f'{newest.id}"')
    assert 'rel="next"' in first
    next_url = first.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = text(client.get(next_url))
    assert second.count('id="report-') == 5
    assert not set(first.split('id="report-')[1:]) & set(second.split('id="report-')[1:])


@pytest.mark.parametrize("path", ["", "/{id}.pdf", "/{id}.xlsx"])
def test_archive_and_downloads_are_for_staff_only(app, client, path):
    report = _archived(1)[0]
    url = "/staff/reports" + path.format(id=report.id)
    assert client.get(url).status_code == 302                      # anonymous: to the login page
    login(client, make_user("merchant"))
    assert client.get(url).status_code == 403
    station_officer = make_user("station", station_id=make_station(make_merchant().area_id).id)
    other = app.test_client()
    login(other, station_officer)
    assert other.get(url).status_code == 403
    staff = app.test_client()
    login(staff, make_user("staff"))
    assert staff.get(url).status_code == 200


def test_missing_report_is_404(app, client):
    login(client, make_user("staff"))
    assert client.get(f"/staff/reports/{missing_id(AnalysisReport)}.pdf").status_code == 404


def test_demo_load_archives_last_months_report_in_both_languages(app, runner):
    result = runner.invoke(args=["demo", "load", "--merchants", "12"])
    assert result.exit_code == 0, result.output
    reports = db.session.scalars(sa.select(AnalysisReport)).all()
    assert sorted(r.language for r in reports) == ["en", "zh"]
    assert all(r.made_by is not None and r.made_by.login_name == "staff@demo.invalid" for r in reports)
