"""Fixtures: an app per test on a freshly migrated database, SQLite and PostgreSQL.

Every test that takes `app` (or `client`, `db_session` ...) runs once per backend:
SQLite always, PostgreSQL when TEST_DATABASE_URL is set (CI sets it). Each backend is
migrated once per test worker with Alembic (the real migrations, not create_all); each
test then starts from an empty copy (SQLite: a file copy; PostgreSQL: TRUNCATE).
CSRF stays on in tests: use `form_post` to send a form as a browser would.
"""

from __future__ import annotations

import contextvars
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from pledge_registry import create_app
from pledge_registry.extensions import db, limiter

TEST_PASSWORD = "correct horse battery staple"
# A cheap scrypt cost keeps logins fast in tests; production uses werkzeug's default cost.
FAST_SCRYPT = "scrypt:1024:8:1"
_HASH = generate_password_hash(TEST_PASSWORD, method=FAST_SCRYPT)
PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def base_config(uri: str, tmp: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": uri,
        "RATELIMIT_STORAGE_URI": "memory://",
        "BASE_URL": "http://localhost",
        "SQLITE_SYNCHRONOUS": "NORMAL",
        "UPLOAD_FOLDER": str(tmp / "uploads"),
        "SERVER_NAME": None,
        "PASSWORD_HASH_METHOD": FAST_SCRYPT,
        "DEMO_LOGINS_FILE": str(tmp / "demo_logins.txt"),
    }


def _migrate(uri: str, tmp: Path) -> None:
    """Upgrade an empty database with the real migrations, then add the reference data
    every test starts from (the city's towns and the pledge templates)."""
    from flask_migrate import upgrade

    from pledge_registry import demo

    app = create_app(base_config(uri, tmp))
    with app.app_context():
        upgrade(revision="heads")
        demo.ensure_places()
        demo.ensure_templates()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("sqlite-template")
    path = tmp / "template.sqlite3"
    _migrate(f"sqlite:///{path}", tmp)
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def pg_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this test run's own on the test server, migrated once, dropped after."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    name = f"pledge_test_{_worker()}_{os.getpid()}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    _migrate(url, tmp_path_factory.mktemp("pg"))
    engine = sa.create_engine(url)
    with engine.connect() as conn:  # what each test starts from: the reference data
        reference = {t: conn.execute(sa.text(f'SELECT * FROM "{t}"')).mappings().all()
                     for t in _REFERENCE_TABLES}
    engine.dispose()
    _PG_REFERENCE[url] = reference
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


_REFERENCE_TABLES = ("town", "commercial_area", "pledge_template")
_PG_REFERENCE: dict[str, dict[str, Any]] = {}


def _reset_pg(url: str) -> None:
    """Empty every table, then put the reference data back (ids included)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
        conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        for table in _REFERENCE_TABLES:
            rows = _PG_REFERENCE[url][table]
            if rows:
                columns = list(rows[0].keys())
                conn.execute(sa.text(f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES '
                                     f'({", ".join(":" + c for c in columns)})'), [dict(r) for r in rows])
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"COALESCE((SELECT max(id) FROM \"{table}\"), 0) + 1, false)"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database in its starting state: migrated, with the reference data only."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    _reset_pg(url)
    return url


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Override in a test module to change the configuration of its `app`."""
    return {}


@pytest.fixture
def app(database_url: str, tmp_path: Path, app_config: dict[str, Any]) -> Iterator[Any]:
    """A fresh app on a fresh database, with an app context open for the test body."""
    application = create_app({**base_config(database_url, tmp_path), **app_config})
    with application.app_context():
        limiter.reset()
        yield application
        db.session.remove()
        db.engine.dispose()


class IsolatedClient(FlaskClient):
    """A test client whose requests run as in production: each in its own app context.

    The `app` fixture keeps an app context open for the test body (factories, asserts).
    Flask would reuse it for requests, sharing `g` (Flask-Login's user, the locale) and the
    database session between requests, which hides bugs (a replayed cookie after logout
    would still be "logged in"). Each request therefore runs in an empty contextvars
    context; the test's own session commits before it (like another process would have)
    and forgets its cached state after it, so the next read sees what the request wrote.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        outer = has_app_context()
        if outer:
            db.session.commit()
        try:
            return contextvars.Context().run(super().open, *args, **kwargs)
        finally:
            if outer:
                db.session.expire_all()


@pytest.fixture
def client(app: Any) -> Any:
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


# --- factories ------------------------------------------------------------------------

_counter = iter(range(10**9))


def make_user(role: str = "merchant", **overrides: Any) -> Any:
    from pledge_registry.models import User

    n = next(_counter)
    fields: dict[str, Any] = {"email": f"user{n}@example.test", "display_name": f"User {n}",
                              "password_hash": _HASH, "role": role}
    fields.update(overrides)
    user = User(**fields)
    db.session.add(user)
    db.session.commit()
    return user


def make_merchant(owner: Any = None, status: str = "approved", **overrides: Any) -> Any:
    from pledge_registry import demo
    from pledge_registry.models import Merchant, Town, address_key

    import random

    owner = owner or make_user()
    town = db.session.scalar(sa.select(Town).order_by(Town.id))
    n = next(_counter)
    fields: dict[str, Any] = {
        "owner_id": owner.id, "credit_code": demo.random_credit_code(random.Random(n)),
        "legal_name": f"太仓市测试{n}有限公司", "shop_name": f"测试小店{n}", "address": f"人民路{n}号",
        "town_id": town.id, "area_id": town.areas[0].id if town.areas else None, "category": "food",
        "contact_name": "张三", "contact_phone": "13812345678", "opening_hours": "09:00-21:00",
        "status": status,
    }
    fields.update(overrides)
    fields.setdefault("address_key", address_key(fields["address"]))
    merchant = Merchant(**fields)
    db.session.add(merchant)
    db.session.commit()
    return merchant


def make_pledge(merchant: Any, kind: str = "genuine", status: str = "active", **overrides: Any) -> Any:
    from datetime import UTC, datetime, timedelta

    from pledge_registry.models import Pledge, PledgeTemplate

    template = db.session.scalar(sa.select(PledgeTemplate).where(PledgeTemplate.kind == kind)
                                 .order_by(PledgeTemplate.version.desc()))
    now = datetime.now(UTC)
    fields: dict[str, Any] = {"merchant_id": merchant.id, "kind": kind, "template_id": template.id,
                              "status": status, "signed_by_id": merchant.owner_id,
                              "submitted_at": now}
    if kind == "returns":
        fields.update(return_days=15, refund_method="original", refund_days=3,
                      conditions="商品完好", excluded_goods=["custom"])
    if status in ("active", "suspended", "revoked", "expired"):
        fields.update(activated_at=now - timedelta(days=10), expires_at=now + timedelta(days=355))
    fields.update(overrides)
    pledge = Pledge(**fields)
    db.session.add(pledge)
    db.session.commit()
    db.session.refresh(merchant)
    return pledge


# --- browser-like form posts ------------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: Any, url: str) -> str:
    page = client.get(url)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} (status {page.status_code})"
    return match.group(1)


def form_post(client: Any, url: str, data: dict[str, Any], form_url: str | None = None,
              **kwargs: Any) -> Any:
    """POST a form with the CSRF token a browser would have from the form's page."""
    token = csrf_token(client, form_url or url)
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


def login(client: Any, user: Any, password: str = TEST_PASSWORD) -> Any:
    response = form_post(client, "/account/login", {"login": user.login_name, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def english(request: pytest.FixtureRequest) -> None:
    """Ask for English pages (Chinese is the default) in tests that assert English msgids:
    `pytestmark = pytest.mark.usefixtures("english")`."""
    if "client" in request.fixturenames:
        request.getfixturevalue("client").set_cookie("lang", "en")
