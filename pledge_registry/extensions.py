"""Flask extensions, created unbound; create_app() calls init_app() on each."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import g, has_request_context, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from .database import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@limiter.request_filter
def _reads_are_not_limited() -> bool:
    """Every rate limit of the app is on a POST (sign-in, filing, tracking look-up); a
    read is never counted. Without this filter Flask-Limiter still resolves the limits of
    every GET (~4% of a page like the complaint confirmation). create_app refuses a limit
    that would count reads (check_limits_count_writes_only), so none is skipped here."""
    return request.method in _READ_ONLY_METHODS


def check_limits_count_writes_only(groups: Mapping[str, Iterable[Any]] | None = None) -> None:
    """Refuse, at start-up, a rate limit that applies to GET/HEAD/OPTIONS (see above): a
    route's, a blueprint's, the default or the application-wide limits."""
    if groups is None:
        manager = limiter.limit_manager
        try:  # Flask-Limiter keeps them privately; if that changes, fail rather than skip limits
            groups = {"the default limits": manager._default_limits,
                      "the application limits": manager._application_limits,
                      **{f"blueprint {name}": limits for name, limits in manager._blueprint_limits.items()},
                      **manager._decorated_limits}
        except AttributeError as err:
            raise RuntimeError("cannot list Flask-Limiter's limits to check them") from err
    for route, limits in groups.items():
        for limit in limits:
            methods = {m.upper() for m in (limit.methods or ())}
            if not methods or methods & _READ_ONLY_METHODS:
                raise RuntimeError(f"the rate limit on {route} counts reads: give it methods=['POST']")


def configure_sqlite(engine: Engine, synchronous: str) -> None:
    """Make SQLite durable and concurrent enough for several gunicorn workers.

    WAL lets readers run beside one writer; busy_timeout makes a writer wait for the lock
    instead of failing. busy_timeout does not cover a deferred transaction that upgrades
    from read to write (it fails at once with "database is locked"), so every transaction
    that may write starts with BEGIN IMMEDIATE: all of them except those of GET/HEAD
    requests. pysqlite's own transaction handling is switched off so that we emit BEGIN.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # Straight to the driver: exec_driver_sql's execution context cost more than the
        # statement, three times per complaint filed.
        read_only = has_request_context() and (request.method in _READ_ONLY_METHODS or g.get("read_phase"))
        statement = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        try:
            conn.connection.driver_connection.execute(statement)
        except sqlite3.Error as err:  # as SQLAlchemy would have raised it ("database is locked" …)
            raise DBAPIError.instance(statement, None, err, sqlite3.Error) from err


@contextmanager
def read_phase() -> Iterator[None]:
    """The reads a POST makes before it decides to write, in a transaction of their own.

    On SQLite that transaction is deferred (it takes no write lock, so concurrent
    submissions do not queue behind each other's form checks) and it ends with the block;
    the writes that follow start a new, immediate one. Objects loaded inside are expired
    when it ends: keep their ids, not the objects.
    """
    g.read_phase = True
    try:
        yield
    finally:
        g.read_phase = False
        db.session.rollback()
