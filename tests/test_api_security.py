"""No GET of the API shows personal data: every GET route under /api/ (walked from the URL
map, so a new one is covered), as anonymous and as a partner, with shopper and contact
details planted where a careless serializer would pick them up. A partner reads only its own
requests, on every Open311 GET. No API key reaches a log line, an answer or the rate
limits' storage."""

from __future__ import annotations

import logging
import re

from pledge_registry.extensions import db
from pledge_registry.localtime import local_today
from pledge_registry.models import Complaint
from pledge_registry.partners import services as partners
from tests.factories import make_complaint, make_merchant, make_pledge, make_rating

PERSONAL = ("13512349876", "联系人甲乙", "消费者丙丁", "13622228888", "电池鼓包的隐私经过")


def test_no_get_under_the_api_shows_personal_data(app, client) -> None:
    shop = make_merchant(contact_name="联系人甲乙", contact_phone="13512349876")
    make_pledge(shop, "genuine")
    make_rating(shop, "B")
    for _ in range(6):
        make_complaint(shop, shopper_name="消费者丙丁", shopper_phone="13622228888", account="电池鼓包的隐私经过")
    key = partners.issue_key(partners.add_partner("hotline-12345", "12345热线")).key
    form = {"service_code": "quality", "address_id": shop.badge_code, "partner_request_id": "P-1",
            "description": "电池鼓包的隐私经过", "phone": "13622228888", "last_name": "消费者丙丁",
            "attribute[item]": "电动车", "attribute[consent]": "true"}
    assert client.post("/api/v1/open311/requests.json", data=form, headers={"X-API-Key": key}).status_code == 201
    tracking = db.session.query(Complaint).filter(Complaint.partner_id.isnot(None)).one().tracking_code
    values = {"merchant_id": str(shop.id), "service_request_id": tracking, "name": "swagger-ui.css"}
    query = f"period={local_today():%Y}&dimension=category"
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or "GET" not in rule.methods:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?(\w+)>", lambda m: values[m.group(1)], rule.rule)
        for headers in ({}, {"X-API-Key": key}):
            response = client.get(f"{path}?{query}", headers=headers)
            assert response.status_code < 500, path
            body = response.get_data(as_text=True)
            for secret in PERSONAL:
                assert secret not in body, (path, secret)
            checked += 1
    assert checked >= 2 * 15


def _file(client, shop, key: str, ref: str) -> str:  # type: ignore[no-untyped-def]
    form = {"service_code": "quality", "address_id": shop.badge_code, "partner_request_id": ref,
            "description": "买的电饭煲坏了", "phone": "13911112222", "last_name": "李",
            "attribute[item]": "电饭煲", "attribute[consent]": "true"}
    response = client.post("/api/v1/open311/requests.json", data=form, headers={"X-API-Key": key})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()[0]["service_request_id"]


def test_a_partner_reads_only_its_own_requests_on_every_open311_get(app, client) -> None:
    shop = make_merchant()
    ours = partners.issue_key(partners.add_partner("hotline-12345", "12345热线")).key
    theirs = partners.issue_key(partners.add_partner("kiosk-mall", "商场自助机")).key
    mine, other = _file(client, shop, ours, "A-1"), _file(client, shop, theirs, "A-1")
    web = make_complaint(shop).tracking_code  # filed on the web form: no partner's at all
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/open311/") or "GET" not in rule.methods or not rule.arguments:
            continue
        for code in (other, web):
            path = re.sub(r"<(?:[^:<>]+:)?\w+>", code, rule.rule)
            response = client.get(path, headers={"X-API-Key": ours})
            assert response.status_code == 404 and code not in response.get_data(as_text=True), path
            checked += 1
        own = re.sub(r"<(?:[^:<>]+:)?\w+>", mine, rule.rule)
        assert client.get(own, headers={"X-API-Key": ours}).status_code == 200
    assert checked >= 2
    listed = client.get("/api/v1/open311/requests.json", headers={"X-API-Key": ours}).get_json()
    assert [r["service_request_id"] for r in listed] == [mine]
    asked = client.get(f"/api/v1/open311/requests.json?service_request_id={mine},{other},{web}",
                       headers={"X-API-Key": ours}).get_json()
    assert [r["service_request_id"] for r in asked] == [mine]
    # a revoked key reads nothing, not even its own partner's
    partners.revoke_key(partners.key_prefix(ours) or "")
    assert client.get(f"/api/v1/open311/requests/{mine}.json", headers={"X-API-Key": ours}).status_code == 401


def test_no_api_key_reaches_a_log_an_answer_or_the_limits_storage(app, client, caplog) -> None:
    from pledge_registry.extensions import limiter

    caplog.set_level(logging.DEBUG)
    shop = make_merchant()
    key = partners.issue_key(partners.add_partner("hotline-12345", "12345热线")).key
    secret = key[17:]  # what follows "prk_", the 12-character prefix and "_"
    wrong = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
    bodies = []
    code = _file(client, shop, key, "K-1")
    for response in (
        client.get(f"/api/v1/open311/requests/{code}.json", headers={"X-API-Key": key}),
        client.get("/api/v1/open311/requests.json", headers={"X-API-Key": wrong}),  # refused: prefix logged
        client.get(f"/api/v1/open311/requests.json?api_key={key}"),  # refused: never in a URL
        client.post("/api/v1/open311/requests.json", data={"api_key": key, "service_code": "nonsense"}),  # 422
        client.get("/api/v1/merchants", headers={"X-API-Key": key}),
    ):
        assert response.status_code < 500
        bodies.append(response.get_data(as_text=True))
    lines = [record.getMessage() for record in caplog.records]
    assert any("api_key_refused" in line and (partners.key_prefix(key) or "?") in line for line in lines)
    for text in [*lines, *bodies]:
        assert secret not in text and wrong[17:] not in text
    storage = getattr(limiter, "_storage", None)
    kept = repr(getattr(storage, "storage", {})) + repr(getattr(storage, "events", {}))
    assert "partner:" in kept and secret not in kept  # the limits count a partner by its id
