"""Access, CSRF, headers and error pages across the whole app."""

from __future__ import annotations

import re

import pytest

from pledge_registry import create_app
from pledge_registry.config import load
from tests.factories import make_merchant, make_pledge, make_user
from tests.helpers import csrf_token, login

# Endpoints anyone may use. Every other endpoint must refuse an anonymous visitor.
PUBLIC_ENDPOINTS = {
    "static", "public.home", "public.elder", "public.healthz", "public.scan", "public.scan_json", "public.directory",
    "auth.login", "auth.signup", "auth.welcome", "ratings.breakdown", "nominations.units",
    "publication.public_index", "publication.public_quarter", "publication.public_csv",
    "scan_reports.report", "scan_reports.reported",  # a shopper says where a forged sticker hangs
    "api_docs.openapi_document", "api_docs.docs", "api_docs.docs_asset", "api_docs.open_data_file",
    "open311.service_list",
}
# The shopper's side (filing, tracking, survey) and the public API's reads.
PUBLIC_PREFIXES = ("complaints.", "api_v1.")


def _fill(rule) -> str:  # type: ignore[no-untyped-def]
    """A concrete URL for a rule, with 1 for ints and a plausible value for strings."""
    values = {}
    for arg in rule.arguments:
        converter = rule._converters[arg].__class__.__name__
        values[arg] = 1 if "Integer" in converter else ("genuine" if arg == "kind" else "x")
    path = rule.rule
    for arg, value in values.items():
        path = re.sub(rf"<(?:[^:<>]+:)?{arg}>", str(value), path)
    return path


def _rules(app, method: str):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        if method in rule.methods and rule.endpoint != "static":
            yield rule


def test_every_non_public_endpoint_refuses_anonymous(app, client) -> None:
    checked = 0
    for rule in _rules(app, "GET"):
        public = rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.startswith(PUBLIC_PREFIXES)
        if public:
            continue
        response = client.get(_fill(rule))
        assert response.status_code in (302, 401, 403), (rule.endpoint, response.status_code)
        if response.status_code == 302:
            assert "/account/login" in response.headers["Location"], rule.endpoint
        checked += 1
    assert checked >= 10


def test_every_staff_endpoint_refuses_a_merchant(app, client) -> None:
    merchant = make_user()
    login(client, merchant)
    checked = 0
    for rule in _rules(app, "GET"):
        if rule.rule.startswith("/staff/"):
            response = client.get(_fill(rule))
            assert response.status_code == 403, (rule.endpoint, response.status_code)
            checked += 1
    assert checked >= 20


def test_every_staff_only_endpoint_refuses_a_station(app, client) -> None:
    """A supervision station shares the complaint screens (`officer`) and nothing else meant
    for the bureau's staff: every staff or admin view, by GET or POST, is 403."""
    from tests.factories import make_station, make_station_officer

    area = make_merchant().area_id
    login(client, make_station_officer(make_station(area)))
    token = csrf_token(client, "/account/password")
    checked = 0
    for rule in app.url_map.iter_rules():
        if getattr(app.view_functions[rule.endpoint], "access", None) not in ("staff", "admin"):
            continue
        for method in {"GET", "POST"} & set(rule.methods or ()):
            response = client.open(_fill(rule), method=method, data={"csrf_token": token})
            assert response.status_code == 403, (rule.endpoint, method, response.status_code)
            checked += 1
    assert checked >= 40


def test_the_public_allow_list_is_what_the_views_say(app) -> None:
    """Every view marked @public is on the reviewed list above, and nothing else is open."""
    marked = {endpoint for endpoint, view in app.view_functions.items()
              if getattr(view, "access", None) == "public"}
    assert marked - {"static"} <= PUBLIC_ENDPOINTS | {e for e in marked if e.startswith(PUBLIC_PREFIXES)}


def test_every_post_needs_a_csrf_token(app, client) -> None:
    """No state change without CSRF, for anonymous and signed-in users alike."""
    user = make_user()
    for signed_in in (False, True):
        if signed_in:
            login(client, user)
        for rule in _rules(app, "POST"):
            response = client.post(_fill(rule), data={"x": "1"})
            # A partner's key-authenticated POST has no CSRF token to check: without a key
            # it is refused (401), signed in or not (tests/test_open311.py).
            partner = getattr(app.view_functions[rule.endpoint], "access", None) == "partner"
            refusals = (401,) if partner else (400, 302, 403, 404)
            assert response.status_code in refusals, (rule.endpoint, response.status_code)
            if response.status_code == 302:
                # Only a login redirect is acceptable: nothing was done.
                assert "/account/login" in response.headers["Location"], rule.endpoint


@pytest.fixture
def failing_app(app):  # type: ignore[no-untyped-def]
    @app.route("/__boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret detail that must not leak")

    boom.access = "public"  # type: ignore[attr-defined]
    return app


HEADERS = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@pytest.mark.parametrize("path,status", [("/", 200), ("/no/such/page", 404), ("/__boom", 500)])
def test_security_headers_on_every_status(failing_app, path: str, status: int) -> None:
    client = failing_app.test_client()
    response = client.get(path)
    assert response.status_code == status
    for name, expected in HEADERS.items():
        assert expected in response.headers.get(name, ""), name
    csp = response.headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "frame-ancestors 'none'", "form-action 'self'"):
        assert directive in csp


def test_500_page_shows_an_error_id_and_no_traceback(failing_app, caplog) -> None:
    response = failing_app.test_client().get("/__boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret detail" not in body and "Traceback" not in body
    error_id = re.search(r"<code>([0-9a-f]{12})</code>", body)
    assert error_id, body
    assert any(error_id.group(1) in r.getMessage() for r in caplog.records)


def test_json_errors_use_one_envelope(client) -> None:
    response = client.get("/m/doesnotexist.json")
    assert response.status_code == 404
    assert response.get_json()["error"]["status"] == 404


def test_signed_in_pages_are_not_cached(client) -> None:
    login(client, make_user())
    response = client.get("/portal/")
    assert response.headers["Cache-Control"] == "no-store"


def test_production_config_cookie_flags(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    cfg = load(str(tmp_path))
    assert cfg["SESSION_COOKIE_SECURE"] is True
    assert cfg["REMEMBER_COOKIE_SECURE"] is True
    assert cfg["SESSION_COOKIE_HTTPONLY"] and cfg["REMEMBER_COOKIE_HTTPONLY"]
    assert cfg["SESSION_COOKIE_SAMESITE"] == cfg["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert cfg["HSTS"] is True


def test_production_refuses_to_start_without_a_secret_key(monkeypatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_hsts_in_production(database_url, tmp_path, monkeypatch) -> None:
    from tests.helpers import base_config

    monkeypatch.setenv("APP_ENV", "production")
    app = create_app({**base_config(database_url, tmp_path), "HSTS": True})
    response = app.test_client().get("/healthz")
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_security_events_are_logged_without_secrets(client, caplog) -> None:
    user = make_user()
    caplog.set_level("WARNING", logger="pledge_registry.security")
    from tests.helpers import TEST_PASSWORD, form_post

    form_post(client, "/account/login", {"login": user.login_name, "password": "wrong password here"})
    login(client, user)
    lines = [r.getMessage() for r in caplog.records if r.name == "pledge_registry.security"]
    assert any("event=login_failed" in line for line in lines)
    assert any("event=login " in line and f"user={user.id}" in line for line in lines)
    assert all(TEST_PASSWORD not in line and "wrong password" not in line for line in lines)
    assert all(re.search(r"at=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", line) for line in lines)


def test_scan_page_is_light_and_works_without_javascript(client) -> None:
    merchant = make_merchant()
    make_pledge(merchant, "genuine")
    make_pledge(merchant, "returns")
    response = client.get(f"/m/{merchant.badge_code}")
    body = response.get_data()
    assert len(body) < 30 * 1024
    assert b"<script" not in body
    css = client.get("/static/css/app.css").get_data()
    assert len(body) + len(css) < 30 * 1024


# The merchant portal has one meaning: signed in as a merchant. Every other role gets 403
# (the portal's start page sends staff to their queue instead).
PORTAL_START = "registry.dashboard"


@pytest.mark.parametrize("role", ["staff", "admin", "station"])
def test_every_portal_endpoint_refuses_other_roles(app, client, role: str) -> None:
    from pledge_registry.extensions import db
    from pledge_registry.models import SupervisionStation

    extra = {}
    if role == "station":
        station = SupervisionStation(name="城厢分局")
        db.session.add(station)
        db.session.commit()
        extra = {"station_id": station.id}
    shop = make_merchant()
    make_pledge(shop)
    login(client, make_user(role, **extra))
    checked = 0
    for rule in _rules(app, "GET"):
        if rule.rule.startswith("/portal/") and rule.endpoint != PORTAL_START:
            response = client.get(_fill(rule).replace("/1/", f"/{shop.id}/"))
            assert response.status_code == 403, (rule.endpoint, response.status_code)
            checked += 1
    assert checked >= 12
    access = {getattr(app.view_functions[r.endpoint], "access", None) for r in _rules(app, "GET")
              if r.rule.startswith("/portal/") and r.endpoint != PORTAL_START}
    assert access == {"merchant"}
