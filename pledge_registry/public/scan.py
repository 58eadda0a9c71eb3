"""The scan page's facts and its per-process cache.

Peak traffic is many phones scanning the same few badges at once (15 March, mall events),
so the page is rendered once per content and served from memory. Correctness rests on
Merchant.public_version, which every change that alters the page bumps in the same
transaction: each request reads that one integer (an indexed lookup), so a suspension
shows at the very next scan. On PostgreSQL the worker's listener (scan_listener.py) knows
the integer without asking while a trigger's notifications keep it true, and the scan
asks the database whenever the listener cannot vouch for it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Engine, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..localtime import LOCAL_TZ, local_today
from ..models import Merchant, Pledge
from ..pledges.standing import ShopStanding
from .scan_listener import listener


@dataclass(frozen=True)
class CachedPage:
    body: bytes
    etag: str
    valid_until: datetime  # the page changes by itself then (a pledge expires, the date turns)
    # Every header a hit sends, built once with the page: a hit only copies them.
    headers: tuple[tuple[str, str], ...] = ()
    state: str = ""  # the shop's standing the page shows (a hit knows it without asking)


class PageCache:
    """A bounded LRU of rendered pages, shared by the threads of one worker.

    A hit takes no lock: each dict operation is atomic under the GIL, and a page that
    another thread evicts or replaces meanwhile is still a whole, correct page for its key.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple, CachedPage] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, now: datetime) -> CachedPage | None:
        page = self._items.get(key)
        if page is None:
            return None
        if page.valid_until <= now:
            self._items.pop(key, None)
            return None
        try:
            self._items.move_to_end(key)
        except KeyError:  # evicted by another thread just now: still a whole page for its key
            return page
        return page

    def put(self, key: tuple, page: CachedPage) -> None:
        with self._lock:
            self._items[key] = page
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


log = logging.getLogger(__name__)

_VERSION_SQL = "SELECT id, public_version FROM merchant WHERE badge_code = {}"
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s", "numeric": ":1"}
_readers = threading.local()


def _reader(engine: Engine) -> tuple[Any, str]:
    """This thread's own autocommit DBAPI connection for version_of, and its SQL.

    Taken out of the pool once (per process, thread and engine: never shared across a fork),
    so that a scan costs one round trip, the SELECT itself, instead of a pool checkout with
    its ping, BEGIN, the SELECT and the ROLLBACK on return. In autocommit each SELECT sees
    everything committed before it, as a new transaction would.
    """
    # The engine itself, not id(engine): a new app's engine may reuse a dead one's id.
    if (getattr(_readers, "conn", None) is None or _readers.engine is not engine
            or _readers.pid != os.getpid()):
        _drop_reader()
        fairy = engine.raw_connection()
        fairy.detach()  # ours now: the pool neither resets nor hands it out
        conn = fairy.dbapi_connection
        if conn is None:  # a pooled connection always has one; a detached one it keeps
            raise RuntimeError("the scan reader's connection has no DB-API connection")
        if engine.dialect.name != "sqlite":  # SQLite's is already in autocommit (extensions.py)
            conn.autocommit = True
        _readers.engine, _readers.pid, _readers.conn = engine, os.getpid(), conn
        _readers.sql = _VERSION_SQL.format(_PLACEHOLDERS[engine.dialect.paramstyle])
    return _readers.conn, _readers.sql


def _drop_reader() -> None:
    conn, _readers.conn = getattr(_readers, "conn", None), None
    if conn is not None and getattr(_readers, "pid", None) == os.getpid():  # never a parent's
        try:
            conn.close()
        except Exception:
            log.info("closing a broken scan reader connection failed", exc_info=True)


def version_of(code: str) -> tuple[int, int] | None:
    """(merchant id, public_version) for a badge code: the only database work of a cached scan.

    On PostgreSQL, while this worker's listener vouches for what it knows (scan_listener.py),
    the answer comes from memory. Otherwise one indexed SELECT on the unique badge_code, in
    autocommit, on this thread's connection: it skips the ORM, SQLAlchemy's statement layer
    and the pool. Either way a committed suspension bumps public_version and the very next
    scan sees it.
    """
    engine = db.engine
    lst = listener(current_app._get_current_object(), engine)  # type: ignore[attr-defined]
    if lst is not None:
        found = lst.known(code)
        if found is not None:
            return found
        token = lst.token()  # before the query: a change racing with it is not remembered
    found = _query_version(engine, code)
    if lst is not None and found is not None:
        lst.remember(token, code, *found)
    return found


def _query_version(engine: Engine, code: str) -> tuple[int, int] | None:
    for attempt in (1, 2):
        conn, sql = _reader(engine)
        try:
            cursor = conn.cursor()
            try:
                cursor.execute(sql, (code,))
                row = cursor.fetchone()
            finally:
                cursor.close()
            return (row[0], row[1]) if row else None
        except engine.dialect.loaded_dbapi.Error:
            _drop_reader()  # a dropped connection (database restart): reconnect once
            if attempt == 2:
                raise
    return None


def load_merchant(merchant_id: int) -> Merchant:
    return db.session.scalars(
        select(Merchant).where(Merchant.id == merchant_id).options(
            selectinload(Merchant.pledges).joinedload(Pledge.template),
        )
    ).one()


def page_valid_until(standing: ShopStanding, now: datetime) -> datetime:
    """When the page would change with no edit: the next expiry, or local midnight."""
    local_midnight = datetime.combine(local_today(now) + timedelta(days=1), time(), LOCAL_TZ)
    moments = [local_midnight.astimezone(UTC)]
    moments += [p.expires_at for _, p, s in standing.pledges if s == "valid" and p.expires_at]
    return min(moments)


def cached_render(cache: PageCache, key: tuple, now: datetime,
                  render: Callable[[], tuple[bytes, datetime, str]], mimetype: str) -> CachedPage:
    page = cache.get(key, now)
    if page is None:
        body, valid_until, state = render()
        etag = hashlib.blake2b(body, digest_size=12).hexdigest()
        headers = (
            ("Content-Type", f"{mimetype}; charset=utf-8"), ("ETag", f'"{etag}"'),
            # Phones must ask again at every scan (a suspension shows at once); a 304 is cheap.
            ("Cache-Control", "no-cache"), ("Vary", "Cookie"),
        )
        page = CachedPage(body, etag, valid_until, headers, state)
        cache.put(key, page)
    return page
