"""A request's Host and X-Forwarded-Host never reach a public page, a JSON body, a cached
answer or a message: every absolute URL is built from BASE_URL (urls.absolute_url), with
or without a proxy in front (PROXY_COUNT)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from pledge_registry.complaints import workflow
from pledge_registry.extensions import db
from pledge_registry.models import OutboxMessage
from pledge_registry.outbox import messages
from pledge_registry.urls import absolute_url
from tests.factories import make_filed_complaint, make_merchant, make_pledge
from tests.helpers import complaint_data, csrf_token_in

FORGED = "evil.example"
HEADERS = {"Host": FORGED, "X-Forwarded-Host": FORGED}


@pytest.fixture(params=[0, 1], ids=["direct", "behind-proxy"])
def app_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"PROXY_COUNT": request.param, "BASE_URL": "https://pledge.example.gov.cn"}


def test_no_forged_host_in_pages_json_or_messages(app, client) -> None:
    merchant = make_merchant()
    make_pledge(merchant, "genuine")
    pages = [f"/m/{merchant.badge_code}", f"/m/{merchant.badge_code}.json", "/merchants",
             f"/m/{merchant.badge_code}/complain"]
    seen = []
    for headers in (HEADERS, {}):  # the forged request first, then a plain one (a cache hit)
        for url in pages:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, url
            seen.append((url, response.get_data(as_text=True), dict(response.headers)))
        form = client.get(f"/m/{merchant.badge_code}/complain", headers=headers).get_data(as_text=True)
        data = {**complaint_data(), "csrf_token": csrf_token_in(form)}
        filed = client.post(f"/m/{merchant.badge_code}/complain", data=data, headers=headers)
        assert filed.status_code == 302
        done = client.get(filed.headers["Location"], headers=headers)
        assert done.status_code == 200
        seen.append(("done", done.get_data(as_text=True), dict(filed.headers)))
    for url, body, headers in seen:
        assert FORGED not in body, url
        assert all(FORGED not in value for value in headers.values()), url
    assert "https://pledge.example.gov.cn/m/" in seen[1][1]  # the JSON's links are on BASE_URL

    rows = list(db.session.scalars(select(OutboxMessage)))
    assert rows
    for row in rows:
        rendered = messages.render(row.template, row.context or {}, row.channel,
                                   base_url=app.config["BASE_URL"], sender="局")
        assert FORGED not in rendered.text and FORGED not in repr(row.context)


def test_absolute_urls_outside_a_request_are_on_base_url(app) -> None:
    assert absolute_url("public.scan", code="ABC") == "https://pledge.example.gov.cn/m/ABC"


def test_survey_links_are_on_base_url(app) -> None:
    c = make_filed_complaint(make_merchant())
    with app.test_request_context("/", headers=HEADERS):
        assert workflow.survey_url(c).startswith("https://pledge.example.gov.cn/survey/")
