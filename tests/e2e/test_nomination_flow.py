"""Issue #4 end to end: a merchant with a good record applies on its phone to be named a
demonstration unit; the town officer recommends it, a city officer names it; the title and
the grade show on its scan page, and "why" opens the factor-by-factor breakdown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.helpers import DESK, PASSWORD, browser_page, click_and_wait, sign_in

pytestmark = pytest.mark.e2e

FACTORS = ("pledges", "complaint_volume", "on_time", "resolution", "satisfaction", "inspections", "penalties")


def _decide(page: Any, base: str, nomination_id: int, step: str, reason: str) -> None:
    page.goto(f"{base}/staff/nominations/{nomination_id}")
    form = f"form[action$='/{nomination_id}/{step}']"
    page.fill(f"{form} textarea[name=reason]", reason)
    click_and_wait(page, f"{form} input[name=approve]")


def test_demonstration_unit_named_and_shown_on_scan(live_app: Any, browser: Any, phone: Any, desk: Any,
                                                    tmp_path: Any) -> None:
    from pledge_registry.auth.services import create_user
    from pledge_registry.extensions import db
    from pledge_registry.models import Nomination, Role
    from pledge_registry.ratings import services as ratings
    from tests.factories import make_merchant, make_pledge

    base = live_app.config["BASE_URL"]
    with live_app.app_context():
        owner = create_user("owner@shop.test", PASSWORD, "周老板")
        merchant = make_merchant(owner=owner, shop_name="南洋百货", legal_name="太仓市南洋百货有限公司",
                                 category="clothing")
        since = datetime.now(UTC) - timedelta(days=200)  # both pledges in force for 6+ months
        make_pledge(merchant, "genuine", activated_at=since)
        make_pledge(merchant, "returns", activated_at=since)
        ratings.update_merchant(merchant.id, "test")
        db.session.commit()
        rating = ratings.current_rating(merchant.id)
        assert rating is not None and rating.grade == "A", rating
        town_officer = create_user("town@bureau.test", PASSWORD, "城厢镇孙科员", role=Role.STAFF)
        town_officer.town_id = merchant.town_id
        db.session.commit()
        create_user("city@bureau.test", PASSWORD, "市局钱科长", role=Role.STAFF)  # no town: city level
        merchant_id, badge_code = merchant.id, merchant.badge_code

    # Before: the scan page shows the grade but no title.
    phone.goto(f"{base}/m/{badge_code}")
    assert phone.locator(".unit-title").count() == 0

    # The merchant signs in on its phone and applies to be a demonstration unit.
    sign_in(phone, base, "owner@shop.test", r"/portal")
    phone.goto(f"{base}/portal/shops/{merchant_id}/nominations")
    checklist = phone.locator("section[aria-labelledby=check-demonstration] li.rule")
    assert checklist.count() == 5
    assert phone.locator("section[aria-labelledby=check-demonstration] li.rule-fail").count() == 0
    phone.select_option("select[name=level]", "demonstration")
    phone.fill("textarea[name=statement]", "坚持正品经营，七天无理由退货，投诉当天响应。")
    click_and_wait(phone, "form[action$='/nominations'] input[name=submit]")
    assert phone.locator(".nomination-submitted").count() == 1
    assert "示范单位" in phone.locator(".nomination-submitted h3").inner_text()

    with live_app.app_context():
        nomination = db.session.scalar(select(Nomination).where(Nomination.merchant_id == merchant_id))
        assert nomination is not None and nomination.level == "demonstration"
        nomination_id = nomination.id

    # Step 1: the officer of the shop's town finds it in the queue and recommends it.
    sign_in(desk, base, "town@bureau.test", r"/staff/")
    desk.goto(f"{base}/staff/nominations")
    click_and_wait(desk, f"a[href$='/staff/nominations/{nomination_id}']")
    assert "坚持正品经营" in desk.content()
    assert desk.locator(f"form[action$='/{nomination_id}/city']").count() == 0  # not the town's step
    _decide(desk, base, nomination_id, "town", "近两年无投诉，两项承诺均在有效期内，推荐。")
    assert desk.locator(".nstatus-town_approved").count() == 1

    # Step 2: a city officer (no town) names the unit.
    with browser_page(browser, **DESK) as city:
        sign_in(city, base, "city@bureau.test", r"/staff/")
        _decide(city, base, nomination_id, "city", "经复核符合示范单位条件，予以命名。")
        assert city.locator(".nstatus-approved").count() == 1

    # The merchant sees both reasons on its nominations page.
    phone.goto(f"{base}/portal/shops/{merchant_id}/nominations")
    named = phone.locator(".nomination-approved")
    assert named.count() == 1
    assert "推荐" in named.inner_text() and "予以命名" in named.inner_text()

    # A shopper scans the badge: the title banner and the grade, and "why" explains the grade.
    phone.goto(f"{base}/m/{badge_code}")
    banner = phone.locator(".unit-title-demonstration")
    assert "放心消费示范单位" in banner.inner_text()
    assert phone.locator(".rating .grade-A").count() == 1
    phone.screenshot(path=str(tmp_path / "scan-demonstration.png"), full_page=True)
    click_and_wait(phone, f".rating a[href$='/m/{badge_code}/rating']")
    assert "南洋百货" in phone.locator("h1").inner_text()
    assert phone.locator("table.factors .grade-A, .grade-A").count() >= 1
    rows = phone.locator("table.factors tbody tr")
    assert [rows.nth(i).get_attribute("id") for i in range(rows.count())] == [f"factor-{k}" for k in FACTORS]
    for key in FACTORS:
        assert phone.locator(f"#factor-{key} th").inner_text().strip()  # every factor has a label
    phone.screenshot(path=str(tmp_path / "rating-breakdown.png"), full_page=True)
