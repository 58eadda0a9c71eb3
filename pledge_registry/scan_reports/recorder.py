"""Recording a suspicious scan from the scan page, off the scan's own path.

A scan of a valid badge never comes here: its page is answered from the worker's cache
with no write at all. A suspicious scan (an unknown code, a badge that is not valid) is a
row appended to this process's queue; a thread of the worker writes the queue every
SCAN_LOG_FLUSH_MS (1 s) in one executemany, so a crowd scanning a revoked badge costs one
INSERT batch a second per worker instead of a commit per scan (on SQLite each commit also
grows the WAL that every scan's read then walks). With SCAN_LOG_FLUSH_MS=0 (the tests) the
scan's request writes its row itself.

The writes go through the writing thread's own autocommit connection, detached from the
pool like the scan page's reader (public/scan.py): no checkout, no BEGIN/ROLLBACK, no ORM.
Telemetry may lose its last rows in a power cut or a killed worker (at most one interval;
a worker that exits normally writes its queue first), never a complaint: this connection
alone commits without waiting for the disk (SQLite synchronous=NORMAL, PostgreSQL
synchronous_commit=off), and it waits at most LOCK_WAIT_MS for SQLite's write lock. Rows
that could not be written stay queued and go with the next batch; only past MAX_PENDING
rows are dropped, and that is logged.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from flask import current_app, request
from sqlalchemy import Engine

from ..extensions import db
from ..models import SuspiciousScan
from ..models.scans import CODE_LENGTH
from .rules import source_key, source_of

log = logging.getLogger(__name__)

LOCK_WAIT_MS = 250
MAX_PENDING = 20_000  # about 10 s of a worker's scans at full speed, all suspicious
_COLUMNS = ("scanned_at", "code", "state", "merchant_id", "source")
CHUNK_ROWS = 500  # 2,500 parameters a statement, well under SQLite's limit
_writers = threading.local()
_pending: list[tuple[Any, ...]] = []
_pending_lock = threading.Lock()


def record(code: str, state: str, merchant_id: int | None) -> None:
    """Keep one scan of `code`, which stood for `state` (see rules.SUSPICIOUS_STATES)."""
    app = current_app
    if not app.config["SCAN_LOG"]:
        return
    mine = app.extensions.get("scan_recorder")
    if mine is None:  # the hashing key and the engine, looked up once per app
        mine = app.extensions["scan_recorder"] = (source_key(app.config["SECRET_KEY"]), db.engine)
    key, engine = mine
    row = (datetime.now(UTC), code[:CODE_LENGTH], state, merchant_id, source_of(request.remote_addr, key))
    interval = app.config["SCAN_LOG_FLUSH_MS"] / 1000
    if interval <= 0:
        _flusher.engine = None  # a writing thread left from before stops
        with _pending_lock:  # with any row an earlier failure left queued
            rows = [*_pending, row]
            _pending.clear()
        _write(engine, rows)
        return
    with _pending_lock:
        _pending.append(row)
        dropped = len(_pending) - MAX_PENDING
        if dropped > 0:
            del _pending[:dropped]
    if dropped > 0:
        log.warning("%d suspicious scan(s) dropped: the recorder's queue is full", dropped)
    _flusher.engine, _flusher.interval = engine, interval
    if _flusher.pid != os.getpid():  # none yet in this process (or a forked parent's)
        _start_flusher()


def flush(engine: Engine | None = None) -> int:
    """Write every queued scan now, in one batch; how many were written (0 on failure:
    they stay queued for the next batch)."""
    engine = engine or _flusher.engine
    if engine is None:
        return 0
    with _pending_lock:
        rows = _pending[:]
        _pending.clear()
    return _write(engine, rows) if rows else 0


def _write(engine: Engine, rows: list[tuple[Any, ...]]) -> int:
    written = 0
    try:
        conn, insert, bind_time = _writer(engine)
        cursor = conn.cursor()
        try:
            # One multi-row INSERT per chunk: a statement is all or nothing, so rows put back
            # after a failure were never written (executemany in autocommit commits row by row).
            for start in range(0, len(rows), CHUNK_ROWS):
                chunk = rows[start:start + CHUNK_ROWS]
                cursor.execute(insert(len(chunk)), [v for r in chunk for v in (bind_time(r[0]), *r[1:])])
                written += len(chunk)
        finally:
            cursor.close()
    except engine.dialect.loaded_dbapi.Error:
        _drop_writer()
        _keep_for_later(rows[written:])
    return written


class _Flusher:
    """The process's writing thread: its pid, and the engine and interval of the last scan."""

    pid: int | None = None
    engine: Engine | None = None
    interval: float = 1.0


_flusher = _Flusher()
_start_lock = threading.Lock()


def _start_flusher() -> None:
    with _start_lock:
        if _flusher.pid == os.getpid():
            return
        _flusher.pid = os.getpid()
        threading.Thread(target=_flush_loop, name="scan-recorder", daemon=True).start()


def _flush_loop() -> None:
    while True:
        time.sleep(_flusher.interval)
        engine = _flusher.engine
        if engine is None:  # the scans are written in their requests now
            _flusher.pid = None
            return
        try:
            flush(engine)
        except Exception:  # the thread must outlive any one failure: the next batch retries
            log.exception("writing the suspicious scans failed")


@atexit.register
def _flush_at_exit() -> None:
    """A worker that exits normally (a restart, max_requests) writes what it queued."""
    if _flusher.pid == os.getpid() and _pending:
        try:
            flush()
        except Exception:
            log.warning("the last suspicious scans could not be written at exit", exc_info=True)


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


def _writer(engine: Engine) -> tuple[Any, Callable[[int], str], Any]:
    """This thread's writer connection, its INSERT of n rows and the scanned_at bind processor."""
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
        _writers.sql = _insert_builder(engine.dialect.paramstyle)
        processor = SuspiciousScan.__table__.c.scanned_at.type.bind_processor(engine.dialect)
        _writers.bind_time = processor or (lambda value: value)
        _writers.engine, _writers.pid, _writers.conn = engine, os.getpid(), conn
    return _writers.conn, _writers.sql, _writers.bind_time


def _insert_builder(paramstyle: str) -> Callable[[int], str]:
    """The INSERT of n rows for the driver's parameter style, each n built once."""
    head = f"INSERT INTO {SuspiciousScan.__tablename__} ({', '.join(_COLUMNS)}) VALUES "
    width = len(_COLUMNS)

    @lru_cache(maxsize=64)
    def insert(n: int) -> str:
        if paramstyle == "numeric":
            rows = (f"({', '.join(f':{i * width + j + 1}' for j in range(width))})" for i in range(n))
        else:
            mark = "?" if paramstyle == "qmark" else "%s"
            rows = (f"({', '.join([mark] * width)})" for _ in range(n))
        return head + ", ".join(rows)

    return insert


def _drop_writer() -> None:
    conn, _writers.conn = getattr(_writers, "conn", None), None
    if conn is not None and getattr(_writers, "pid", None) == os.getpid():  # never a parent's
        try:
            conn.close()
        except Exception:
            log.info("closing a broken scan recorder connection failed", exc_info=True)
