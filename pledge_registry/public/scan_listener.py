"""What this worker knows of scan-page versions without asking PostgreSQL, and the thread
that keeps it true.

A hot scan's one query (the badge's public_version) is a round trip, most of a cached
scan's cost on PostgreSQL. A trigger on the merchant table (migration 7c1e9a0d5b42) sends
NOTIFY merchant_public_page with the merchant ids whenever a version or a badge code
changes; the notification is delivered only when, and if, that transaction commits. Each
worker process runs one listener thread on a connection of its own (LISTEN), and keeps
badge code -> (merchant id, version) for the codes it has looked up; a notification drops
the merchants it names.

The scan uses what the listener knows only while the listener vouches for it; otherwise it
asks the database as before (scan.version_of). The listener does not vouch

- while it is not connected and listening (starting, reconnecting after a lost
  connection): everything it knew was dropped when the connection was lost, so a
  notification missed meanwhile cannot leave a stale entry;
- while anything is waiting unread on its connection (a notification delivered but not
  yet applied, or the end of a killed connection), or while it reads and applies (a
  burst is read to its end first: a round trip after every wake-up);
- when it has not heard from the server for STALE_AFTER seconds (a wedged thread, a
  silently dead network, a server slow to deliver: it makes a round trip every HEARTBEAT
  seconds, and the server sends every notification committed before a query ahead of its
  answer). A change therefore shows in every worker within STALE_AFTER (1 s) of its
  commit at worst; in practice PostgreSQL delivers it within milliseconds, before the
  deciding request has even answered.

An entry is remembered only if the listener was healthy, on the same connection, and had
applied no notification between the moment the scan started its query and the moment the
answer is stored: a notification racing with the query can then never be lost.
Changes committed by this process are dropped at their commit (public_page's
after-commit hook), before the database's notification comes back.
"""

from __future__ import annotations

import atexit
import logging
import os
import select
import threading
import time
import weakref
from typing import Any

from flask import Flask
from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

CHANNEL = "merchant_public_page"
APPLICATION_NAME = "pledge_registry scan listener"  # how it shows in pg_stat_activity
# The worst-case freshness bound: the listener vouches only within STALE_AFTER of its last
# round trip, and every round trip is a fence (see _serve), so a change committed that
# long ago has been applied. 4 round trips a second per worker are nothing to PostgreSQL.
HEARTBEAT = 0.25     # seconds of silence after which the listener checks its connection
STALE_AFTER = 1.0    # seconds without a word from the server: stop vouching
RETRY_MAX = 5.0      # the longest wait between reconnection attempts

_live: weakref.WeakSet[VersionListener] = weakref.WeakSet()


class VersionListener:
    """One worker process's listener thread and the versions it vouches for."""

    def __init__(self, engine: Engine, size: int) -> None:
        self.engine = engine
        self.size = size
        self.pid = os.getpid()
        self._known: dict[str, tuple[int, int]] = {}   # badge code -> (merchant id, version)
        self._code_of: dict[int, str] = {}             # merchant id -> its remembered code
        self._lock = threading.Lock()                  # writers only; readers rely on the GIL
        # Read by every scan without the lock; written by the listener thread (and commits).
        self.healthy = False
        self.draining = False
        self.epoch = 0            # +1 on every lost connection
        self.seq = 0              # +1 on every change applied
        self.fd = -1
        self.heard_at = 0.0       # time.monotonic() of the last word from the server
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self.connections = 0      # successful connections so far (for tests and logs)
        self._heard: list[str] = []
        self.backend_pid = 0      # the server process of the current connection

    # --- the scan's side ---------------------------------------------------------------

    def known(self, code: str) -> tuple[int, int] | None:
        """(merchant id, version) if the listener vouches that it is current, else None."""
        seq, epoch = self.seq, self.epoch
        if not self.healthy or self.draining:
            return None
        found = self._known.get(code)
        if found is None or self._unread():
            return None
        # Anything applied since `seq` was read may have been about this very code.
        if self.draining or self.seq != seq or self.epoch != epoch or not self.healthy:
            return None
        return found

    def token(self) -> tuple[int, int] | None:
        """Taken before a version query: remember() stores its answer only if nothing
        was applied, and the connection was not lost, in between."""
        return (self.epoch, self.seq) if self.healthy else None

    def remember(self, token: tuple[int, int] | None, code: str, merchant_id: int, version: int) -> None:
        if token is None:
            return
        with self._lock:
            if (not self.healthy or self.draining or (self.epoch, self.seq) != token
                    or self._unread()):
                return
            old = self._code_of.get(merchant_id)
            if old is not None and old != code:
                self._known.pop(old, None)
            if len(self._known) >= self.size and code not in self._known:
                evicted = next(iter(self._known))  # oldest first: a dict keeps insertion order
                self._code_of.pop(self._known.pop(evicted)[0], None)
            self._known[code] = (merchant_id, version)
            self._code_of[merchant_id] = code

    def forget(self, merchant_ids: Any) -> None:
        """Drop these merchants (None among them: drop everything)."""
        with self._lock:
            self.seq += 1
            if None in merchant_ids:
                self._known.clear()
                self._code_of.clear()
                return
            for merchant_id in merchant_ids:
                code = self._code_of.pop(merchant_id, None)
                if code is not None:
                    self._known.pop(code, None)

    def _unread(self) -> bool:
        fd = self.fd
        if fd < 0:
            return True
        try:
            return bool(select.select((fd,), (), (), 0)[0]) or time.monotonic() - self.heard_at > STALE_AFTER
        except (OSError, ValueError):  # closed under us by a reconnect: not vouched for
            return True

    # --- the listener thread -----------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="scan-version-listener", daemon=True)
                self._thread.start()
                _live.add(self)

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread and close its connection (only in the process that started it)."""
        if self.pid != os.getpid():
            return
        self._stop.set()
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            log.info("the scan listener's wake-up pipe is already closed", exc_info=True)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the scan version listener did not stop within %.0f s", timeout)
                return
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                log.info("closing the scan listener's wake-up pipe failed", exc_info=True)
        self._wake_r = self._wake_w = -1

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        delay = 0.05
        while not self._stop.is_set():
            conn = None
            try:
                conn = self._connect()
                delay = 0.05
                self._serve(conn)
            except Exception:
                # Lost (server restart, pg_terminate_backend, network): scans ask the
                # database until the listener is back.
                log.warning("scan version listener lost its connection; scans query the database "
                            "until it reconnects", exc_info=True)
            finally:
                self._lose()
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:
                        log.info("closing the scan listener's broken connection failed", exc_info=True)
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, RETRY_MAX)

    def _connect(self) -> Any:
        fairy = self.engine.raw_connection()
        fairy.detach()  # ours: the pool neither resets nor hands it out
        conn = fairy.dbapi_connection
        if conn is None:
            raise RuntimeError("the scan listener's connection has no DB-API connection")
        conn.autocommit = True
        # Notifications that arrive during a heartbeat's SELECT come through psycopg's handler.
        self._heard = []
        conn.add_notify_handler(lambda note: self._heard.append(note.payload))
        conn.execute(f"SET application_name = '{APPLICATION_NAME}'")
        conn.execute(f"LISTEN {CHANNEL}")
        # Healthy only now: every commit from here on is notified on this connection.
        with self._lock:
            self.fd = conn.pgconn.socket
            self.heard_at = time.monotonic()
            self.connections += 1
            self.backend_pid = conn.info.backend_pid
            self.healthy = True
        return conn

    def _serve(self, conn: Any) -> None:
        pgconn = conn.pgconn
        while not self._stop.is_set():
            readable = select.select((self.fd, self._wake_r), (), (), HEARTBEAT)[0]
            if self._wake_r in readable:
                return
            # Set before reading: until the changes are applied no scan trusts what is known.
            self.draining = True
            if readable:
                pgconn.consume_input()  # raises when the server closed the connection
            # A round trip, as a fence after a wake-up and as a heartbeat after silence: the
            # server sends every notification committed before this query ahead of its
            # answer, so a backlog still on its way (a burst of thousands) is read here
            # before the listener vouches again.
            conn.execute("SELECT 1")
            self._apply(pgconn)
            self.heard_at = time.monotonic()
            self.draining = False

    def _apply(self, pgconn: Any) -> None:
        payloads, self._heard = self._heard, []
        while (note := pgconn.notifies()) is not None:
            payloads.append(note.extra.decode())
        changed: set[int | None] = set()
        for payload in payloads:
            try:
                changed.update(int(i) for i in payload.split(",") if i)
            except ValueError:
                log.warning("unreadable %s payload %r: forgetting every version", CHANNEL, payload[:80])
                changed.add(None)
        if changed:
            self.forget(changed)

    def _lose(self) -> None:
        """The connection is gone: stop vouching, then forget everything (a notification
        may have been missed)."""
        with self._lock:
            self.healthy = False
            self.epoch += 1
            self.seq += 1
            self.fd = -1
            self._known.clear()
            self._code_of.clear()
            self.draining = False


def listener(app: Flask, engine: Engine) -> VersionListener | None:
    """This process's listener for the app, started on first use (after a gunicorn fork:
    a parent's thread does not survive into its workers), or None if it is switched off."""
    if engine.dialect.name != "postgresql":
        return None
    found = app.extensions.get("scan_listener")
    if found is not None and found.pid == os.getpid() and found.engine is engine:
        return found
    if not app.config["SCAN_LISTENER"]:
        return None
    with _creating:
        found = app.extensions.get("scan_listener")
        if found is None or found.pid != os.getpid() or found.engine is not engine:
            found = app.extensions["scan_listener"] = VersionListener(engine, app.config["SCAN_CACHE_SIZE"])
            event.listen(engine, "engine_disposed", lambda _engine, lst=found: lst.stop())
            found.start()
    return found


_creating = threading.Lock()


def forget_committed(app: Flask, merchant_ids: set[int | None]) -> None:
    """This process committed changes to these merchants' pages: drop them at once."""
    found = app.extensions.get("scan_listener")
    if found is not None and found.pid == os.getpid():
        found.forget(merchant_ids)


def stop_all() -> None:
    """Stop every listener of this process (gunicorn's worker_exit, interpreter exit)."""
    for found in list(_live):
        found.stop()


atexit.register(stop_all)
