"""The partners' intake (Open311 GeoReport v2): filed through the web form's workflow,
idempotent by the partner's own id, keys hashed, rotated and revoked; a partner sees only
its own requests, never by a session cookie, and no GET shows a shopper's details."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from pledge_registry.extensions import db
from pledge_registry.models import Complaint, PartnerKey
from pledge_registry.partners import services as partners
from tests.factories import make_merchant, make_user
from tests.helpers import count_rows, login

URL = "/api/v1/open311/requests.json"


def _form(merchant: Any, ref: str = "HL-1001", **overrides: Any) -> dict[str, Any]:
    form = {"service_code": "quality", "address_id": merchant.badge_code, "partner_request_id": ref,
            "description": "买的电饭煲用了两天就坏了", "phone": "13911112222", "last_name": "李",
            "first_name": "四", "attribute[item]": "电饭煲", "attribute[amount_paid]": "299.50",
            "attribute[wants][]": ["refund", "exchange"], "attribute[consent]": "true"}
    form.update(overrides)
    return form


@pytest.fixture
def partner(app: Any) -> tuple[Any, str]:
    p = partners.add_partner("hotline-12345", "12345热线")
    return p, partners.issue_key(p).key


def test_services_list_is_open(client) -> None:
    services = client.get("/api/v1/open311/services.json").get_json()
    assert {s["service_code"] for s in services} >= {"quality", "refused_return"}


def test_a_partner_files_a_complaint_through_the_workflow(client, partner) -> None:
    p, key = partner
    shop = make_merchant()
    response = client.post(URL, data=_form(shop), headers={"X-API-Key": key})
    assert response.status_code == 201, response.get_json()
    created = response.get_json()[0]
    c = db.session.query(Complaint).one()
    assert created["service_request_id"] == c.tracking_code
    assert (c.channel, c.channel_ref, c.partner_id, c.consent_method) == (
        "partner_api", "hotline-12345:HL-1001", p.id, "channel")
    assert (c.item, c.amount_paid_cents, c.wants, c.shopper_name) == ("电饭煲", 29950, ["refund", "exchange"], "李 四")
    assert c.acceptance_due_at and [e.kind for e in c.events] == ["received"]
    one = client.get(f"/api/v1/open311/requests/{c.tracking_code}.json", headers={"X-API-Key": key}).get_json()[0]
    assert one["status"] == "open" and one["status_notes"] == "received"
    assert one["expected_datetime"].startswith(c.acceptance_due_at.isoformat()[:16])
    assert one["partner_request_id"] == "HL-1001"


def test_the_api_key_may_come_in_the_form(client, partner) -> None:
    _, key = partner
    response = client.post(URL, data={**_form(make_merchant()), "api_key": key})
    assert response.status_code == 201


def test_idempotent_by_the_partners_own_id(client, partner) -> None:
    _, key = partner
    shop = make_merchant()
    first = client.post(URL, data=_form(shop), headers={"X-API-Key": key})
    again = client.post(URL, data=_form(shop, description="改过的文字"), headers={"X-API-Key": key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()[0]["service_request_id"] == again.get_json()[0]["service_request_id"]
    assert count_rows(Complaint) == 1
    other = client.post(URL, data=_form(shop, ref="HL-1002"), headers={"X-API-Key": key})
    assert other.status_code == 201 and count_rows(Complaint) == 2


def test_status_and_deadline_follow_the_case(client, partner) -> None:
    from pledge_registry.complaints import workflow

    _, key = partner
    client.post(URL, data=_form(make_merchant()), headers={"X-API-Key": key})
    c = db.session.query(Complaint).one()
    workflow.accept(make_user("staff"), c)
    one = client.get(f"/api/v1/open311/requests/{c.tracking_code}.json", headers={"X-API-Key": key}).get_json()[0]
    assert one["status_notes"] == "accepted"
    assert one["expected_datetime"].startswith(c.completion_due_at.isoformat()[:16])


@pytest.mark.parametrize("field,value", [
    ("address_id", "nosuchbadge"), ("attribute[consent]", "false"), ("phone", "12345"),
    ("service_code", "nope"), ("description", "a\x00b"), ("partner_request_id", "has space"),
])
def test_bad_requests_are_refused_in_the_envelope(client, partner, field: str, value: str) -> None:
    _, key = partner
    response = client.post(URL, data=_form(make_merchant(), **{field: value}), headers={"X-API-Key": key})
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert count_rows(Complaint) == 0


def test_no_key_no_intake_and_a_session_cookie_is_no_key(client, partner) -> None:
    shop = make_merchant()
    assert client.post(URL, data=_form(shop)).status_code == 401
    login(client, make_user("admin"))  # signed in, with the site's cookies: still no key
    response = client.post(URL, data=_form(shop))
    assert response.status_code == 401 and response.get_json()["error"]["status"] == 401
    assert client.get(URL).status_code == 401
    assert count_rows(Complaint) == 0


def test_rotation_and_revocation(client, partner) -> None:
    p, old = partner
    new = partners.rotate_key(p).key
    shop = make_merchant()
    assert client.post(URL, data=_form(shop), headers={"X-API-Key": old}).status_code == 401
    assert client.post(URL, data=_form(shop), headers={"X-API-Key": new}).status_code == 201
    partners.revoke_key(partners.key_prefix(new) or "")
    assert client.get(URL, headers={"X-API-Key": new}).status_code == 401


def test_keys_are_stored_hashed(partner) -> None:
    _, key = partner
    row = db.session.query(PartnerKey).one()
    assert key not in (row.prefix, row.secret_hash) and len(row.secret_hash) == 64
    assert key[17:] not in row.secret_hash


def test_a_key_in_the_url_is_refused(client, partner) -> None:
    _, key = partner
    response = client.get(f"{URL}?api_key={key}")
    assert response.status_code == 400 and key not in response.get_data(as_text=True)


def test_a_partner_sees_only_its_own_requests(client, partner) -> None:
    from tests.factories import make_filed_complaint

    _, key = partner
    other = partners.issue_key(partners.add_partner("kiosk-mall", "商场自助机")).key
    shop = make_merchant()
    mine = client.post(URL, data=_form(shop, ref="A"), headers={"X-API-Key": key}).get_json()[0]
    theirs = client.post(URL, data=_form(shop, ref="A"), headers={"X-API-Key": other}).get_json()[0]
    web = make_filed_complaint(shop)
    listed = client.get(URL, headers={"X-API-Key": key}).get_json()
    assert [r["service_request_id"] for r in listed] == [mine["service_request_id"]]
    for code in (theirs["service_request_id"], web.tracking_code):
        assert client.get(f"/api/v1/open311/requests/{code}.json", headers={"X-API-Key": key}).status_code == 404
    asked = client.get(f"{URL}?service_request_id={theirs['service_request_id']},{web.tracking_code}",
                       headers={"X-API-Key": key}).get_json()
    assert asked == []


def test_api_keys_are_never_logged(app, client, runner, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    result = runner.invoke(args=["partners", "add", "mini-program", "小程序"])
    assert result.exit_code == 0, result.output
    issued = runner.invoke(args=["partners", "issue-key", "mini-program"])
    key = issued.output.strip().splitlines()[-1]
    assert key.startswith("prk_")
    shop = make_merchant()
    client.post(URL, data=_form(shop), headers={"X-API-Key": key})
    client.post(URL, data={**_form(shop, ref="B"), "api_key": key})
    client.get(f"{URL}?api_key={key}")
    client.get(URL, headers={"X-API-Key": key + "x"})  # a wrong key: refused, logged by prefix
    rotated = runner.invoke(args=["partners", "rotate-key", "mini-program"])
    listing = runner.invoke(args=["partners", "list"])
    secret = key[17:]  # after "prk_" and the 12-character prefix and "_"
    assert key not in listing.output and secret not in listing.output
    new_key = rotated.output.strip().splitlines()[-1]
    lines = [r.getMessage() + str(r.args) for r in caplog.records]
    assert any("api_key_refused" in line for line in lines) and any("partner key issued" in line for line in lines)
    for line in lines:
        assert secret not in line and new_key[17:] not in line


def test_control_characters_in_an_id_are_refused_not_sent_to_the_database(client, partner) -> None:
    """A NUL in a query or a path (PostgreSQL refuses it in text) answers 422 or 404, never 500."""
    _, key = partner
    headers = {"X-API-Key": key}
    listed = client.get("/api/v1/open311/requests.json?service_request_id=AB%00CD&status=open", headers=headers)
    assert listed.status_code == 422 and "service_request_id" in listed.get_json()["error"]["fields"]
    assert client.get("/api/v1/open311/requests/AB%00CD.json", headers=headers).status_code == 404
    assert client.get("/api/v1/open311/requests/%C3%9F%C3%A2R.json", headers=headers).status_code == 404
