"""No GET of the API shows personal data: every GET route under /api/ (walked from the URL
map, so a new one is covered), as anonymous and as a partner, with shopper and contact
details planted where a careless serializer would pick them up."""

from __future__ import annotations

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
