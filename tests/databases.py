"""The test databases behind the `database_url` fixture: migrated once per test worker
with Alembic (the real migrations, not create_all), then put back in their starting state
before each test (SQLite: a copy of the migrated file; PostgreSQL: TRUNCATE and the
reference data again)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_migrate import upgrade

from pledge_registry import create_app, demo
from pledge_registry.extensions import db
from tests.helpers import base_config

# What every test starts from besides the schema: the city's towns and the pledge templates.
REFERENCE_TABLES = ("town", "commercial_area", "pledge_template")

Reference = dict[str, list[Any]]


def migrate(uri: str, tmp: Path) -> None:
    """Upgrade an empty database with the real migrations, then add the reference data."""
    app = create_app(base_config(uri, tmp))
    with app.app_context():
        upgrade(revision="heads")
        demo.ensure_places()
        demo.ensure_templates()
        db.session.remove()
        db.engine.dispose()


def sqlite_template(path: Path) -> None:
    """A migrated SQLite file at `path`, with its WAL folded in so that a plain copy is whole."""
    migrate(f"sqlite:///{path}", path.parent)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def postgresql_name() -> str:
    """A database name of this test process's own, so that parallel runs never share one."""
    return f"pledge_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


def reference_rows(url: str) -> Reference:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        reference = {t: list(conn.execute(sa.text(f'SELECT * FROM "{t}"')).mappings().all())
                     for t in REFERENCE_TABLES}
    engine.dispose()
    return reference


def reset_postgresql(url: str, reference: Reference) -> None:
    """Empty every table, then put the reference data back (ids included)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
        conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        for table in REFERENCE_TABLES:
            rows = reference[table]
            if rows:
                columns = list(rows[0].keys())
                conn.execute(sa.text(f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES '
                                     f'({", ".join(":" + c for c in columns)})'), [dict(r) for r in rows])
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"COALESCE((SELECT max(id) FROM \"{table}\"), 0) + 1, false)"))
    engine.dispose()
