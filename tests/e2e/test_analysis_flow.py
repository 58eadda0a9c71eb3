"""Staff open the analysis dashboard in the desk browser: the charts are drawn (inline SVG,
styled from the site's stylesheet, Chinese text), the browser reports no CSP violation, and
a chart's table opens behind it."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from tests.e2e.helpers import PASSWORD, sign_in

pytestmark = pytest.mark.e2e


def test_staff_see_the_dashboard_charts(live_app: Any, desk: Any) -> None:
    from pledge_registry.auth.services import create_user
    from pledge_registry.localtime import local_today
    from pledge_registry.models import Role
    from tests.factories import make_complaint, make_merchant

    base = live_app.config["BASE_URL"]
    with live_app.app_context():
        shop = make_merchant(shop_name="沙溪古镇茶食店", category="food")
        first = datetime.combine(local_today().replace(day=1), time(), UTC)
        for k in range(3):
            make_complaint(shop, first + timedelta(hours=k + 2))
        create_user("trends@bureau.test", PASSWORD, "研判科吴科员", role=Role.STAFF)

    violations: list[str] = []
    desk.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    sign_in(desk, base, "trends@bureau.test", r"/staff/")
    desk.goto(f"{base}/staff/analysis/")
    chart = desk.locator("#fig-received ~ .chart-frame svg")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    # Styled by charts.css (the plot background is white, not the default black fill).
    fill = desk.evaluate("getComputedStyle(document.querySelector('svg.pygal-chart .plot > .background')).fill")
    assert fill in ("rgb(255, 255, 255)", "#ffffff")
    assert "收到的诉求件数" in chart.locator("text.title").first.text_content()
    desk.locator("#fig-breakdown ~ details summary").click()
    assert "食品" in desk.locator("#fig-breakdown ~ details table").inner_text()
    assert violations == []
