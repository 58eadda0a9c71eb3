"""Staff make last month's analysis report from the archive page in the desk browser and
download it: the PDF's text holds the month and the archive names who made it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest

from tests.e2e.helpers import PASSWORD, click_and_wait, sign_in

pytestmark = pytest.mark.e2e


def test_staff_make_and_download_a_monthly_report(live_app: Any, desk: Any) -> None:
    from pledge_registry.auth.services import create_user
    from pledge_registry.localtime import local_today
    from pledge_registry.models import Role
    from pledge_registry.reports.labels import period_label
    from pledge_registry.reports.period import ReportPeriod
    from tests.factories import make_complaint, make_merchant

    base = live_app.config["BASE_URL"]
    today = local_today()
    last_month = ReportPeriod.month(today.year, today.month).previous()
    with live_app.app_context():
        shop = make_merchant(shop_name="沙溪古镇茶食店")
        make_complaint(shop, datetime.combine(last_month.start, datetime.min.time(), UTC) + timedelta(days=3))
        create_user("analyst@bureau.test", PASSWORD, "研判科周科员", role=Role.STAFF)

    sign_in(desk, base, "analyst@bureau.test", r"/staff/")
    desk.goto(f"{base}/staff/reports")
    assert desk.locator("select[name=period]").input_value() == last_month.code  # the default
    click_and_wait(desk, "form[action$='/staff/reports'] input[name=submit]")
    row = desk.locator("tr[id^=report-]").first
    assert "研判科周科员" in row.inner_text()

    with desk.expect_download() as download:
        row.locator("a[href$='.pdf']").click()
    data = Path(download.value.path()).read_bytes()
    text = "".join("".join(page.get_textpage().get_text_range().split()) for page in pdfium.PdfDocument(data))
    with live_app.test_request_context():
        month = period_label(last_month)
    assert month in text and "投诉件数" in text
