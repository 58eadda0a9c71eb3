"""Merchants answering and officers handling complaints, through HTTP (CSRF on)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from pledge_registry.complaints import officer_views, workflow
from pledge_registry.extensions import db
from pledge_registry.models import (
    REJECT_REASONS,
    CommercialArea,
    Complaint,
    Holiday,
    PhoneReveal,
    Setting,
    SupervisionStation,
)
from tests.factories import make_filed_complaint, make_merchant, make_station, make_station_officer, make_user
from tests.helpers import SHOPPER_NAME, SHOPPER_PHONE, count_rows, csrf_token, form_post, login, missing_id

PHONE, MASKED = SHOPPER_PHONE, "139****1234"
NAME, MASKED_NAME = SHOPPER_NAME, "王**"


def case_ids(html: str) -> list[int]:
    """Case ids in the order the queue lists them."""
    ids = [int(i) for i in re.findall(r'href="/staff/complaints/(\d+)"', html)]
    return list(dict.fromkeys(ids))


@pytest.fixture
def shop(app):
    owner = make_user()
    # The shop's own contact phone must not be the shopper's, or masking tests prove nothing.
    return make_merchant(owner=owner, contact_phone="13700000001")


@pytest.fixture
def officer(app):
    return make_user("staff", display_name="Officer Li")


@pytest.fixture
def forwarded(shop, officer):
    c = make_filed_complaint(shop)
    workflow.accept(officer, c)
    workflow.forward(officer, c)
    return c


# --- the merchant portal -----------------------------------------------------------------------------

def test_merchant_sees_forwarded_cases_masked(client, shop, forwarded):
    waiting = make_filed_complaint(shop, item="waiting-for-acceptance")
    login(client, shop.owner)
    page = client.get("/portal/complaints/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"/portal/complaints/{forwarded.id}" in html
    assert "waiting-for-acceptance" not in html
    assert MASKED in html and PHONE not in html
    assert MASKED_NAME in html and NAME not in html
    detail = client.get(f"/portal/complaints/{forwarded.id}")
    html = detail.get_data(as_text=True)
    assert detail.status_code == 200
    assert MASKED in html and PHONE not in html and NAME not in html
    assert "骑了两天电池就坏了。" in html
    assert client.get(f"/portal/complaints/{waiting.id}").status_code == 404


def test_merchant_answers_with_a_refund_in_yuan(client, shop, forwarded):
    login(client, shop.owner)
    url = f"/portal/complaints/{forwarded.id}"
    response = form_post(client, url + "/reply", {"reply": "同意退款", "proposal_kind": "refund",
                                                  "proposal_amount": "128.50"}, form_url=url)
    assert response.status_code == 302
    db.session.expire_all()
    c = db.session.get(Complaint, forwarded.id)
    assert (c.status, c.proposal_kind, c.proposal_amount_cents, c.merchant_reply) == \
        ("merchant_answered", "refund", 12850, "同意退款")
    # Answering again is not possible in the new state.
    again = form_post(client, url + "/reply", {"reply": "再说一次", "proposal_kind": ""},
                      form_url="/portal/complaints/")
    assert again.status_code == 409


@pytest.mark.parametrize("amount", ["", "abc", "-1", "NaN", "Infinity", "1.234", "99999999999"])
def test_a_refund_needs_a_sane_amount(client, shop, forwarded, amount):
    login(client, shop.owner)
    url = f"/portal/complaints/{forwarded.id}"
    response = form_post(client, url + "/reply", {"reply": "退款", "proposal_kind": "refund",
                                                  "proposal_amount": amount}, form_url=url)
    assert response.status_code == 400
    assert "退款" in response.get_data(as_text=True)  # input kept
    db.session.expire_all()
    assert db.session.get(Complaint, forwarded.id).status == "with_merchant"


def test_merchant_cannot_see_or_answer_another_shops_case(client, forwarded):
    stranger = make_user()
    make_merchant(owner=stranger)
    login(client, stranger)
    assert client.get(f"/portal/complaints/{forwarded.id}").status_code == 404
    token = csrf_token(client, "/portal/complaints/")
    response = client.post(f"/portal/complaints/{forwarded.id}/reply",
                           data={"csrf_token": token, "reply": "x", "proposal_kind": ""})
    assert response.status_code == 404
    listing = client.get("/portal/complaints/").get_data(as_text=True)
    assert f"/portal/complaints/{forwarded.id}" not in listing


def test_overdue_merchant_answer_stands_out(client, shop, forwarded):
    forwarded.merchant_reply_due_at = datetime.now(UTC) - timedelta(hours=1)
    db.session.commit()
    login(client, shop.owner)
    assert "overdue" in client.get("/portal/complaints/").get_data(as_text=True)
    assert "banner-warning overdue" in client.get(f"/portal/complaints/{forwarded.id}").get_data(as_text=True)


def test_officers_use_the_staff_pages_not_the_portal(client, officer):
    login(client, officer)
    assert client.get("/portal/complaints/").status_code == 403


# --- access to the staff pages -----------------------------------------------------------------------

def _staff_rules(app):
    from pledge_registry.complaints import admin_views

    mine = {f"staff_complaints.{name}" for name in dir(officer_views) + dir(admin_views)}
    return [r for r in app.url_map.iter_rules() if r.endpoint in mine]


def _url(rule, case_id: int) -> str:
    return re.sub(r"<int:\w+>", str(case_id), rule.rule)


def test_staff_endpoints_refuse_anonymous_and_merchants(app, client, shop):
    c = make_filed_complaint(shop)
    rules = _staff_rules(app)
    assert len(rules) >= 15
    token = csrf_token(client, "/account/login")
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(_url(rule, c.id), method=method, data={"csrf_token": token})
            assert response.status_code == 302, (rule.rule, method)
            assert "/account/login" in response.headers["Location"]
    login(client, shop.owner)
    token = csrf_token(client, "/portal/complaints/")
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(_url(rule, c.id), method=method, data={"csrf_token": token})
            assert response.status_code == 403, (rule.rule, method)
    assert count_rows(PhoneReveal) == 0


def test_admin_pages_refuse_plain_staff(client, officer):
    login(client, officer)
    assert client.get("/staff/complaints/settings/deadlines").status_code == 403
    assert client.get("/staff/complaints/stations").status_code == 403
    assert client.get("/staff/complaints/holidays").status_code == 200


# --- the queue -----------------------------------------------------------------------------------------

def test_queue_lists_the_next_deadline_first_and_highlights_overdue(client, shop, officer):
    now = datetime.now(UTC)
    received = make_filed_complaint(shop, item="received-case")
    soon, late = make_filed_complaint(shop, item="soon-case"), make_filed_complaint(shop, item="late-case")
    for c in (soon, late):
        workflow.accept(officer, c)
    # A received case is due by its acceptance deadline, whatever its completion deadline.
    received.acceptance_due_at, received.completion_due_at = now + timedelta(days=2), now - timedelta(days=5)
    soon.acceptance_due_at, soon.completion_due_at = now + timedelta(days=10), now + timedelta(days=1)
    late.completion_due_at = now - timedelta(days=1)
    closed = make_filed_complaint(shop, item="closed-case")
    workflow.reject(officer, closed, "outside_scope")
    db.session.commit()
    login(client, officer)
    html = client.get("/staff/complaints/").get_data(as_text=True)
    assert case_ids(html) == [late.id, soon.id, received.id]
    assert html.count('class="overdue"') == 1
    assert "closed-case" not in html
    all_cases = client.get("/staff/complaints/?status=all").get_data(as_text=True)
    assert closed.id in case_ids(all_cases)
    assert case_ids(client.get("/staff/complaints/?status=received").get_data(as_text=True)) == [received.id]


def test_queue_filters_mine_unassigned_and_duplicates(client, shop, officer):
    mine = make_filed_complaint(shop, shopper_phone="13900000001")
    workflow.accept(officer, mine)
    unassigned = make_filed_complaint(shop, shopper_phone="13900000002")
    duplicate = make_filed_complaint(shop, shopper_phone="13900000002")
    assert duplicate.possible_duplicate
    login(client, officer)
    assert case_ids(client.get("/staff/complaints/?who=mine").get_data(as_text=True)) == [mine.id]
    assert set(case_ids(client.get("/staff/complaints/?who=unassigned").get_data(as_text=True))) == \
        {unassigned.id, duplicate.id}
    assert case_ids(client.get("/staff/complaints/?duplicates=1").get_data(as_text=True)) == [duplicate.id]
    assert client.get("/staff/complaints/?status=bogus&who=x&station=abc&page=-3").status_code == 200


def test_calendar_banner_when_today_is_in_a_year_without_data(client, officer, monkeypatch):
    login(client, officer)
    monkeypatch.setattr(officer_views, "local_today", lambda: date(2025, 6, 1))
    assert "banner-warning" not in client.get("/staff/complaints/").get_data(as_text=True)
    monkeypatch.setattr(officer_views, "local_today", lambda: date(2027, 3, 1))
    html = client.get("/staff/complaints/").get_data(as_text=True)
    assert "banner-warning" in html and "2027" in html
    assert "banner-warning" in client.get("/staff/complaints/holidays").get_data(as_text=True)
    # Staff enter the holidays for 2027 and 2028: the banner goes.
    for year in (2027, 2028):
        response = form_post(client, "/staff/complaints/holidays",
                             {"day": f"{year}-01-01", "is_workday": "0", "name": "New Year"})
        assert response.status_code == 302
    assert "banner-warning" not in client.get("/staff/complaints/").get_data(as_text=True)


# --- a case's page -----------------------------------------------------------------------------------

def test_case_page_masks_for_a_non_assigned_officer(client, shop, officer):
    c = make_filed_complaint(shop)
    workflow.accept(officer, c)
    colleague = make_user("staff")
    login(client, colleague)
    page = client.get(f"/staff/complaints/{c.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert MASKED in html and PHONE not in html
    assert MASKED_NAME in html and NAME not in html
    assert f"/staff/complaints/{c.id}/reveal" not in html
    token = csrf_token(client, f"/staff/complaints/{c.id}")
    refused = client.post(f"/staff/complaints/{c.id}/reveal", data={"csrf_token": token})
    assert refused.status_code == 403
    assert PHONE not in refused.get_data(as_text=True)
    assert count_rows(PhoneReveal) == 0


def test_assigned_officer_reveals_once_and_it_is_audited(client, shop, officer, caplog):
    c = make_filed_complaint(shop)
    workflow.accept(officer, c)
    login(client, officer)
    url = f"/staff/complaints/{c.id}"
    before = client.get(url).get_data(as_text=True)
    assert MASKED in before and PHONE not in before
    with caplog.at_level("WARNING", logger="pledge_registry.security"):
        response = form_post(client, url + "/reveal", {}, form_url=url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert PHONE in html and NAME in html
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(db.session.scalars(sa.select(PhoneReveal)))
    assert [(r.complaint_id, r.officer_id) for r in rows] == [(c.id, officer.id)]
    assert any("phone_reveal" in r.getMessage() for r in caplog.records)
    assert all(PHONE not in r.getMessage() for r in caplog.records)
    # Not kept anywhere: the next view is masked again.
    after = client.get(url).get_data(as_text=True)
    assert MASKED in after and PHONE not in after


@pytest.mark.parametrize("reason", REJECT_REASONS)
def test_reject_with_each_reason(client, shop, officer, reason):
    c = make_filed_complaint(shop)
    login(client, officer)
    url = f"/staff/complaints/{c.id}"
    assert "Decide by" in client.get(url + "?lang=en").get_data(as_text=True)
    response = form_post(client, url + "/reject", {"reason": reason, "reject_note": "see the rules"},
                         form_url=url)
    assert response.status_code == 302
    db.session.expire_all()
    c = db.session.get(Complaint, c.id)
    assert (c.status, c.outcome, c.reject_reason) == ("closed", "rejected", reason)


def test_reject_refuses_an_unknown_reason_and_an_accepted_case(client, shop, officer):
    c = make_filed_complaint(shop)
    login(client, officer)
    url = f"/staff/complaints/{c.id}"
    assert form_post(client, url + "/reject", {"reason": "bored"}, form_url=url).status_code == 400
    workflow.accept(officer, c)
    assert form_post(client, url + "/reject", {"reason": "too_old"}, form_url=url).status_code == 409
    db.session.expire_all()
    assert db.session.get(Complaint, c.id).status == "accepted"


def test_accept_forward_mediate_and_close_with_an_amount(client, shop, officer):
    c = make_filed_complaint(shop)
    login(client, officer)
    url = f"/staff/complaints/{c.id}"
    assert form_post(client, url + "/accept", {"note": ""}, form_url=url).status_code == 302
    assert form_post(client, url + "/forward", {"note": "请商家3日内答复"}, form_url=url).status_code == 302
    assert form_post(client, url + "/mediate", {"note": ""}, form_url=url).status_code == 302
    response = form_post(client, url + "/close", {"outcome": "resolved", "amount_recovered": "2599.00",
                                                  "upheld": "yes", "close_note": "退款到账"}, form_url=url)
    assert response.status_code == 302
    db.session.expire_all()
    c = db.session.get(Complaint, c.id)
    assert (c.status, c.outcome, c.amount_recovered_cents, c.upheld) == ("closed", "resolved", 259900, True)
    assert [e.kind for e in c.events] == ["received", "accepted", "forwarded", "mediating", "resolved"]
    assert all(e.actor_id == officer.id for e in c.events[1:])
    assert "2599.00" in client.get(url).get_data(as_text=True)


def test_close_not_resolved_needs_advice(client, shop, officer):
    c = make_filed_complaint(shop)
    workflow.accept(officer, c)
    login(client, officer)
    url = f"/staff/complaints/{c.id}"
    data = {"outcome": "not_resolved", "upheld": "no", "close_note": ""}
    assert form_post(client, url + "/close", data, form_url=url).status_code == 400
    data["close_note"] = "建议申请仲裁或向法院起诉"
    assert form_post(client, url + "/close", data, form_url=url).status_code == 302
    db.session.expire_all()
    c = db.session.get(Complaint, c.id)
    assert (c.outcome, c.upheld, c.amount_recovered_cents) == ("not_resolved", False, 0)


def test_reassign_to_another_officer(client, shop, officer):
    c = make_filed_complaint(shop)
    workflow.accept(officer, c)
    colleague = make_user("staff", display_name="Officer Wang")
    login(client, officer)
    url = f"/staff/complaints/{c.id}"
    # A merchant is not on the list of officers.
    refused = form_post(client, url + "/reassign", {"officer_id": str(shop.owner_id)}, form_url=url)
    assert refused.status_code == 400
    done = form_post(client, url + "/reassign", {"officer_id": str(colleague.id)}, form_url=url)
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Complaint, c.id).assigned_officer_id == colleague.id


def test_possible_duplicates_are_listed_and_linked(client, shop, officer):
    first = make_filed_complaint(shop)
    second = make_filed_complaint(shop)
    login(client, officer)
    url = f"/staff/complaints/{second.id}"
    html = client.get(url).get_data(as_text=True)
    assert f'href="/staff/complaints/{first.id}"' in html
    itself = form_post(client, url + "/link-duplicate", {"original_id": str(second.id)}, form_url=url)
    assert itself.status_code == 400
    linked = form_post(client, url + "/link-duplicate", {"original_id": str(first.id)}, form_url=url)
    assert linked.status_code == 302
    db.session.expire_all()
    assert db.session.get(Complaint, second.id).duplicate_of_id == first.id


def test_unknown_case_is_404(client, officer):
    login(client, officer)
    assert client.get(f"/staff/complaints/{missing_id(Complaint)}").status_code == 404


# --- station officers ------------------------------------------------------------------------------

def test_station_officer_sees_only_its_station(client, officer):
    areas = list(db.session.scalars(sa.select(CommercialArea).order_by(CommercialArea.id)))[:2]
    here = make_station(areas[0].id, "南洋广场站")
    make_station(areas[1].id, "华发广场站")
    station_officer = make_station_officer(here)
    ours = make_filed_complaint(make_merchant(area_id=areas[0].id))
    theirs = make_filed_complaint(make_merchant(area_id=areas[1].id))
    login(client, station_officer)
    assert case_ids(client.get("/staff/complaints/").get_data(as_text=True)) == [ours.id]
    assert client.get(f"/staff/complaints/{ours.id}").status_code == 200
    assert client.get(f"/staff/complaints/{theirs.id}").status_code == 404
    token = csrf_token(client, f"/staff/complaints/{ours.id}")
    assert client.post(f"/staff/complaints/{theirs.id}/accept", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/staff/complaints/{ours.id}/accept", data={"csrf_token": token}).status_code == 302
    assert client.get("/staff/complaints/holidays").status_code == 403
    db.session.expire_all()
    assert db.session.get(Complaint, theirs.id).status == "received"


# --- settings ----------------------------------------------------------------------------------------

def test_admin_edits_deadlines(client):
    admin = make_user("admin")
    login(client, admin)
    url = "/staff/complaints/settings/deadlines"
    data = {"acceptance_days": "7", "completion_days": "45", "merchant_reply_days": "5",
            "reminder_hours_before": "12", "retention_days": "1095"}
    assert form_post(client, url, data).status_code == 302
    assert db.session.get(Setting, "complaint_deadlines").value["completion_days"] == 45
    bad = form_post(client, url, {**data, "completion_days": "3"})
    assert bad.status_code == 400
    assert form_post(client, url, {**data, "retention_days": "5"}).status_code == 400
    db.session.expire_all()
    assert db.session.get(Setting, "complaint_deadlines").value["completion_days"] == 45


def test_staff_maintain_the_holiday_table(client, officer):
    login(client, officer)
    url = "/staff/complaints/holidays?year=2027"
    data = {"day": "2027-10-09", "is_workday": "1", "name": "国庆调休"}
    assert form_post(client, url, data).status_code == 302
    assert form_post(client, url, data).status_code == 409
    row = db.session.scalar(sa.select(Holiday))
    assert (row.day, row.is_workday, row.created_by_id) == (date(2027, 10, 9), True, officer.id)
    assert "国庆调休" in client.get(url).get_data(as_text=True)
    removed = form_post(client, f"/staff/complaints/holidays/{row.id}/delete", {}, form_url=url)
    assert removed.status_code == 302
    assert count_rows(Holiday) == 0


def test_admin_manages_stations(client):
    admin = make_user("admin")
    login(client, admin)
    area = db.session.scalar(sa.select(CommercialArea).order_by(CommercialArea.id))
    url = "/staff/complaints/stations"
    created = form_post(client, url, {"name": "华发广场消费维权监督站", "area_id": str(area.id), "active": "1"})
    assert created.status_code == 302
    # One station per commercial area.
    assert form_post(client, url, {"name": "另一个站", "area_id": str(area.id), "active": "1"}).status_code == 409
    station = db.session.scalar(sa.select(SupervisionStation))
    edit = f"/staff/complaints/stations/{station.id}"
    assert form_post(client, edit, {"name": "华发广场站", "area_id": "0", "active": "0"}).status_code == 302
    db.session.expire_all()
    station = db.session.get(SupervisionStation, station.id)
    assert (station.name, station.area_id, station.active) == ("华发广场站", None, False)


def test_a_post_without_csrf_token_is_refused_never_500(client, shop, officer):
    c = make_filed_complaint(shop)
    login(client, shop.owner)
    assert client.post(f"/staff/complaints/{c.id}/accept", data={"note": "x"}).status_code in (400, 403)
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/portal/complaints/")})
    login(client, officer)
    response = client.post(f"/staff/complaints/{c.id}/accept", data={"note": "kept input"})
    assert response.status_code == 400
    assert "kept input" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Complaint, c.id).status == "received"
