"""Accounts through the browser's eyes: sign-up, sign-in limits, sessions, passwords.

"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import select

from pledge_registry.extensions import db
from pledge_registry.models import User
from tests.factories import make_merchant, make_user
from tests.helpers import TEST_PASSWORD, form_post, limit_count, login

pytestmark = pytest.mark.usefixtures("english")

LOGIN = "/account/login"
SIGNUP = "/account/signup"
PASSWORD = "/account/password"
DASHBOARD = "/portal/"
STAFF_HOME = "/staff/"

# 64 characters of Chinese, punctuation, an emoji and a space: any Unicode is allowed.
UNICODE_PASSPHRASE = ("雨后的太仓老街，石板路上映着灯笼的红光 🏮 " * 4)[:64]
assert len(UNICODE_PASSPHRASE) == 64


def _signup(client, login_name: str, password: str, confirm: str | None = None, name: str = "李四"):
    return form_post(client, SIGNUP, {"login": login_name, "display_name": name, "password": password,
                                      "confirm": password if confirm is None else confirm})


def _login_attempt(client, login_name: str, password: str, **kwargs):
    return form_post(client, LOGIN, {"login": login_name, "password": password}, **kwargs)


def _user(login_name: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where((User.email == login_name) | (User.phone == login_name)))


def _signed_in(client) -> bool:
    """Whether the client's cookies open the merchant portal (not bounced to the login page)."""
    return client.get(DASHBOARD).status_code == 200


# --- passwords ------------------------------------------------------------


@pytest.mark.parametrize(("password", "accepted"), [
    ("a" * 11, False),
    ("elevenchars", False),
    ("twelve chars", True),
    (UNICODE_PASSPHRASE, True),
    ("x" * 256, True),
    ("x" * 257, False),
])
def test_signup_password_length(client, password, accepted):
    response = _signup(client, "13912345678", password)
    user = _user("13912345678")
    if accepted:
        assert response.status_code == 302
        assert user is not None
        assert user.password_hash.startswith("scrypt:")
        assert password not in user.password_hash
    else:
        assert response.status_code == 400
        assert user is None
        assert "Use at least 12 characters" in response.get_data(as_text=True) or password == "x" * 257


def test_unicode_passphrase_signs_in(client, app):
    assert _signup(client, "shop@example.test", UNICODE_PASSPHRASE).status_code == 302
    other = app.test_client()
    response = _login_attempt(other, "shop@example.test", UNICODE_PASSPHRASE)
    assert response.status_code == 302
    assert _signed_in(other)


def test_signup_keeps_input_and_explains_errors(client):
    response = _signup(client, "13912345678", "short", name="王五")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="13912345678"' in page and 'value="王五"' in page
    assert 'class="error"' in page
    assert "short" not in page.split("<main>")[1].split('name="password"')[1].split(">")[0]  # never echo a password


@pytest.mark.parametrize(("login_name", "message", "status"), [
    ("12345", "Enter a mainland mobile number", 400),
    ("23912345678", "Enter a mainland mobile number", 400),
    ("taken@example.test", "already exists", 409),  # a clash with an existing account
    ("TAKEN@example.test", "already exists", 409),
])
def test_signup_refuses_bad_or_taken_logins(client, login_name, message, status):
    make_user(email="taken@example.test")
    response = _signup(client, login_name, TEST_PASSWORD)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)


# --- brute force ------------------------------------------------------------


def test_failed_logins_limited_per_account(client, app):
    user = make_user()
    limit = limit_count(app.config["LOGIN_LIMIT_PER_ACCOUNT"])
    for attempt in range(limit):
        # From a different address each time: the account limit must not depend on the IP.
        env = {"REMOTE_ADDR": f"10.0.0.{attempt + 1}"}
        assert _login_attempt(client, user.login_name, "wrong password!!", environ_base=env).status_code == 400
    blocked = _login_attempt(client, user.login_name, TEST_PASSWORD, environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert blocked.status_code == 429
    # Another account from the same addresses is not affected.
    assert login(app.test_client(), make_user()).status_code == 302


def test_failed_logins_limited_per_ip(client, app):
    user = make_user()
    limit = limit_count(app.config["LOGIN_LIMIT_PER_IP"])
    for attempt in range(limit):
        assert _login_attempt(client, f"nobody{attempt}@example.test", "wrong password!!").status_code == 400
    assert _login_attempt(client, user.login_name, TEST_PASSWORD).status_code == 429
    # The same account from another address still signs in.
    other = _login_attempt(client, user.login_name, TEST_PASSWORD, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 302


def test_successful_logins_do_not_count(client, app):
    user = make_user()
    for _ in range(limit_count(app.config["LOGIN_LIMIT_PER_ACCOUNT"]) + 2):
        assert _login_attempt(client, user.login_name, TEST_PASSWORD).status_code == 302


@pytest.mark.parametrize(("login_name", "password"), [
    ("unknown@example.test", TEST_PASSWORD),
    ("known@example.test", "not the password at all"),
    ("known@example.test", ""),
])
def test_failed_login_says_nothing_about_which_part_was_wrong(client, login_name, password):
    make_user(email="known@example.test")
    response = _login_attempt(client, login_name, password)
    assert response.status_code == 400
    assert not _signed_in(client)


def test_disabled_account_cannot_sign_in(client):
    user = make_user(disabled=True)
    assert _login_attempt(client, user.login_name, TEST_PASSWORD).status_code == 400


# --- sessions end at logout and password change -------------------------------


def _session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _replay(app, name: str, value: str):
    other = app.test_client()
    other.set_cookie(name, value)
    return other


def test_login_issues_a_fresh_session(client):
    client.get("/?lang=en")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    login(client, make_user())
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess.get("lang", "en") == "en"


def test_session_cookie_replayed_after_logout_is_not_signed_in(client, app):
    user = make_user()
    login(client, user)
    captured = _session_cookie(client)
    assert _signed_in(_replay(app, "session", captured))
    response = form_post(client, "/account/logout", {}, form_url=DASHBOARD)
    assert response.status_code == 302
    assert not _signed_in(client)
    assert not _signed_in(_replay(app, "session", captured))


def test_remember_cookie_replayed_after_logout_is_not_signed_in(client, app):
    user = make_user()
    form_post(client, LOGIN, {"login": user.login_name, "password": TEST_PASSWORD, "remember": "y"})
    remember = client.get_cookie("remember_token")
    assert remember is not None
    assert _signed_in(_replay(app, "remember_token", remember.value))
    form_post(client, "/account/logout", {}, form_url=DASHBOARD)
    assert not _signed_in(_replay(app, "remember_token", remember.value))


def test_password_change_ends_other_sessions(client, app):
    user = make_user()
    phone = app.test_client()
    login(client, user)
    login(phone, user)
    captured = _session_cookie(client)
    response = form_post(client, PASSWORD, {"current": TEST_PASSWORD, "password": "a brand new passphrase",
                                            "confirm": "a brand new passphrase"})
    assert response.status_code == 302
    assert _signed_in(client), "the device that changed the password stays signed in"
    assert not _signed_in(phone)
    assert not _signed_in(_replay(app, "session", captured))


def test_logout_is_post_only(client):
    login(client, make_user())
    assert client.get("/account/logout").status_code == 405
    assert client.post("/account/logout").status_code == 400  # no CSRF token
    assert _signed_in(client)


# --- staff sessions --------------------------------------------------------


def _shift_session(client, login_at: timedelta, seen_at: timedelta) -> None:
    now = datetime.now(UTC).timestamp()
    with client.session_transaction() as sess:
        sess["login_at"] = now + login_at.total_seconds()
        sess["seen_at"] = now + seen_at.total_seconds()


@pytest.mark.parametrize(("since_login", "since_seen", "still_in"), [
    (timedelta(minutes=29), timedelta(minutes=29), True),
    (timedelta(minutes=31), timedelta(minutes=31), False),
    (timedelta(hours=11, minutes=59), timedelta(minutes=1), True),
    (timedelta(hours=12, minutes=1), timedelta(minutes=1), False),
])
def test_staff_session_timeouts(client, since_login, since_seen, still_in):
    login(client, make_user("staff"))
    assert client.get(STAFF_HOME).status_code == 200
    _shift_session(client, -since_login, -since_seen)
    response = client.get(STAFF_HOME)
    if still_in:
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == LOGIN
        assert client.get(STAFF_HOME).status_code == 302, "the timed-out session is gone"


def test_staff_activity_keeps_the_session_alive(client):
    login(client, make_user("staff"))
    _shift_session(client, -timedelta(hours=2), -timedelta(minutes=29))
    assert client.get(STAFF_HOME).status_code == 200
    with client.session_transaction() as sess:
        assert datetime.now(UTC).timestamp() - sess["seen_at"] < 60


def test_merchant_sessions_have_no_idle_timeout(client):
    login(client, make_user())
    _shift_session(client, -timedelta(hours=3), -timedelta(hours=2))
    assert client.get(DASHBOARD).status_code == 200


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_staff_never_get_a_remember_cookie(client, role):
    user = make_user(role)
    response = form_post(client, LOGIN, {"login": user.login_name, "password": TEST_PASSWORD, "remember": "y"})
    assert response.status_code == 302
    assert client.get_cookie("remember_token") is None


def test_merchant_gets_a_remember_cookie_when_asked(client):
    user = make_user()
    form_post(client, LOGIN, {"login": user.login_name, "password": TEST_PASSWORD, "remember": "y"})
    assert client.get_cookie("remember_token") is not None


# --- a password change needs the current password -------------------------------


@pytest.mark.parametrize(("current", "new", "confirm", "message"), [
    ("not my password!", "a brand new passphrase", "a brand new passphrase", "The current password is not right."),
    ("", "a brand new passphrase", "a brand new passphrase", None),
    (TEST_PASSWORD, "too short", "too short", "Use at least 12 characters"),
    (TEST_PASSWORD, "a brand new passphrase", "a different passphrase", "The two passwords differ."),
])
def test_password_change_refused(client, current, new, confirm, message):
    user = make_user()
    before = user.password_hash
    login(client, user)
    response = form_post(client, PASSWORD, {"current": current, "password": new, "confirm": confirm})
    assert response.status_code == 400
    if message:
        assert message in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.password_hash == before
    assert _signed_in(client)


def test_password_change_takes_effect(client, app):
    user = make_user()
    login(client, user)
    response = form_post(client, PASSWORD, {"current": TEST_PASSWORD, "password": "a brand new passphrase",
                                            "confirm": "a brand new passphrase"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.password_hash.startswith("scrypt:")
    assert _login_attempt(app.test_client(), user.login_name, TEST_PASSWORD).status_code == 400
    assert _login_attempt(app.test_client(), user.login_name, "a brand new passphrase").status_code == 302


def test_password_page_needs_a_login(client):
    response = client.get(PASSWORD)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == LOGIN


# --- next= stays on this site ------------------------------------------------


@pytest.mark.parametrize("target", [
    "https://evil.com",
    "http://evil.com/portal/",
    "//evil.com",
    "///evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "javascript:alert(1)",
    "evil.com",
    " //evil.com",
])
def test_login_ignores_next_to_another_site(client, target):
    user = make_user()
    response = form_post(client, f"{LOGIN}?next={quote(target, safe='')}",
                         {"login": user.login_name, "password": TEST_PASSWORD})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.netloc in ("", "localhost")
    assert location.path == DASHBOARD


def test_login_follows_next_on_this_site(client):
    user = make_user()
    merchant = make_merchant(owner=user)
    target = f"/portal/shops/{merchant.id}"
    response = form_post(client, f"{LOGIN}?next={quote(target, safe='')}",
                         {"login": user.login_name, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == target


def test_login_page_keeps_next_when_the_form_is_refused(client):
    page = client.get(f"{LOGIN}?next=%2Fportal%2Fshops%2Fnew").get_data(as_text=True)
    assert "<form method=\"post\" novalidate>" in page  # posts back to the same address, next= included


def test_signed_in_user_skips_signup(client):
    login(client, make_user())
    response = client.get(SIGNUP)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == DASHBOARD
