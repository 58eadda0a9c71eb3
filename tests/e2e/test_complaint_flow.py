"""Issue #3 end to end: a shopper scans a badge on a phone, files a complaint with a photo
and follows it with the tracking code; staff accept and forward it; the merchant answers
with a refund; the shopper accepts (the case closes as resolved) and answers the survey
whose link the closing text message carries."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.helpers import DESK, PASSWORD, PHONE, browser_page, click_and_wait, sign_in

pytestmark = pytest.mark.e2e

SHOPPER_PHONE = "13912348866"
MASKED_PHONE = "139****8866"


def test_complaint_from_scan_to_survey(live_app: Any, browser: Any, phone: Any, desk: Any,
                                       tmp_path: Any) -> None:
    from PIL import Image

    from pledge_registry.auth.services import create_user
    from pledge_registry.extensions import db
    from pledge_registry.localtime import local_today
    from pledge_registry.models import Complaint, ComplaintPhoto, OutboxMessage, Role, SurveyResponse
    from tests.factories import make_merchant, make_pledge

    base = live_app.config["BASE_URL"]
    with live_app.app_context():
        create_user("officer@bureau.test", PASSWORD, "王科长", role=Role.STAFF)
        create_user("colleague@bureau.test", PASSWORD, "赵科员", role=Role.STAFF)
        owner = create_user("owner@shop.test", PASSWORD, "李老板")
        merchant = make_merchant(owner=owner, shop_name="鑫华电器", category="appliances")
        make_pledge(merchant, "genuine")
        badge_code = merchant.badge_code

    # A shopper scans the badge and follows the complain link.
    phone.goto(f"{base}/m/{badge_code}")
    assert "verdict-valid" in (phone.locator(".verdict").get_attribute("class") or "")
    click_and_wait(phone, f"a[href$='/m/{badge_code}/complain']")
    assert "鑫华电器" in phone.locator("h1").inner_text()

    # The complaint form, with a photo of the receipt.
    photo = tmp_path / "receipt.jpg"
    Image.new("RGB", (64, 48), (200, 40, 40)).save(photo, "JPEG")
    assert phone.locator("input[name=request_type][value=complaint]").is_checked()  # the default
    phone.fill("input[name=item]", "电热水壶")
    phone.fill("input[name=purchased_on]", (local_today() - timedelta(days=3)).isoformat())
    phone.fill("input[name=amount]", "199")
    phone.select_option("select[name=problem_type]", "quality")
    phone.fill("textarea[name=account]", "买回家第二天就漏水，店家不肯退货。")
    phone.check("input[name=wants][value=refund]")
    phone.set_input_files("input[name=photos]", str(photo))
    phone.fill("input[name=shopper_name]", "陈小姐")
    phone.fill("input[name=shopper_phone]", SHOPPER_PHONE)
    phone.check("input[name=consent]")
    click_and_wait(phone, "form input[name=submit]")

    # The confirmation shows the tracking code and the masked number.
    assert phone.url.endswith("/complain/done"), phone.url
    assert "您的案件已提交" in phone.content()
    code = phone.locator(".tracking-code strong").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2}", code), code
    assert MASKED_PHONE in phone.content() and SHOPPER_PHONE not in phone.content()

    with live_app.app_context():
        complaint = db.session.scalar(
            select(Complaint).where(Complaint.tracking_code == code.replace("-", "")))
        assert complaint is not None and complaint.status == "received"
        complaint_id = complaint.id
        photos = db.session.scalars(
            select(ComplaintPhoto).where(ComplaintPhoto.complaint_id == complaint_id)).all()
        assert [(p.width, p.height) for p in photos] == [(64, 48)]

    # The same phone follows the case from the tracking page, code + last 4 digits.
    phone.goto(f"{base}/track")
    phone.fill("input[name=tracking_code]", code.lower())  # typed in lower case: normalised
    phone.fill("input[name=phone_last4]", SHOPPER_PHONE[-4:])
    click_and_wait(phone, "form input[name=submit]")
    assert re.search(r"/track/[0-9A-Z]{14}$", phone.url), phone.url
    case_url = phone.url
    assert "您提交了案件" in phone.locator("ol.timeline").inner_text()
    assert phone.locator("a[href*='/complaints/photos/']").count() == 1

    # An officer accepts the case (and so becomes its handler), then forwards it to the shop.
    sign_in(desk, base, "officer@bureau.test", r"/staff/")
    desk.goto(f"{base}/staff/complaints/{complaint_id}")
    assert desk.locator(".phone").inner_text() == MASKED_PHONE  # masked until an audited reveal
    click_and_wait(desk, f"form[action$='/{complaint_id}/accept'] button[type=submit]")
    assert "王科长" in desk.content()  # the officer column now names the handler
    click_and_wait(desk, f"form[action$='/{complaint_id}/forward'] button[type=submit]")
    assert desk.locator(f"form[action$='/{complaint_id}/forward']").count() == 0

    # Another officer, not assigned, sees the shopper's number and name masked only.
    with browser_page(browser, **DESK) as colleague:
        sign_in(colleague, base, "colleague@bureau.test", r"/staff/")
        colleague.goto(f"{base}/staff/complaints/{complaint_id}")
        assert colleague.locator(".phone").inner_text() == MASKED_PHONE
        assert "只有承办人可以查看完整号码。" in colleague.content()
        assert SHOPPER_PHONE not in colleague.content()
        assert "陈小姐" not in colleague.content() and "陈*" in colleague.content()
        assert colleague.locator(f"form[action$='/{complaint_id}/reveal']").count() == 0

    # The merchant, on its own phone, answers with a refund proposal.
    with browser_page(browser, **PHONE) as shop:
        sign_in(shop, base, "owner@shop.test", r"/portal")
        shop.goto(f"{base}/portal/complaints/{complaint_id}")
        assert MASKED_PHONE in shop.content() and SHOPPER_PHONE not in shop.content()
        assert "买回家第二天就漏水" in shop.content()
        shop.fill("textarea[name=reply]", "很抱歉，同意全额退款，请带上水壶到店办理。")
        shop.select_option("select[name=proposal_kind]", "refund")
        shop.fill("input[name=proposal_amount]", "199")
        click_and_wait(shop, f"form[action$='/{complaint_id}/reply'] input[name=submit]")
        assert "¥199.00" in shop.content()

    # The shopper sees the answer on the tracking page and accepts it: closed as resolved.
    phone.goto(case_url)
    assert "同意全额退款" in phone.content()
    assert "门店已答复" in phone.locator("ol.timeline").inner_text()
    click_and_wait(phone, "form input[name=accept]")
    assert "已办结：和解解决" in phone.locator("ol.timeline").inner_text()
    assert phone.locator("form[action$='/respond']").count() == 0

    with live_app.app_context():
        closed = db.session.get(Complaint, complaint_id)
        assert (closed.status, closed.outcome, closed.amount_recovered_cents) == ("closed", "resolved", 19900)
        # The text message that asks for the rating carries the survey link.
        message = db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.template == "survey", OutboxMessage.recipient == SHOPPER_PHONE))
        assert message is not None
        survey_url = message.context["survey_url"]
    assert survey_url.startswith(f"{base}/survey/")

    # The shopper opens the link from the message and answers "satisfied".
    phone.goto(survey_url)
    assert "鑫华电器" in phone.content()
    phone.check("input[name=answer][value=satisfied]")
    phone.fill("textarea[name=comment]", "处理很快，谢谢")
    click_and_wait(phone, "form input[name=submit]")
    assert "谢谢" in phone.locator("h1").inner_text()
    with live_app.app_context():
        answers = db.session.scalars(
            select(SurveyResponse).where(SurveyResponse.complaint_id == complaint_id)).all()
        assert [(a.answer, a.comment) for a in answers] == [("satisfied", "处理很快，谢谢")]

    # Opening the link again says it has been answered; nothing more is recorded.
    phone.goto(survey_url)
    assert "此调查已填写过" in phone.locator("h1").inner_text()
    assert phone.locator("input[name=answer]").count() == 0
    with live_app.app_context():
        assert len(db.session.scalars(select(SurveyResponse).where(
            SurveyResponse.complaint_id == complaint_id)).all()) == 1
