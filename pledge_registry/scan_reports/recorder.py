"""Recording a suspicious scan from the scan page: one INSERT, on a connection of its own.

A scan of a valid badge never comes here: its page is answered from the worker's cache
with no write at all. A suspicious scan (an unknown code, a badge that is not valid) costs
one INSERT on this thread's own autocommit connection, detached from the pool like the
scan page's reader (public/scan.py): no checkout, no BEGIN/ROLLBACK, no ORM. Telemetry may
lose its last rows in a power cut, never a complaint: this connection alone commits without
waiting for the disk (SQLite synchronous=NORMAL, PostgreSQL synchronous_commit=off), and it
waits at most LOCK_WAIT_MS for SQLite's write lock. A row that could not be written stays
in a small per-process queue and goes with the next one; only past MAX_PENDING rows are
dropped, and that is logged.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime
from typing import Any

from flask import current_app, request
from sqlalchemy import Engine

from ..extensions import db
from ..models import SuspiciousScan
from ..models.scans import CODE_LENGTH
from .rules import source_key, source_of

log = logging.getLogger(__name__)

LOCK_WAIT_MS = 250
MAX_PENDING = 1000
_COLUMNS = ("scanned_at", "code", "state", "merchant_id", "source")
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s", "numeric": ":1"}
_writers = threading.local()
_pending: list[tuple[Any, ...]] = []
_pending_lock = threading.Lock()


def record(code: str, state: str, merchant_id: int | None) -> None:
    """Keep one scan of `code`, which stood for `state` (see rules.SUSPICIOUS_STATES)."""
    app = current_app
    if not app.config["SCAN_LOG"]:
        return
    key = app.extensions.get("scan_source_key")
    if key is None:
        key = app.extensions["scan_source_key"] = source_key(app.config["SECRET_KEY"])
    engine = db.engine
    row = (datetime.now(UTC), code[:CODE_LENGTH], state, merchant_id, source_of(request.remote_addr, key))
    with _pending_lock:
        rows = [*_pending, row]
        _pending.clear()
    try:
        conn, sql, bind_time = _writer(engine)
        cursor = conn.cursor()
        try:
            if len(rows) == 1:
                cursor.execute(sql, (bind_time(row[0]), *row[1:]))
            else:
                cursor.executemany(sql, [(bind_time(r[0]), *r[1:]) for r in rows])
        finally:
            cursor.close()
    except engine.dialect.loaded_dbapi.Error:
        _drop_writer()
        _keep_for_later(rows)


def _keep_for_later(rows: list[tuple[Any, ...]]) -> None:
    with _pending_lock:
        _pending[:0] = rows
        dropped = len(_pending) - MAX_PENDING
        if dropped > 0:
            del _pending[:dropped]
    log.warning("a suspicious scan could not be written (kept to retry with the next one)%s",
                f"; {dropped} older one(s) dropped" if dropped > 0 else "", exc_info=True)


def pending() -> int:
    """How many scans wait to be written (for tests and the log)."""
    return len(_pending)


def _writer(engine: Engine) -> tuple[Any, str, Any]:
    """This thread's writer connection, its INSERT and the scanned_at bind processor."""
    if (getattr(_writers, "conn", None) is None or _writers.engine is not engine
            or _writers.pid != os.getpid()):
        _drop_writer()
        fairy = engine.raw_connection()
        fairy.detach()  # ours: the pool neither resets nor hands it out
        conn = fairy.dbapi_connection
        if conn is None:
            raise RuntimeError("the scan recorder's connection has no DB-API connection")
        cursor = conn.cursor()
        try:
            if engine.dialect.name == "sqlite":  # already in autocommit (sqlite_tuning.py)
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")
            else:
                conn.autocommit = True
                cursor.execute("SET synchronous_commit = off")
                cursor.execute(f"SET statement_timeout = {LOCK_WAIT_MS * 4}")
        finally:
            cursor.close()
        mark = _PLACEHOLDERS[engine.dialect.paramstyle]
        _writers.sql = (f"INSERT INTO {SuspiciousScan.__tablename__} ({', '.join(_COLUMNS)}) "
                        f"VALUES ({', '.join([mark] * len(_COLUMNS))})")
        processor = SuspiciousScan.__table__.c.scanned_at.type.bind_processor(engine.dialect)
        _writers.bind_time = processor or (lambda value: value)
        _writers.engine, _writers.pid, _writers.conn = engine, os.getpid(), conn
    return _writers.conn, _writers.sql, _writers.bind_time


def _drop_writer() -> None:
    conn, _writers.conn = getattr(_writers, "conn", None), None
    if conn is not None and getattr(_writers, "pid", None) == os.getpid():  # never a parent's
        try:
            conn.close()
        except Exception:
            log.info("closing a broken scan recorder connection failed", exc_info=True)
