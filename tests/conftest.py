"""Fixtures: an app per test on a freshly migrated database, SQLite and PostgreSQL.

Every test that takes `app` (or `client`, `runner` ...) runs once per backend: SQLite
always, PostgreSQL when TEST_DATABASE_URL is set (CI sets it). Each backend is migrated
once per test worker; each test then starts from an empty copy (tests/databases.py).
CSRF stays on in tests: `tests.helpers.form_post` sends a form as a browser would; rows
come from `tests.factories`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pledge_registry import create_app
from pledge_registry.extensions import db, limiter
from tests import databases
from tests.helpers import IsolatedClient, base_config

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with the reference data, to copy for each test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    databases.sqlite_template(path)
    return path


@pytest.fixture(scope="session")
def pg_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, databases.Reference]]:
    """A database of this test process's own on the test server, migrated once, dropped after;
    with the reference data each test starts from."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    name = databases.postgresql_name()
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    databases.migrate(url, tmp_path_factory.mktemp("pg"))
    yield url, databases.reference_rows(url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database in its starting state: migrated, with the reference data only."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url, reference = request.getfixturevalue("pg_database")
    databases.reset_postgresql(url, reference)
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


@pytest.fixture
def client(app: Any) -> Any:
    """A browser: each request in a context of its own (tests.helpers.IsolatedClient)."""
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def english(request: pytest.FixtureRequest) -> None:
    """Ask for English pages (Chinese is the default) in tests that assert English msgids:
    `pytestmark = pytest.mark.usefixtures("english")`."""
    if "client" in request.fixturenames:
        request.getfixturevalue("client").set_cookie("lang", "en")
