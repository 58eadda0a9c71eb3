"""SQLite made durable and concurrent enough for several gunicorn workers.

WAL lets readers run beside one writer; busy_timeout makes a writer wait for the lock
instead of failing. busy_timeout does not cover a deferred transaction that upgrades from
read to write (it fails at once with "database is locked"), so every transaction that may
write starts with BEGIN IMMEDIATE: all of them except those of GET/HEAD requests and of a
POST's `read_phase()`. create_app registers the listeners (`configure_sqlite`) on a SQLite
engine only; on PostgreSQL `read_phase()` is just a transaction of its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from .extensions import READ_ONLY_METHODS, db

BUSY_TIMEOUT_MS = 15000


def configure_sqlite(engine: Engine, synchronous: str) -> None:
    """Set the pragmas on every new connection and choose each transaction's BEGIN.

    pysqlite's own transaction handling is switched off so that the BEGIN is ours.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    event.listen(engine, "begin", _begin)


def _begin(conn: Connection) -> None:
    """BEGIN for a read-only request or read phase, BEGIN IMMEDIATE for everything else."""
    read_only = has_request_context() and (request.method in READ_ONLY_METHODS or g.get("read_phase"))
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


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
