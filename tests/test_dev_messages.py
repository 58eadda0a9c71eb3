"""The development messages page: what the log backend would have sent, for staff, in
development only."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from pledge_registry import create_app
from pledge_registry.extensions import db
from pledge_registry.models import SurveyResponse
from pledge_registry.outbox import enqueue
from pledge_registry.outbox.dev_page import Segment, segments
from tests.factories import make_merchant, make_user
from tests.helpers import base_config, csrf_token_in, signed_in_client, text

PAGE = "/staff/dev/messages"


def message(n: int, template: str = "complaint_received", channel: str = "sms", **context: Any) -> None:
    enqueue(channel, "13912345678" if channel == "sms" else "officer@bureau.test", template,
            {"tracking_code": f"CODE{n:04d}", "shop": "鑫华面馆", **context}, dedupe_key=f"test:{n}")


def test_staff_see_the_messages_with_links_to_this_site(app) -> None:
    message(1)
    enqueue("email", "officer@bureau.test", "officer_deadline_reminder",
            {"complaint_id": 7, "deadline": "completion", "due": "2026-12-03 17:00"}, dedupe_key="test:mail")
    db.session.commit()
    page = text(signed_in_client(app, make_user("staff")).get(PAGE))
    assert "CODE0001" in page and "139****5678" in page and "13912345678" not in page
    assert '<a href="http://localhost/track">http://localhost/track</a>' in page
    assert '<a href="http://localhost/staff/complaints/7">' in page
    assert "投诉办结期限将至" in page            # the e-mail's subject


def test_only_links_to_this_site_are_clickable() -> None:
    parts = segments("店名 https://evil.example/x 查询 http://localhost/track 。", "http://localhost")
    assert parts == [Segment("店名 https://evil.example/x 查询 "), Segment("http://localhost/track", link=True),
                     Segment(" 。")]
    assert segments("http://localhost.evil.example/", "http://localhost") == \
        [Segment("http://localhost.evil.example/")]


def test_the_page_is_paginated(app) -> None:
    for n in range(57):
        message(n)
    db.session.commit()
    staff = signed_in_client(app, make_user("staff"))
    first = text(staff.get(PAGE))
    assert "CODE0056" in first and "CODE0006" not in first        # newest first, 50 a page
    later = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = text(staff.get(later))
    assert "CODE0006" in second and "CODE0000" in second and "CODE0056" not in second


def test_merchants_and_visitors_may_not_see_it(app, client) -> None:
    assert signed_in_client(app, make_user("merchant")).get(PAGE).status_code == 403
    assert client.get(PAGE).status_code in (302, 401)


@pytest.mark.parametrize("config", [{"DEV_MESSAGES_PAGE": False}, {"OUTBOX_BACKEND": "smtp"}])
def test_absent_unless_development_and_the_log_backend(database_url, tmp_path, config) -> None:
    app = create_app({**base_config(database_url, tmp_path), **config})
    with app.app_context():
        staff = make_user("staff")
        for who in (signed_in_client(app, staff), app.test_client()):
            assert who.get(PAGE).status_code == 404
        assert "/staff/dev/messages" not in text(signed_in_client(app, staff).get("/staff/"))
        db.session.remove()
        db.engine.dispose()


def test_production_refuses_the_page(monkeypatch, database_url, tmp_path) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(RuntimeError, match="DEV_MESSAGES_PAGE"):
        create_app({**base_config(database_url, tmp_path), "OUTBOX_BACKEND": "composite",
                    "DEV_MESSAGES_PAGE": True})
    monkeypatch.setenv("DEV_MESSAGES_PAGE", "1")
    with pytest.raises(RuntimeError, match="DEV_MESSAGES_PAGE"):
        create_app({**base_config(database_url, tmp_path), "OUTBOX_BACKEND": "composite"})


def test_a_demo_shopper_follows_a_survey_link_from_the_page(app, runner) -> None:
    result = runner.invoke(args=["demo", "load", "--merchants", "24", "--seed", "2"])
    assert result.exit_code == 0, result.output
    staff = signed_in_client(app, make_user("staff"))
    shopper = app.test_client()
    answered = db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse))
    url: str | None = PAGE
    while url:
        page = text(staff.get(url))
        for link in re.findall(r'<a href="(http://localhost/survey/[^"]+)"', page):
            form = shopper.get(link.removeprefix("http://localhost"))
            token = csrf_token_in(text(form))
            if form.status_code == 200 and token:   # a survey not answered yet
                done = shopper.post(link.removeprefix("http://localhost"),
                                    data={"csrf_token": token, "answer": "satisfied"})
                assert done.status_code == 302
                assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == answered + 1
                return
        found = re.search(r'<a rel="next" href="([^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    pytest.fail("no unanswered survey link on the messages page")


def test_the_nav_links_the_page_for_staff(app) -> None:
    make_merchant()
    assert PAGE in text(signed_in_client(app, make_user("staff")).get("/staff/"))
