"""The admin's partner page (/staff/partners/): admins only, CSRF on every action, a key
shown once in the answer that issued it and stored only as its hash, a rotated or revoked
key refused by the Open311 intake, and no key in any log line."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

import pytest

from pledge_registry.extensions import db
from pledge_registry.models import Partner, PartnerKey
from pledge_registry.partners import services as partners
from tests.factories import make_merchant, make_user
from tests.helpers import count_rows, csrf_token, login, text

PAGE = "/staff/partners/"
INTAKE = "/api/v1/open311/requests.json"
KEY_IN_PAGE = re.compile(r"<code data-key>(prk_[0-9a-f]{12}_[A-Za-z0-9_-]{43})</code>")


def _intake_form(shop: Any, ref: str) -> dict[str, Any]:
    return {"service_code": "quality", "address_id": shop.badge_code, "partner_request_id": ref,
            "description": "买的电饭煲用了两天就坏了", "phone": "13911112222", "last_name": "李",
            "attribute[item]": "电饭煲", "attribute[consent]": "true"}


@pytest.fixture
def admin_client(client: Any) -> Any:
    login(client, make_user("admin"))
    return client


def _issue(client: Any, partner: Partner, action: str = "keys") -> tuple[Any, str]:
    response = client.post(f"{PAGE}{partner.id}/{action}", data={"csrf_token": csrf_token(client, PAGE)})
    assert response.status_code == 201, text(response)[:500]
    found = KEY_IN_PAGE.findall(text(response))
    assert len(found) == 1
    return response, found[0]


@pytest.mark.parametrize("role", ["merchant", "staff"])
def test_only_an_admin_gets_the_page_or_its_actions(client, role) -> None:
    partner = partners.add_partner("hotline-12345", "12345热线")
    key = partners.issue_key(partner)
    anonymous = client.get(PAGE)
    assert anonymous.status_code == 302 and "/account/login" in anonymous.headers["Location"]
    login(client, make_user(role))
    token = csrf_token(client, "/account/password")
    assert client.get(PAGE).status_code == 403
    for url in (PAGE, f"{PAGE}{partner.id}/keys", f"{PAGE}{partner.id}/rotate",
                f"{PAGE}keys/{db.session.get(PartnerKey, 1).id}/revoke"):
        assert client.post(url, data={"csrf_token": token, "code": "x-y", "name": "某"}).status_code == 403, url
    assert count_rows(Partner) == 1 and count_rows(PartnerKey) == 1
    assert partners.authenticate(key.key) is not None


def test_every_action_needs_the_csrf_token(admin_client) -> None:
    partner = partners.add_partner("hotline-12345", "12345热线")
    key = partners.issue_key(partner)
    row = db.session.query(PartnerKey).one()
    for url, data in ((PAGE, {"code": "kiosk-mall", "name": "商场自助机"}), (f"{PAGE}{partner.id}/keys", {}),
                      (f"{PAGE}{partner.id}/rotate", {}), (f"{PAGE}keys/{row.id}/revoke", {})):
        response = admin_client.post(url, data=data)
        assert response.status_code == 400, url
        assert not KEY_IN_PAGE.search(text(response))
    db.session.expire_all()
    assert count_rows(Partner) == 1 and count_rows(PartnerKey) == 1
    assert partners.authenticate(key.key) is not None


def test_add_a_partner_and_its_form_keeps_the_input(admin_client) -> None:
    token = csrf_token(admin_client, PAGE)
    bad = admin_client.post(PAGE, data={"csrf_token": token, "code": "Hot Line!", "name": "12345热线"})
    assert bad.status_code == 400 and 'value="12345热线"' in text(bad)
    added = admin_client.post(PAGE, data={"csrf_token": token, "code": "hotline-12345", "name": "12345热线"})
    assert added.status_code == 302
    again = admin_client.post(PAGE, data={"csrf_token": token, "code": "hotline-12345", "name": "另一个"})
    assert again.status_code == 409 and 'value="另一个"' in text(again)
    assert [p.code for p in db.session.query(Partner)] == ["hotline-12345"]
    assert "12345热线" in text(admin_client.get(PAGE))


def test_a_key_is_shown_once_stored_hashed_and_works(admin_client) -> None:
    partner = partners.add_partner("hotline-12345", "12345热线")
    response, key = _issue(admin_client, partner)
    assert "no-store" in response.headers["Cache-Control"]
    row = db.session.query(PartnerKey).one()
    assert row.secret_hash == hashlib.sha256(key.encode()).hexdigest() and key[17:] not in row.secret_hash
    assert row.last_used_at is None
    page = text(admin_client.get(PAGE))
    assert key not in page and key[17:] not in page and row.prefix in page
    assert "从未" in page.split(row.prefix, 1)[1].split("</tr>", 1)[0]  # last used: never
    with admin_client.session_transaction() as session:  # not kept for a later page either
        assert key[17:] not in repr(dict(session))
    shop = make_merchant()
    assert admin_client.post(INTAKE, data=_intake_form(shop, "A"), headers={"X-API-Key": key}).status_code == 201
    db.session.expire_all()
    assert db.session.get(PartnerKey, row.id).last_used_at is not None
    assert "从未" not in text(admin_client.get(PAGE)).split(row.prefix, 1)[1].split("</tr>", 1)[0]


def test_rotate_refuses_the_old_key_at_once_and_issue_keeps_it(admin_client) -> None:
    partner = partners.add_partner("hotline-12345", "12345热线")
    shop = make_merchant()
    _, first = _issue(admin_client, partner)
    _, second = _issue(admin_client, partner)  # issue: both keys live (switch over without a gap)
    for n, key in enumerate((first, second)):
        filed = admin_client.post(INTAKE, data=_intake_form(shop, f"I{n}"), headers={"X-API-Key": key})
        assert filed.status_code == 201
    _, rotated = _issue(admin_client, partner, "rotate")
    for key in (first, second):
        assert admin_client.get(INTAKE, headers={"X-API-Key": key}).status_code == 401
    assert admin_client.get(INTAKE, headers={"X-API-Key": rotated}).status_code == 200


def test_a_revoked_key_is_refused_by_open311(admin_client) -> None:
    partner = partners.add_partner("hotline-12345", "12345热线")
    _, key = _issue(admin_client, partner)
    _, other = _issue(admin_client, partner)
    row = db.session.query(PartnerKey).filter_by(prefix=partners.key_prefix(key)).one()
    response = admin_client.post(f"{PAGE}keys/{row.id}/revoke", data={"csrf_token": csrf_token(admin_client, PAGE)})
    assert response.status_code == 302
    shop = make_merchant()
    refused = admin_client.post(INTAKE, data=_intake_form(shop, "R"), headers={"X-API-Key": key})
    assert refused.status_code == 401 and refused.get_json()["error"]["status"] == 401
    assert admin_client.get(INTAKE, headers={"X-API-Key": key}).status_code == 401
    assert admin_client.get(INTAKE, headers={"X-API-Key": other}).status_code == 200
    db.session.expire_all()
    assert db.session.get(PartnerKey, row.id).revoked_at is not None


def test_no_key_from_the_page_reaches_a_log(admin_client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    partner = partners.add_partner("hotline-12345", "12345热线")
    _, issued = _issue(admin_client, partner)
    _, rotated = _issue(admin_client, partner, "rotate")
    admin_client.get(INTAKE, headers={"X-API-Key": issued})  # revoked: refused, named by its prefix
    admin_client.get(INTAKE, headers={"X-API-Key": rotated})
    row = db.session.query(PartnerKey).filter_by(prefix=partners.key_prefix(rotated)).one()
    admin_client.post(f"{PAGE}keys/{row.id}/revoke", data={"csrf_token": csrf_token(admin_client, PAGE)})
    lines = [r.getMessage() for r in caplog.records]
    assert any("partner_key_issued" in line for line in lines)
    assert any("partner_key_rotated" in line for line in lines)
    assert any("partner_key_revoked" in line for line in lines)
    assert any("api_key_refused" in line and partners.key_prefix(issued) in line for line in lines)
    for line in lines:
        for key in (issued, rotated):
            assert key[17:] not in line, line
