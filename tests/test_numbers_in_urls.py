"""Numbers from outside never reach the database unbounded: huge, negative and 64-bit ids
in every int URL parameter, and in the usual query arguments, answer 4xx, never 5xx,
for every rule of the URL map, as anonymous, merchant, staff and admin; nor do control
characters in query-string text or in the path's text (a badge code, a tracking code)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from pledge_registry.extensions import db
from pledge_registry.models import SupervisionStation
from pledge_registry.urls import MAX_ID
from tests.factories import make_filed_complaint, make_merchant, make_pledge, make_user
from tests.helpers import csrf_token, login

HUGE = ("99999999999999999999", "-1", str(2**63), str(MAX_ID + 1))
QUERY_ARGS = ("page", "per_page", "year", "month", "town", "area", "station", "id")
# Signing out in the middle would turn the rest of the walk into an anonymous one.
NOT_POSTED = {"auth.logout"}


def _path(rule: Any, number: str) -> str:
    path = rule.rule
    for arg, converter in rule._converters.items():
        value = number if "Integer" in converter.__class__.__name__ else ("genuine" if arg == "kind" else "x")
        path = re.sub(rf"<(?:[^:<>]+:)?{arg}>", value, path)
    return path


def _query(number: str) -> str:
    return "&".join(f"{name}={number}" for name in QUERY_ARGS)


@pytest.fixture
def records(app: Any) -> None:
    """One of each record, so that the id 1 of most rules exists and pages render fully."""
    shop = make_merchant()
    make_pledge(shop, "genuine")
    make_pledge(shop, "returns", status="submitted")
    make_filed_complaint(shop, now=datetime.now(UTC))


def _walk(app: Any, client: Any, who: str) -> list[tuple[str, str, int]]:
    failures = []
    token = csrf_token(client, "/account/login" if who == "anonymous" else "/account/password")
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        has_int = any("Integer" in c.__class__.__name__ for c in rule._converters.values())
        urls = [_path(rule, n) for n in HUGE] if has_int else []
        urls += [f"{_path(rule, '1')}?{_query(n)}" for n in HUGE]
        for url in urls:
            response = client.get(url)
            if response.status_code >= 500:
                failures.append(("GET", url, response.status_code))
            if "POST" in rule.methods and rule.endpoint not in NOT_POSTED:
                response = client.post(url, data={"csrf_token": token, **dict.fromkeys(QUERY_ARGS, HUGE[0])})
                if response.status_code >= 500:
                    failures.append(("POST", url, response.status_code))
    return failures


@pytest.mark.parametrize("who", ["anonymous", "merchant", "staff", "admin", "station"])
def test_no_number_from_outside_answers_5xx(app, client, records, who: str) -> None:
    if who == "station":
        station = SupervisionStation(name="城厢监督站")
        db.session.add(station)
        db.session.commit()
        login(client, make_user(who, station_id=station.id))
    elif who != "anonymous":
        login(client, make_user(who))
    assert _walk(app, client, who) == []


# Free text from the query string (a search box) has the same class of error: PostgreSQL
# refuses NUL in text. Every GET of the map, with control characters in the usual text args.
TEXT_ARGS = ("q", "code", "status", "kind", "category", "lang")
CONTROL = "%00x%01%7f%c2%85"


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_no_control_character_in_a_query_answers_5xx(app, client, records, who: str) -> None:
    if who != "anonymous":
        login(client, make_user(who))
    query = "&".join(f"{name}={CONTROL}" for name in TEXT_ARGS)
    failures = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "GET" not in rule.methods:
            continue
        url = f"{_path(rule, '1')}?{query}"
        response = client.get(url)
        if response.status_code >= 500:
            failures.append((url, response.status_code))
    assert failures == []


# Text in the path (a badge code, a tracking code, a file name) is the same: every rule with
# a text parameter, given one with control characters, as a visitor and as staff.
PATH_TEXT = ("x%00y", "%00", "%01%7f%c2%85", "a" * 300 + "%00")


def _text_path(rule: Any, text: str) -> str:
    path = rule.rule
    for arg, converter in rule._converters.items():
        value = "1" if "Integer" in converter.__class__.__name__ else ("genuine" if arg == "kind" else text)
        path = re.sub(rf"<(?:[^:<>]+:)?{arg}>", value, path)
    return path


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_no_control_character_in_a_path_answers_5xx(app, client, records, who: str) -> None:
    if who != "anonymous":
        login(client, make_user(who))
    token = csrf_token(client, "/account/login" if who == "anonymous" else "/account/password")
    failures = []
    for rule in app.url_map.iter_rules():
        texts = [arg for arg, c in rule._converters.items()
                 if "Integer" not in c.__class__.__name__ and arg != "kind"]
        if rule.endpoint == "static" or not texts:
            continue
        for text in PATH_TEXT:
            url = _text_path(rule, text)
            if "GET" in rule.methods and client.get(url).status_code >= 500:
                failures.append(("GET", url))
            if "POST" in rule.methods and rule.endpoint not in NOT_POSTED \
                    and client.post(url, data={"csrf_token": token}).status_code >= 500:
                failures.append(("POST", url))
    assert failures == []
