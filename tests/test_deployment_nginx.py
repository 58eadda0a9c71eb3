"""The freshness contract through the sample deployment: gunicorn on SQLite behind a real
nginx running deploy/nginx.conf (its locations, cache directives and snippets unchanged; only
the port and the temp paths are the test's own).

A decision shows at every scan within FRESHNESS_SECONDS (4 s) of its commit, a crowd's second
scan is served by nginx, and a signed-in answer is never served from or stored in the cache.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pledge_registry import create_app
from pledge_registry.extensions import db
from pledge_registry.models import Pledge, PledgeStatus
from pledge_registry.pledges import services as pledges
from pledge_registry.security import FRESHNESS_SECONDS
from tests.factories import make_merchant, make_pledge, make_user
from tests.helpers import TEST_PASSWORD, base_config
from tests.stack import Phone, app_server, site, stack_or_skip

pytestmark = pytest.mark.slow

# A scan renders in milliseconds; this is the slack for the one render that follows expiry,
# for the polling and for a busy shared machine, not part of the contract.
RENDER_SLACK = 0.5


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[dict[str, Any]]:
    stack_or_skip()
    work = tmp_path_factory.mktemp("stack")
    path = work / "stack.sqlite3"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    app = create_app(base_config(url, work))
    with app.app_context(), app_server(url) as server, site([server], work / "nginx") as nginx:
        yield {"app": app, "nginx": nginx}
        db.session.remove()
        db.engine.dispose()


def _shop() -> tuple[str, str, int]:
    """A shop with a pledge in force: its badge code, its owner's login and the pledge's id.
    Plain values, and the test's transaction ended: outside a request, a SQLite transaction
    here would hold the write lock that the app needs."""
    merchant = make_merchant()
    pledge = make_pledge(merchant)
    shop = (merchant.badge_code, merchant.owner.login_name, pledge.id)
    db.session.commit()
    return shop


def _state(answer: Any) -> str:
    assert answer.status == 200, answer.text[:500]
    return json.loads(answer.body)["state"]


def test_a_crowd_scanning_one_badge_is_served_by_nginx(stack) -> None:
    code, _, _ = _shop()
    phone = Phone(stack["nginx"])
    for path in (f"/m/{code}", f"/m/{code}.json"):
        first, second = phone.get(path), phone.get(path)
        assert first.status == second.status == 200
        assert first.cache == "MISS" and second.cache == "HIT", path
        assert second.body == first.body
        # Only nginx reads the app's instruction; the phone is told to ask again each time.
        assert "X-Accel-Expires" not in second.headers and second.headers["Cache-Control"] == "no-cache"


def test_a_revocation_shows_at_every_scan_within_the_bound(stack) -> None:
    code, _, pledge_id = _shop()
    phone = Phone(stack["nginx"])
    json_path, page_path = f"/m/{code}.json", f"/m/{code}"
    before = phone.get(page_path).body
    assert _state(phone.get(json_path)) == "valid"
    assert phone.get(json_path).cache == "HIT"  # a fresh copy is kept when the decision lands

    staff = make_user(role="staff")
    pledges.decide(staff, db.session.get(Pledge, pledge_id), PledgeStatus.REVOKED, "counterfeit goods found")
    committed = time.monotonic()
    seen = None
    while time.monotonic() - committed < FRESHNESS_SECONDS + 3:
        if _state(phone.get(json_path)) == "revoked" and phone.get(page_path).body != before:
            seen = time.monotonic() - committed
            break
        time.sleep(0.05)
    assert seen is not None, "the revocation never showed through nginx"
    assert seen <= FRESHNESS_SECONDS + RENDER_SLACK, f"shown {seen:.2f} s after the commit"
    # ... and the app itself, asked directly, shows it at once (nothing to wait for there).
    direct = phone.get(json_path, {"Cookie": "session=x"})
    assert direct.cache == "BYPASS" and _state(direct) == "revoked"


def test_the_cache_key_carries_the_language(stack) -> None:
    code, _, _ = _shop()
    path = f"/m/{code}"
    chinese = Phone(stack["nginx"]).get(path)
    english = Phone(stack["nginx"]).get(path, {"Cookie": "lang=en"})
    assert chinese.status == english.status == 200
    assert 'lang="zh' in chinese.text and 'lang="en"' in english.text
    assert Phone(stack["nginx"]).get(path, {"Cookie": "lang=en"}).cache == "HIT"
    assert 'lang="en"' in Phone(stack["nginx"]).get(path, {"Cookie": "lang=en"}).text


def test_a_signed_in_answer_is_never_served_from_or_kept_in_the_cache(stack) -> None:
    code, login_name, _ = _shop()
    path = f"/m/{code}"
    anonymous = Phone(stack["nginx"])
    assert anonymous.get(path).status == 200 and anonymous.get(path).cache == "HIT"

    shopkeeper = Phone(stack["nginx"])
    signed_in = shopkeeper.form_post("/account/login", {"login": login_name, "password": TEST_PASSWORD})
    assert signed_in.status == 302, signed_in.text[:500]
    for url in (path, f"{path}.json", "/"):
        first, second = shopkeeper.get(url), shopkeeper.get(url)
        assert first.cache == second.cache == "BYPASS", url
        assert second.headers["Cache-Control"] == "no-store"
    assert "/account/logout" in shopkeeper.get("/").text
    # The signed-in home page was not stored for the next anonymous visitor.
    for _ in range(2):
        assert "/account/logout" not in anonymous.get("/").text


def test_an_answer_that_sets_a_cookie_is_not_kept(stack) -> None:
    code, _, _ = _shop()
    path = f"/m/{code}?lang=en"
    first = Phone(stack["nginx"]).get(path)
    assert "lang=en" in first.headers["Set-Cookie"]
    second = Phone(stack["nginx"]).get(path)
    assert second.cache == "MISS" and "lang=en" in second.headers["Set-Cookie"]


def _gzipped(answer: Any) -> bytes:
    assert answer.status == 200, answer.text[:500]
    assert answer.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in ", ".join(answer.headers.get_all("Vary") or [])
    return gzip.decompress(answer.body)


@pytest.mark.parametrize("suffix", ["", ".json", "/rating"])
def test_a_phone_that_accepts_gzip_gets_the_same_page_compressed(stack, suffix: str) -> None:
    """Rendered (MISS) or kept (HIT), a page goes out gzipped to a phone that accepts it and
    plain to one that does not, and both are the same page."""
    code, _, _ = _shop()
    path = f"/m/{code}{suffix}"
    phone = Phone(stack["nginx"])
    first = phone.get(path, {"Accept-Encoding": "gzip"})
    assert first.cache == "MISS"
    rendered = _gzipped(first)
    plain = phone.get(path)
    assert plain.cache == "HIT" and "Content-Encoding" not in plain.headers
    assert rendered == plain.body
    kept = phone.get(path, {"Accept-Encoding": "gzip, deflate, br"})
    assert kept.cache == "HIT" and _gzipped(kept) == plain.body
    if suffix == "":  # the scan page shrinks to less than half
        assert len(kept.body) * 2 < len(plain.body)


def test_a_page_nginx_does_not_keep_is_compressed_too(stack) -> None:
    phone = Phone(stack["nginx"])
    first, plain = phone.get("/track", {"Accept-Encoding": "gzip"}), phone.get("/track")
    assert b"<form" in _gzipped(first) and _gzipped(first) == plain.body
    assert "Content-Encoding" not in plain.headers


def test_static_files_carry_their_version_and_are_kept_a_year(stack) -> None:
    phone = Phone(stack["nginx"])
    page = phone.get("/").text
    href = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]{12})"', page).group(1)
    css = (Path(__file__).resolve().parents[1] / "static" / "css" / "app.css").read_bytes()
    versioned = phone.get(href, {"Accept-Encoding": "gzip"})
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert versioned.headers["X-Content-Type-Options"] == "nosniff"
    assert _gzipped(versioned) == css
    unversioned = phone.get("/static/css/app.css")
    assert unversioned.status == 200 and unversioned.body == css
    assert unversioned.headers["Cache-Control"] == "no-cache" and "immutable" not in str(unversioned.headers)
