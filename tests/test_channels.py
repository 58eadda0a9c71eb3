"""Requests from every channel: the channel model, recording, 12315 numbers, export, import."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from pledge_registry import spreadsheets
from pledge_registry.complaints import deadlines, intake, workflow
from pledge_registry.extensions import db
from pledge_registry.localtime import LOCAL_TZ
from pledge_registry.models import CommercialArea, Complaint, PhoneReveal
from tests import factories
from tests.helpers import count_rows, form_post, signed_in_client, text


def test_a_web_complaint_is_channel_web_without_a_reference(app: Any) -> None:
    merchant = factories.make_merchant()
    c = factories.make_filed_complaint(merchant)
    assert (c.channel, c.channel_ref, c.consent_method) == ("web", None, "web_form")


def test_a_channel_reference_names_one_request_per_channel(app: Any) -> None:
    merchant = factories.make_merchant()
    factories.make_complaint(merchant, channel="12345", channel_ref="SZ-2026-0001", consent_method="channel")
    factories.make_complaint(merchant, channel="12315", channel_ref="SZ-2026-0001", consent_method="channel")
    with pytest.raises(IntegrityError):
        factories.make_complaint(merchant, channel="12345", channel_ref="SZ-2026-0001", consent_method="channel")
    db.session.rollback()
    assert db.session.query(Complaint).filter_by(channel_ref="SZ-2026-0001").count() == 2


def test_the_schema_refuses_an_unknown_channel(app: Any) -> None:
    merchant = factories.make_merchant()
    with pytest.raises(IntegrityError):
        factories.make_complaint(merchant, channel="fax")
    db.session.rollback()


# --- recording a request received by another channel ------------------------------------------

NEW_URL = "/staff/complaints/new"


def _local(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def request_form(merchant: Any, **overrides: Any) -> dict[str, Any]:
    received = datetime.now(UTC) - timedelta(days=3)
    data: dict[str, Any] = {
        "channel": "12345", "channel_ref": "TC2026110300017", "received_at": _local(received),
        "request_type": "complaint", "badge_code": merchant.badge_code, "item": "电动自行车",
        "purchased_on": "", "amount": "2599", "problem_type": "quality",
        "account": "来电反映：电池两天就坏了，商家拒绝退货。", "wants": ["refund"],
        "shopper_name": "李雷", "shopper_phone": "13912345678", "consent_method": "channel",
    }
    data.update(overrides)
    return data


@pytest.fixture
def officer(app: Any) -> Any:
    return factories.make_user("staff")


@pytest.fixture
def staff_client(app: Any, officer: Any) -> Any:
    """An officer's browser asking for English pages (the messages tested are the English ones)."""
    client = signed_in_client(app, officer)
    client.set_cookie("lang", "en")
    return client


def test_anonymous_and_merchants_cannot_record_a_request(app: Any, client: Any) -> None:
    assert client.get(NEW_URL).status_code in (302, 401, 403)
    merchant_user = factories.make_user("merchant")
    assert signed_in_client(app, merchant_user).get(NEW_URL).status_code == 403


def test_the_form_refuses_a_post_without_the_csrf_token(app: Any, staff_client: Any) -> None:
    merchant = factories.make_merchant()
    response = staff_client.post(NEW_URL, data=request_form(merchant))
    assert response.status_code == 400
    assert count_rows(Complaint) == 0
    assert "TC2026110300017" in text(response)  # the input is kept


def test_a_recorded_request_counts_its_deadlines_from_when_the_channel_received_it(
        app: Any, staff_client: Any, officer: Any) -> None:
    merchant = factories.make_merchant()
    received = (datetime.now(UTC) - timedelta(days=3)).replace(second=0, microsecond=0)
    response = form_post(staff_client, NEW_URL, request_form(merchant, received_at=_local(received)))
    assert response.status_code == 302, text(response)[:2000]
    c = db.session.scalar(sa.select(Complaint))
    assert (c.channel, c.channel_ref, c.consent_method, c.recorded_by_id) == \
        ("12345", "TC2026110300017", "channel", officer.id)
    assert c.received_at == received and c.consent_at == received
    cal = deadlines.calendar()
    limits = deadlines.current_deadlines()
    assert c.acceptance_due_at == cal.add_workdays(received, limits.acceptance_days)
    assert c.completion_due_at == cal.add_workdays(received, limits.completion_days)
    assert response.headers["Location"].endswith(f"/staff/complaints/{c.id}")
    first = c.events[0]
    assert (first.kind, first.actor_role, first.actor_id, first.created_at) == ("recorded", "staff", officer.id,
                                                                                 received)
    # The case then runs the normal workflow.
    workflow.accept(officer, c)
    assert c.status == "accepted"


def test_a_second_entry_of_the_same_reference_is_refused_with_a_link_to_the_first(
        app: Any, staff_client: Any) -> None:
    merchant = factories.make_merchant()
    assert form_post(staff_client, NEW_URL, request_form(merchant)).status_code == 302
    first = db.session.scalar(sa.select(Complaint))
    again = form_post(staff_client, NEW_URL, request_form(merchant, account="第二次录入，内容不同"))
    assert again.status_code == 409
    page = text(again)
    assert f'href="/staff/complaints/{first.id}"' in page
    assert "第二次录入，内容不同" in page  # the input is kept
    assert count_rows(Complaint) == 1
    # The same number on another channel is another request.
    assert form_post(staff_client, NEW_URL, request_form(merchant, channel="12315")).status_code == 302
    assert count_rows(Complaint) == 2


@pytest.mark.parametrize(("overrides", "field_text"), [
    ({"received_at": _local(datetime.now(UTC) + timedelta(days=2))}, "cannot be in the future"),
    ({"received_at": "yesterday"}, ""),
    ({"received_at": ""}, "Enter the date and time it was received"),
    ({"channel": "web"}, "Not a valid choice"),
    ({"channel": "partner_api"}, "Not a valid choice"),
    ({"channel_ref": "no spaces?!"}, "letters, digits"),
    ({"channel_ref": "x" * 65}, ""),
    ({"consent_method": "oral"}, "cannot be given on this channel"),  # 12345 passes consent on
    ({"consent_method": "web_form"}, "Not a valid choice"),
    ({"badge_code": "NOSUCHBADGE"}, "No shop taking complaints has this badge code"),
    ({"badge_code": ""}, "find the shop"),
    ({"shopper_phone": "12345"}, "11-digit"),
    ({"account": "\x00bad"}, "control characters"),
    ({"purchased_on": "2999-01-01"}, "cannot be in the future"),
    ({"amount": "1e9"}, "yuan"),
])
def test_odd_input_is_refused_on_the_form_with_the_input_kept(app: Any, staff_client: Any,
                                                              overrides: dict[str, Any], field_text: str) -> None:
    merchant = factories.make_merchant()
    response = form_post(staff_client, NEW_URL, request_form(merchant, **overrides))
    assert response.status_code in (400, 409), text(response)[:500]
    page = text(response)
    assert field_text in page
    assert "电池两天就坏了" in page or "account" in overrides
    assert count_rows(Complaint) == 0


def test_a_letter_without_a_phone_is_recorded(app: Any, staff_client: Any) -> None:
    merchant = factories.make_merchant()
    response = form_post(staff_client, NEW_URL, request_form(
        merchant, channel="letter", channel_ref="XF-2026-113", consent_method="written", shopper_phone=""))
    assert response.status_code == 302, text(response)[:1500]
    c = db.session.scalar(sa.select(Complaint))
    assert (c.shopper_phone, c.consent_method) == (None, "written")


def test_the_shop_is_found_and_chosen_on_the_form_with_the_input_kept(app: Any, staff_client: Any) -> None:
    merchant = factories.make_merchant(shop_name="甲乙鲜果", status="approved")
    found = form_post(staff_client, NEW_URL, request_form(merchant, badge_code="", shop_query="甲乙", find="1"))
    assert found.status_code == 200
    assert "电池两天就坏了" in text(found)
    picked = form_post(staff_client, NEW_URL, request_form(merchant, badge_code="", pick=merchant.badge_code))
    assert picked.status_code == 200
    assert f'value="{merchant.badge_code}"' in text(picked)
    assert count_rows(Complaint) == 0


def test_a_station_records_at_its_desk_by_default_and_handles_its_area_case(app: Any) -> None:
    area = db.session.scalar(sa.select(CommercialArea).order_by(CommercialArea.id))
    station = factories.make_station(area.id, "南洋广场站")
    station_user = factories.make_station_officer(station)
    client = signed_in_client(app, station_user)
    page = text(client.get(NEW_URL))
    assert re.search(r'<option selected value="station_desk"|<option value="station_desk" selected', page)
    merchant = factories.make_merchant(area_id=area.id)
    response = form_post(client, NEW_URL, request_form(merchant, channel="station_desk", channel_ref="NY-0001",
                                                       consent_method="written"))
    assert response.status_code == 302, text(response)[:1500]
    c = db.session.scalar(sa.select(Complaint))
    assert (c.station_id, c.recorded_by_id, c.events[0].actor_role) == (station.id, station_user.id, "station")
    assert client.get(f"/staff/complaints/{c.id}").status_code == 200


def test_the_form_reads_in_both_languages(app: Any, staff_client: Any) -> None:
    staff_client.set_cookie("lang", "en")
    english = text(staff_client.get(NEW_URL))
    assert "Record a request" in english
    staff_client.set_cookie("lang", "zh")
    chinese = text(staff_client.get(NEW_URL))
    assert "Record a request" not in chinese and "登记" in chinese


# --- the 12315 number ---------------------------------------------------------------------------

def test_a_web_case_records_its_12315_number_once(app: Any, staff_client: Any) -> None:
    merchant = factories.make_merchant()
    c = factories.make_filed_complaint(merchant)
    other = factories.make_filed_complaint(merchant)
    url = f"/staff/complaints/{c.id}/12315"
    bad = form_post(staff_client, url, {"ref_12315": "12-34"}, form_url=f"/staff/complaints/{c.id}")
    assert bad.status_code == 400
    ok = form_post(staff_client, url, {"ref_12315": " 3205852026110300001 "}, form_url=f"/staff/complaints/{c.id}")
    assert ok.status_code == 302
    db.session.refresh(c)
    assert c.registered_12315_ref == "3205852026110300001" and c.registered_12315_at is not None
    taken = form_post(staff_client, f"/staff/complaints/{other.id}/12315", {"ref_12315": "3205852026110300001"},
                      form_url=f"/staff/complaints/{other.id}")
    assert taken.status_code == 409
    assert f'href="/staff/complaints/{c.id}"' in text(taken)
    db.session.refresh(other)
    assert other.registered_12315_ref is None


def test_the_12315_number_needs_the_csrf_token(app: Any, staff_client: Any) -> None:
    c = factories.make_filed_complaint(factories.make_merchant())
    assert staff_client.post(f"/staff/complaints/{c.id}/12315", data={"ref_12315": "3205852026110300001"}
                             ).status_code == 400
    db.session.refresh(c)
    assert c.registered_12315_ref is None


def test_the_export_lists_the_cases_12315_does_not_know(app: Any, staff_client: Any, officer: Any) -> None:
    merchant = factories.make_merchant()
    web = factories.make_filed_complaint(merchant)
    registered = factories.make_filed_complaint(merchant)
    intake.register_12315(officer, registered, "3205852026110300002")
    factories.make_complaint(merchant, channel="12315", channel_ref="3205852026110300003", consent_method="channel")
    factories.make_filed_complaint(merchant, request_type="consultation")
    csv_response = staff_client.get("/staff/complaints/12315-export.csv")
    assert csv_response.status_code == 200
    table = spreadsheets.read_table("x.csv", csv_response.data)
    assert table[0][0].startswith("本平台案件号")
    assert [int(r[0]) for r in table[1:]] == [web.id]
    assert table[1][17] == web.shopper_phone
    assert count_rows(PhoneReveal) == 1  # the exported number is an audited reveal
    xlsx = staff_client.get("/staff/complaints/12315-export.xlsx")
    assert xlsx.status_code == 200
    rows = spreadsheets.read_table("x.xlsx", xlsx.data)
    assert [r[0] for r in rows[1:]] == [web.id]
    station = factories.make_station(merchant.area_id)
    assert signed_in_client(app, factories.make_station_officer(station)).get(
        "/staff/complaints/12315-export.csv").status_code == 403
