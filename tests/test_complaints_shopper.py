"""The shopper's side of complaints: filing from the scan page, tracking without an
account, answering the shop's proposal, withdrawing, the survey.

"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from pledge_registry.complaints import workflow
from pledge_registry.complaints.shopper_views import format_tracking_code
from pledge_registry.extensions import db
from pledge_registry.localtime import local_today
from pledge_registry.models import Complaint, ComplaintEvent, OutboxMessage, SurveyResponse
from tests.factories import make_merchant, make_user
from tests.helpers import (
    SHOPPER_NAME,
    SHOPPER_PHONE,
    complain_url,
    complaint_data,
    complaints,
    count_rows,
    csrf_token,
    csrf_token_in,
    english_browser,
    file_complaint,
    filed,
    form_post,
    idempotency_key_in,
    jpeg_upload,
    login,
    track,
)

pytestmark = pytest.mark.usefixtures("english")

_TRACKING = re.compile(r"\b([2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2})\b")


def to_merchant_answered(c: Complaint, proposal_kind: str | None = "refund", amount: int | None = 19950) -> None:
    """Walk a case through the officer's and the shop's steps to a proposal."""
    officer = make_user(role="staff")
    c = db.session.get(Complaint, c.id)
    workflow.accept(officer, c)
    workflow.forward(officer, c)
    workflow.merchant_answer(c.merchant.owner, c, "抱歉，可以退款。", proposal_kind, amount)


# --- the scan page and the form ------------------------------------------------------------


def test_scan_page_leads_to_the_complaint_form(client):
    merchant = make_merchant()
    page = client.get(f"/m/{merchant.badge_code}").get_data(as_text=True)
    assert f'href="{complain_url(merchant)}"' in page
    assert 'href="/track"' in page
    assert "12315" in page  # still there, as a secondary line


def test_form_has_unticked_consent_and_privacy_notice(client):
    """What for, who sees it, how long; the box unticked by default."""
    merchant = make_merchant()
    response = client.get(complain_url(merchant))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    consent = re.search(r'<input[^>]*name="consent"[^>]*>', page).group(0)
    assert "checked" not in consent
    assert "What it is for:" in page and "Who sees it:" in page and "How long it is kept:" in page
    assert "1095 days" in page  # the configured retention period
    assert 'multiple' in re.search(r'<input[^>]*name="photos"[^>]*>', page).group(0)
    assert merchant.shop_name in page
    assert idempotency_key_in(page), "the form carries an idempotency key"


def _own_values(page: str) -> tuple[str, str]:
    token, key = csrf_token_in(page), idempotency_key_in(page)
    assert token and key, page[:500]
    return token, key


def _form_of(page: str) -> str:
    return re.search(r"<form method=\"post\" action=\"/m/.*?</form>", page, re.S).group(0)


def test_the_blank_form_from_the_cache_is_the_full_render_with_this_requests_values(client, app):
    """shopper_views.blank_form_html renders the blank form once per language and day and
    fills in each request's CSRF token, idempotency key and action: every page must carry
    the form a direct render of the template gives with those values, and file."""
    from flask import render_template

    from pledge_registry.complaints.forms import ComplaintForm
    from pledge_registry.complaints.shopper_views import COMPLAIN_PAGE_MERCHANT

    first, second = make_merchant(), make_merchant()
    owner = make_user()
    shop_owner = english_browser(app)
    login(shop_owner, owner)  # a signed-in visitor gets the same form, with its own token
    pages = []
    for phone, merchant in ((english_browser(app), first), (english_browser(app), second), (shop_owner, first)):
        pages.append((phone, merchant, phone.get(complain_url(merchant)).get_data(as_text=True)))
    assert len(app.extensions["blank_complaint_forms"]) == 1  # rendered once, then kept
    for phone, merchant, page in pages:
        token, key = _own_values(page)
        with app.test_request_context(complain_url(merchant), headers={"Cookie": "lang=en"}):
            form = ComplaintForm(formdata=None)
            form.idempotency_key.data = key
            form.purchased_on.render_kw = {"max": local_today().isoformat()}
            row = db.session.execute(COMPLAIN_PAGE_MERCHANT, {"code": merchant.badge_code}).first()
            direct = render_template("complaints/shopper/_complaint_form.html", form=form, merchant=row,
                                     retention_days=1095, max_photos=3, photos_dropped=False)
            direct = direct.replace(form.csrf_token.current_token, token)
        assert _form_of(page) == _form_of(direct)
        response = phone.post(complain_url(merchant), data={**complaint_data(idempotency_key=key), "csrf_token": token})
        assert response.status_code == 302
        assert complaints()[-1].idempotency_key == key
    assert len({_own_values(page) for _, _, page in pages}) == 3  # each its own token and key
    # Chinese is another form, and the English one is not served to a Chinese browser.
    chinese = app.test_client().get(complain_url(first)).get_data(as_text=True)
    assert "个人信息" in chinese and "Your personal data" not in chinese
    assert len(app.extensions["blank_complaint_forms"]) == 2


def test_the_blank_form_without_csrf_protection(app):
    app.config["WTF_CSRF_ENABLED"] = False
    page = app.test_client().get(complain_url(make_merchant()))
    assert page.status_code == 200 and 'name="csrf_token"' not in page.get_data(as_text=True)


def test_unknown_or_unapproved_badge_is_404(client):
    assert client.get("/m/nosuchbadge23/complain").status_code == 404
    assert client.get("/m/bad%00code/complain").status_code == 404
    pending = make_merchant(status="pending")
    assert client.get(complain_url(pending)).status_code == 404


def test_file_a_complaint_from_the_scan_page(client):
    merchant = make_merchant()
    response = file_complaint(client, merchant)
    assert response.status_code == 302
    assert response.headers["Location"] == "/complain/done"
    [c] = complaints()
    assert c.merchant_id == merchant.id
    assert c.amount_paid_cents == 19950
    assert c.wants == ["refund", "apology"]
    assert c.shopper_phone == SHOPPER_PHONE and c.shopper_name == SHOPPER_NAME
    assert c.consent_version == workflow.CONSENT_VERSION and c.consent_at is not None
    assert c.status == "received"
    assert len(c.tracking_code) == 14
    assert count_rows(OutboxMessage, OutboxMessage.recipient == SHOPPER_PHONE) == 1

    done = client.get("/complain/done")
    page = done.get_data(as_text=True)
    assert done.status_code == 200
    assert format_tracking_code(c.tracking_code) in page
    assert _TRACKING.search(page).group(1) == format_tracking_code(c.tracking_code)
    assert "139****1234" in page and SHOPPER_PHONE not in page
    assert done.headers["Cache-Control"] == "no-store"


def test_amount_is_optional(client):
    merchant = make_merchant()
    c = filed(client, merchant, amount="", purchased_on="", wants=None, shopper_name="")
    assert c.amount_paid_cents is None and c.purchased_on is None and c.wants == [] and c.shopper_name is None


def test_find_the_shop_without_a_badge(client):
    approved = make_merchant(shop_name="老街鞋店")
    make_merchant(shop_name="老街鞋店分店", status="pending")
    page = client.get("/complain?q=老街").get_data(as_text=True)
    assert f'href="{complain_url(approved)}"' in page
    assert "老街鞋店分店" not in page
    assert "No registered shop matches" in client.get("/complain?q=%00%25_").get_data(as_text=True)
    assert client.get(complain_url(approved)).status_code == 200


def test_confirmation_and_case_only_for_the_submitter(client, app):
    merchant = make_merchant()
    c = filed(client, merchant)
    stranger = english_browser(app)
    response = stranger.get("/complain/done")
    assert response.status_code == 302 and response.headers["Location"] == "/track"
    response = stranger.get(f"/track/{c.tracking_code}")
    assert response.status_code == 302 and response.headers["Location"].startswith("/track?code=")
    # The same answer for a code that does not exist: no oracle.
    other = stranger.get("/track/ABCDEFGHJKLMNP")
    assert other.status_code == 302 and other.headers["Location"].startswith("/track?code=")
    assert client.get(f"/track/{c.tracking_code}").status_code == 200


def test_consent_unticked_stores_nothing(client):
    merchant = make_merchant()
    response = file_complaint(client, merchant, consent=None)
    assert response.status_code == 400
    assert "Tick the box to agree" in response.get_data(as_text=True)
    assert complaints() == []
    assert count_rows(OutboxMessage) == 0


def test_retried_post_files_one_complaint(client):
    """A double-click or a retry carries the same key: one case."""
    merchant = make_merchant()
    key = uuid.uuid4().hex
    first = file_complaint(client, merchant, idempotency_key=key)
    second = file_complaint(client, merchant, idempotency_key=key)
    assert first.status_code == second.status_code == 302
    assert len(complaints()) == 1


def test_validation_error_keeps_input_and_the_key(client):
    merchant = make_merchant()
    key = uuid.uuid4().hex
    account = "这是一段很长的经过说明。" * 50
    response = file_complaint(client, merchant, idempotency_key=key, account=account, shopper_phone="12345")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert account in page
    assert f'value="{key}"' in page
    assert "运动鞋 一双" in page
    assert "11-digit mainland mobile number" in page


def test_photos_must_be_chosen_again_after_an_error(client):
    merchant = make_merchant()
    response = file_complaint(client, merchant, consent=None, photos=[jpeg_upload()])
    assert response.status_code == 400
    assert "choose them again" in response.get_data(as_text=True)
    assert complaints() == []


def test_expired_csrf_token_keeps_the_account(client):
    """A refused token re-renders the form with everything typed."""
    merchant = make_merchant()
    account = "我在店里买了一台电风扇，用了一周就坏了。" * 40
    client.get(complain_url(merchant))
    response = client.post(complain_url(merchant), data={**complaint_data(account=account), "csrf_token": "expired"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert account in page
    assert "expired" in page
    assert complaints() == []


FUTURE = (local_today() + timedelta(days=2)).isoformat()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"purchased_on": FUTURE}, "cannot be in the future"),
    ({"purchased_on": "2024-02-30"}, "Not a valid date"),
    ({"shopper_phone": "138123456789"}, "11-digit mainland mobile number"),
    ({"shopper_phone": "1381234567😀"}, "11-digit mainland mobile number"),
    ({"shopper_phone": "１３８１２３４５６７８"}, "11-digit mainland mobile number"),
    ({"shopper_phone": ""}, "This field is required"),
    ({"account": "鞋坏了\x00"}, "control characters"),
    ({"item": "\x00"}, "control characters"),
    ({"shopper_name": "王\x00"}, "control characters"),
    ({"account": "x" * 100_000}, "longer than 2000"),
    ({"item": "长" * 100_000}, "longer than 200"),
    ({"account": "   "}, "Tell us what happened"),
    ({"amount": "-5"}, "Enter the amount in yuan"),
    ({"amount": "1.005"}, "Enter the amount in yuan"),
    ({"amount": "１９９"}, "Enter the amount in yuan"),
    ({"amount": "99999999999"}, "Enter the amount in yuan"),
    ({"amount": "1e3"}, "Enter the amount in yuan"),
    ({"problem_type": ""}, "Choose the kind of problem"),
    ({"problem_type": "fraud😀"}, "Not a valid choice"),
    ({"request_type": "appeal"}, "Not a valid choice"),
    ({"wants": ["refund", "revenge"]}, "not a valid choice"),
    ({"idempotency_key": "../../etc"}, "Please submit again"),
])
def test_bad_input_is_400_with_a_message(client, overrides, message):
    """Fuzzed input gives 400 and a message, never 500, and stores nothing."""
    merchant = make_merchant()
    response = file_complaint(client, merchant, **overrides)
    assert response.status_code == 400
    assert message.lower() in response.get_data(as_text=True).lower()
    assert complaints() == []


def test_unicode_and_emoji_are_kept(client):
    merchant = make_merchant()
    account = "买的蛋糕坏了 🎂😡 — «café» ½ 𠀀"
    c = filed(client, merchant, account=account, shopper_name="Zoë 李", item="蛋糕 🎂")
    assert c.account == account and c.shopper_name == "Zoë 李" and c.item == "蛋糕 🎂"


# --- tracking ------------------------------------------------------------------------------


def test_wrong_digits_and_wrong_code_give_the_same_generic_error(client, app):
    merchant = make_merchant()
    c = filed(client, merchant)
    stranger = english_browser(app)
    wrong_digits = track(stranger, c.tracking_code, "9999")
    wrong_code = track(stranger, "ABCD-EFGH-JKLM-NP", SHOPPER_PHONE[-4:])
    malformed = track(stranger, "not a code", SHOPPER_PHONE[-4:])
    generic = "We found no case with this tracking code and these digits"
    for response in (wrong_digits, wrong_code, malformed):
        assert response.status_code == 400
        assert generic in response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"
    assert stranger.get(f"/track/{c.tracking_code}").status_code == 302


def test_tracking_opens_the_case_with_masked_phone(client, app):
    merchant = make_merchant()
    c = filed(client, merchant)
    shopper = english_browser(app)
    # Lower case, spaces instead of dashes: read aloud over a phone, typed on another.
    response = track(shopper, format_tracking_code(c.tracking_code).lower().replace("-", " "), SHOPPER_PHONE[-4:])
    assert response.status_code == 302
    assert response.headers["Location"] == f"/track/{c.tracking_code}"
    page = shopper.get(response.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "139****1234" in text and SHOPPER_PHONE not in text
    assert "You filed the case" in text
    assert "Acceptance due by" in text


def test_timeline_shows_every_public_event(client):
    merchant = make_merchant()
    c = filed(client, merchant)
    officer = make_user(role="staff")
    case = db.session.get(Complaint, c.id)
    workflow.accept(officer, case, "已受理")
    workflow.reassign(officer, case, officer, "internal note: private")
    workflow.forward(officer, case)
    page = client.get(f"/track/{c.tracking_code}").get_data(as_text=True)
    for label in ("You filed the case", "The bureau accepted the case",
                  "The case was sent to the shop for an answer", "已受理", "The shop must answer by"):
        assert label in page
    assert "internal note" not in page


def test_add_information(client):
    merchant = make_merchant()
    c = filed(client, merchant)
    url = f"/track/{c.tracking_code}"
    response = form_post(client, url + "/info", {"text": "发票号 12345"}, form_url=url)
    assert response.status_code == 302
    assert "发票号 12345" in client.get(url).get_data(as_text=True)
    event = db.session.scalar(select(ComplaintEvent).where(ComplaintEvent.kind == "shopper_info"))
    assert event.note == "发票号 12345" and event.actor_role == "shopper"
    empty = form_post(client, url + "/info", {"text": ""}, form_url=url)
    assert empty.status_code == 400


def test_actions_refused_without_the_session(client, app):
    merchant = make_merchant()
    c = filed(client, merchant)
    stranger = english_browser(app)
    token = csrf_token(stranger, "/track")
    for action in ("info", "respond", "withdraw"):
        response = stranger.post(f"/track/{c.tracking_code}/{action}",
                                 data={"csrf_token": token, "text": "x", "accept": "y", "confirm": "y"})
        assert response.status_code == 302 and response.headers["Location"].startswith("/track")
    db.session.expire_all()
    assert db.session.get(Complaint, c.id).status == "received"
    assert len(db.session.get(Complaint, c.id).events) == 1


def test_accepting_the_proposal_closes_the_case_as_resolved(client):
    merchant = make_merchant()
    c = filed(client, merchant)
    to_merchant_answered(c)
    url = f"/track/{c.tracking_code}"
    page = client.get(url).get_data(as_text=True)
    assert "抱歉，可以退款。" in page and "199.50 yuan" in page and "Accept the proposal" in page
    response = form_post(client, url + "/respond", {"accept": "Accept the proposal"}, form_url=url)
    assert response.status_code == 302
    db.session.expire_all()
    case = db.session.get(Complaint, c.id)
    assert case.status == "closed" and case.outcome == "resolved"
    assert case.amount_recovered_cents == 19950 and case.proposal_response == "accepted"
    page = client.get(url).get_data(as_text=True)
    assert "Resolved by agreement" in page and "Accept the proposal" not in page


def test_rejecting_the_proposal_sends_the_case_to_mediation(client):
    merchant = make_merchant()
    c = filed(client, merchant)
    to_merchant_answered(c)
    url = f"/track/{c.tracking_code}"
    response = form_post(client, url + "/respond", {"reject": "Reject", "note": "金额不够"}, form_url=url)
    assert response.status_code == 302
    db.session.expire_all()
    case = db.session.get(Complaint, c.id)
    assert case.status == "mediating" and case.proposal_response == "rejected"
    assert "You rejected the shop&#39;s proposal" in client.get(url).get_data(as_text=True)


def test_responding_without_a_proposal_is_refused(client):
    merchant = make_merchant()
    c = filed(client, merchant)
    url = f"/track/{c.tracking_code}"
    response = form_post(client, url + "/respond", {"accept": "y"}, form_url=url)
    assert response.status_code == 409  # the case's state does not allow it
    assert "There is no proposal to answer on this case any more." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Complaint, c.id).status == "received"


def test_withdraw_needs_confirmation(client):
    merchant = make_merchant()
    c = filed(client, merchant)
    url = f"/track/{c.tracking_code}/withdraw"
    confirm_page = client.get(url)
    assert confirm_page.status_code == 200 and "Keep the case open" in confirm_page.get_data(as_text=True)
    unconfirmed = form_post(client, url, {"note": "已私下解决"})
    assert unconfirmed.status_code == 400 and "Tick the box to confirm" in unconfirmed.get_data(as_text=True)
    assert "已私下解决" in unconfirmed.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Complaint, c.id).status == "received"
    response = form_post(client, url, {"note": "已私下解决", "confirm": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    case = db.session.get(Complaint, c.id)
    assert case.status == "closed" and case.outcome == "withdrawn"
    page = client.get(f"/track/{c.tracking_code}").get_data(as_text=True)
    assert "Closed: you withdrew the case" in page and "Withdraw this case" not in page


# --- survey --------------------------------------------------------------------------------


def _closed_case_survey_path(client, app) -> tuple[Complaint, str]:
    merchant = make_merchant()
    c = filed(client, merchant)
    officer = make_user(role="staff")
    case = db.session.get(Complaint, c.id)
    workflow.accept(officer, case)
    workflow.close(officer, case, "resolved", "已退款", amount_recovered_cents=100)
    url = workflow.survey_url(case)
    return case, url[len(app.config["BASE_URL"]):]


def test_survey_is_answered_once(client, app):
    case, path = _closed_case_survey_path(client, app)
    shopper, other_tab = english_browser(app), english_browser(app)
    page = shopper.get(path)
    assert page.status_code == 200 and "How did we do?" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    late_token = csrf_token(other_tab, path)  # a second page, opened before the first answer
    first = form_post(shopper, path, {"answer": "satisfied", "comment": "很快"})
    assert first.status_code == 302
    assert "Your answer is recorded" in shopper.get(path).get_data(as_text=True)
    assert "already been answered" in shopper.get(path).get_data(as_text=True)
    second = other_tab.post(path, data={"csrf_token": late_token, "answer": "dissatisfied"})
    assert "already been answered" in second.get_data(as_text=True)
    rows = list(db.session.scalars(select(SurveyResponse)))
    assert [(r.complaint_id, r.answer, r.comment) for r in rows] == [(case.id, "satisfied", "很快")]


def test_survey_needs_an_answer(client, app):
    _case, path = _closed_case_survey_path(client, app)
    response = form_post(client, path, {"comment": "x"})
    assert response.status_code == 400 and "Choose one answer" in response.get_data(as_text=True)


@pytest.mark.parametrize("token", ["nonsense", "eyJjIjoxfQ.bad.sig", "x" * 500, "%00"])
def test_bad_survey_token_is_404(client, token):
    assert client.get(f"/survey/{token}").status_code == 404


def test_survey_token_of_an_open_case_is_404(client, app):
    merchant = make_merchant()
    c = filed(client, merchant)
    path = workflow.survey_url(db.session.get(Complaint, c.id))[len(app.config["BASE_URL"]):]
    assert client.get(path).status_code == 404


# --- personal data ----------------------------------------------------------


def test_public_pages_never_show_the_shoppers_data(client, app):
    merchant = make_merchant()
    c = filed(client, merchant)
    officer = make_user(role="staff")
    case = db.session.get(Complaint, c.id)
    workflow.accept(officer, case)
    workflow.close(officer, case, "resolved", "已退款")
    public = english_browser(app)
    for url in (f"/m/{merchant.badge_code}", f"/m/{merchant.badge_code}.json", "/merchants",
                f"/merchants?q={merchant.shop_name}", "/", f"/complain?q={merchant.shop_name}",
                complain_url(merchant)):
        body = public.get(url).get_data(as_text=True)
        assert SHOPPER_PHONE not in body and "139****1234" not in body and SHOPPER_NAME not in body, url
        assert "/complaints/photos/" not in body, url
