"""The demo city's planted rise, end to end in the desk browser: `flask demo load` leaves it
as an open spike alert; an officer of its town opens it from the alert list, reads its
evidence, acknowledges it with a note; then makes the report of the month the rise began in
and downloads it: the PDF's text holds the month and the alert with that note."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
import sqlalchemy as sa

from tests.e2e.helpers import PASSWORD, click_and_wait, sign_in

pytestmark = pytest.mark.e2e

NOTE = "已约谈高新区三家装修公司，规范合同条款"


def test_an_officer_acknowledges_the_planted_alert_and_reports_it(live_app: Any, desk: Any) -> None:
    from pledge_registry.auth.services import create_user
    from pledge_registry.extensions import db
    from pledge_registry.models import Role, SpikeAlert, Town
    from pledge_registry.reports.labels import period_label
    from pledge_registry.reports.period import ReportPeriod

    base = live_app.config["BASE_URL"]
    with live_app.app_context():
        result = live_app.test_cli_runner().invoke(args=["demo", "load", "--merchants", "60"])
        assert result.exit_code == 0, result.output
        town = db.session.scalar(sa.select(Town).where(Town.name == "高新区"))
        officer = create_user("gaoxin-analyst@bureau.test", PASSWORD, "高新区研判专员", role=Role.STAFF)
        officer.town_id = town.id
        db.session.commit()
        planted = db.session.scalar(sa.select(SpikeAlert).where(
            SpikeAlert.town_id == town.id, SpikeAlert.dimension == "problem_type",
            SpikeAlert.key == "contract_terms"))
        assert planted is not None and planted.status == "open", "the demo's planted rise raised no open alert"
        alert_id, first_week = planted.id, planted.week_start

    sign_in(desk, base, "gaoxin-analyst@bureau.test", r"/staff/")
    desk.goto(f"{base}/staff/analysis/alerts")
    desk.locator(f"#alert-{alert_id} a").click()
    desk.wait_for_url(f"**/staff/analysis/alerts/{alert_id}")
    assert "问题类型" in desk.locator("h1").inner_text()
    evidence = desk.locator("table").first
    assert evidence.locator("caption").count() == 1
    assert evidence.locator("tbody tr").count() >= 9          # eight weeks of baseline, then the rise
    assert "泊松" in desk.locator("#rule-title + p").inner_text()

    # A note is required (spaces are no note): the form comes back with the error.
    desk.fill("textarea[name=note]", "   ")
    click_and_wait(desk, "form[action$='/acknowledge'] input[type=submit]")
    assert desk.locator(".errors").count() == 1
    desk.fill("textarea[name=note]", NOTE)
    click_and_wait(desk, "form[action$='/acknowledge'] input[type=submit]")
    assert desk.locator("#alert-status").inner_text() == "已确认"
    assert NOTE in desk.locator("#ack-title ~ blockquote").inner_text()

    period = ReportPeriod.month(first_week.year, first_week.month)
    desk.goto(f"{base}/staff/reports")
    desk.select_option("select[name=period]", period.code)
    click_and_wait(desk, "form[action$='/staff/reports'] input[name=submit]")
    with desk.expect_download() as download:
        desk.locator("tr[id^=report-]").first.locator("a[href$='.pdf']").click()
    data = Path(download.value.path()).read_bytes()
    text = "".join("".join(page.get_textpage().get_text_range().split()) for page in pdfium.PdfDocument(data))
    with live_app.test_request_context():
        month = period_label(period)
    assert month in text
    assert "问题类型：合同" in text and first_week.isoformat() in text
    assert "".join(NOTE.split()) in text and "高新区研判专员" in text
