"""The scan page's version listener on PostgreSQL: hot scans answered from memory, and
never a stale page, whatever happens to the listener.

A revocation shows at the next scan in this process and in another one; a killed listener
connection sends scans back to the query until it is back; a notification lost while it
was away cannot leave a stale page; the rating recompute's set-based bump is notified; a
storm of notifications does not hold scans up.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from pledge_registry import demo
from pledge_registry.extensions import db
from pledge_registry.models import Merchant, Pledge, PledgeStatus
from pledge_registry.public import scan, scan_listener
from pledge_registry.public.scan_listener import VersionListener
from pledge_registry.public_page import bump_versions
from tests import databases
from tests.factories import make_merchant, make_pledge
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def database_url(pg_database: tuple[str, databases.Reference]) -> str:
    """PostgreSQL only (the listener is switched off on SQLite): skipped without TEST_DATABASE_URL."""
    url, reference = pg_database
    databases.reset_postgresql(url, reference)
    return url


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The badge codes for which a scan asked the database."""
    asked: list[str] = []
    real = scan._query_version

    def counting(engine: Any, code: str) -> Any:
        asked.append(code)
        return real(engine, code)

    monkeypatch.setattr(scan, "_query_version", counting)
    return asked


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


def state(client: Any, code: str) -> str:
    response = client.get(f"/m/{code}")
    assert response.status_code == 200
    found = re.search(r"verdict-(\w+)", response.get_data(as_text=True))
    assert found
    return found.group(1)


def running_listener(app: Any) -> VersionListener:
    lst = app.extensions["scan_listener"]
    wait_for(lambda: lst.healthy and not lst.draining)
    return lst


def hot(client: Any, app: Any, code: str) -> VersionListener:
    """Scan until the listener vouches for the code: the next scans ask nothing."""
    state(client, code)
    lst = running_listener(app)

    def vouched() -> bool:
        state(client, code)
        return lst.known(code) is not None

    wait_for(vouched, timeout=5)
    return lst


def kill_listeners(url: str) -> int:
    """pg_terminate_backend on every scan listener's connection to the test database."""
    with outside(url) as conn:
        return len(conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND application_name = %s",
                                (scan_listener.APPLICATION_NAME,)).fetchall())


def listeners(url: str) -> int:
    with outside(url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND application_name = %s", (scan_listener.APPLICATION_NAME,)).fetchone()
    assert row is not None
    return row[0]


def shop() -> tuple[Merchant, Pledge]:
    merchant = make_merchant()
    return merchant, make_pledge(merchant)


def revoke(pledge: Pledge) -> None:
    pledge.status = PledgeStatus.REVOKED
    pledge.status_note = "fake goods"
    db.session.commit()


def outside(url: str) -> psycopg.Connection:
    """A connection of another program: psql, a script, another app server."""
    return psycopg.connect(sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
                           autocommit=True)


def test_a_hot_scan_asks_the_database_nothing(client: Any, app: Any, queries: list[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # While a heartbeat's round trip is in flight the listener rightly vouches for nothing,
    # and on a loaded machine 20 scans can straddle one: heartbeats are spaced out here, and
    # the scans start right after one, so only a broken memory makes a scan ask.
    merchant, _ = shop()
    lst = hot(client, app, merchant.badge_code)
    monkeypatch.setattr(scan_listener, "HEARTBEAT", 30.0)
    monkeypatch.setattr(scan_listener, "STALE_AFTER", 60.0)
    heard = lst.heard_at
    wait_for(lambda: lst.heard_at != heard and not lst.draining)  # the last short heartbeat
    hot(client, app, merchant.badge_code)
    asked = len(queries)
    for _ in range(20):
        assert state(client, merchant.badge_code) == "valid"
    assert len(queries) == asked


def test_a_revocation_shows_at_the_next_scan_in_this_process(client: Any, app: Any, queries: list[str]) -> None:
    merchant, pledge = shop()
    hot(client, app, merchant.badge_code)
    revoke(pledge)
    assert state(client, merchant.badge_code) == "revoked"


def shows_within_the_bound(scan_state: Callable[[], str], committed_at: float) -> None:
    """The freshness contract for a change committed elsewhere: red within STALE_AFTER of the
    commit (PostgreSQL normally delivers its notification within milliseconds)."""
    while scan_state() != "revoked":
        assert time.monotonic() - committed_at < scan_listener.STALE_AFTER, "stale past the bound"
        time.sleep(0.001)


def test_a_change_made_outside_the_app_shows_within_the_bound(client: Any, app: Any, database_url: str) -> None:
    merchant, pledge = shop()
    lst = hot(client, app, merchant.badge_code)
    with outside(database_url) as conn:
        conn.execute("UPDATE pledge SET status = 'revoked' WHERE id = %s", (pledge.id,))
        conn.execute("UPDATE merchant SET public_version = public_version + 1 WHERE id = %s", (merchant.id,))
        committed_at = time.monotonic()
    shows_within_the_bound(lambda: state(client, merchant.badge_code), committed_at)
    wait_for(lambda: merchant.badge_code not in lst._known or lst._known[merchant.badge_code][1] > 1)
    assert state(client, merchant.badge_code) == "revoked"


def test_an_unread_notification_sends_the_scan_to_the_database(app: Any, database_url: str) -> None:
    """The listener lags (its thread has not read the socket yet): nothing is vouched for."""
    merchant, _ = shop()
    lst = VersionListener(db.engine, 100)  # no thread: this test reads for it
    conn = lst._connect()
    try:
        lst.remember(lst.token(), merchant.badge_code, merchant.id, merchant.public_version)
        assert lst.known(merchant.badge_code) == (merchant.id, merchant.public_version)
        with outside(database_url) as other:
            other.execute("UPDATE merchant SET public_version = public_version + 1 WHERE id = %s", (merchant.id,))
        wait_for(lambda: lst.known(merchant.badge_code) is None, timeout=5)  # on the socket, unread
        token = lst.token()
        lst.remember(token, merchant.badge_code, merchant.id, merchant.public_version)  # a racing scan
        assert lst.known(merchant.badge_code) is None
        lst.draining = True
        conn.pgconn.consume_input()
        lst._apply(conn.pgconn)
        lst.draining = False
        assert lst.known(merchant.badge_code) is None  # forgotten, not merely hidden
        lst.remember(token, merchant.badge_code, merchant.id, merchant.public_version)
        assert lst.known(merchant.badge_code) is None  # its query began before the change
    finally:
        conn.close()


def test_a_killed_listener_connection_falls_back_to_the_query_then_recovers(
        client: Any, app: Any, database_url: str, queries: list[str]) -> None:
    merchant, pledge = shop()
    lst = hot(client, app, merchant.badge_code)
    assert kill_listeners(database_url) == 1
    asked = len(queries)
    assert state(client, merchant.badge_code) == "valid"
    revoke(pledge)
    assert state(client, merchant.badge_code) == "revoked"
    assert len(queries) > asked  # at least the scan right after the kill asked the database
    wait_for(lambda: lst.connections == 2 and lst.healthy)
    hot(client, app, merchant.badge_code)
    asked = len(queries)
    assert state(client, merchant.badge_code) == "revoked"
    assert len(queries) == asked  # from memory again


def test_a_notification_lost_while_disconnected_cannot_leave_a_stale_page(
        client: Any, app: Any, database_url: str, queries: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    merchant, pledge = shop()
    lst = hot(client, app, merchant.badge_code)
    held = threading.Event()
    real_connect = lst._connect

    def reconnect_later() -> Any:
        held.wait(15)
        return real_connect()

    monkeypatch.setattr(lst, "_connect", reconnect_later)
    assert kill_listeners(database_url) == 1
    wait_for(lambda: not lst.healthy)
    with outside(database_url) as conn:
        # Changed while nobody listens: this notification reaches no one.
        conn.execute("UPDATE pledge SET status = 'revoked' WHERE id = %s", (pledge.id,))
        conn.execute("UPDATE merchant SET public_version = public_version + 1 WHERE id = %s", (merchant.id,))
    held.set()
    wait_for(lambda: lst.healthy)
    assert state(client, merchant.badge_code) == "revoked"


def test_the_set_based_bump_is_notified_in_batches(client: Any, app: Any, database_url: str) -> None:
    merchant, pledge = shop()
    demo.load_merchants(600, seed=5, with_events=False, chunk=600)
    ids = set(db.session.scalars(sa.select(Merchant.id)))
    with outside(database_url) as conn:
        conn.execute(f"LISTEN {scan_listener.CHANNEL}")
        bump_versions([*ids, *range(10**6, 10**6 + 100)])  # as the rating recompute does
        db.session.commit()
        conn.execute("SELECT 1")
        notified = [n.payload.split(",") for n in conn.notifies(timeout=1, stop_after=2)]
    assert sorted(len(n) for n in notified) == [len(ids) - 500, 500]
    assert {int(i) for n in notified for i in n} == ids
    lst = hot(client, app, merchant.badge_code)
    with outside(database_url) as conn:
        conn.execute("UPDATE pledge SET status = 'revoked' WHERE id = %s", (pledge.id,))
    with monkeypatch_forget(lst):  # only the database's notification tells the listener
        bump_versions([merchant.id])
        db.session.commit()
    wait_for(lambda: merchant.badge_code not in lst._known)
    assert state(client, merchant.badge_code) == "revoked"


@contextlib.contextmanager
def monkeypatch_forget(lst: VersionListener) -> Iterator[None]:
    """This process's own commits do not reach the listener (as in another process)."""
    real = lst.forget
    in_thread = threading.current_thread()
    lst.forget = lambda ids: None if threading.current_thread() is in_thread else real(ids)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        del lst.forget


def test_a_storm_of_notifications_does_not_hold_scans_up(client: Any, app: Any, database_url: str,
                                                         queries: list[str]) -> None:
    merchant, pledge = shop()
    lst = hot(client, app, merchant.badge_code)
    with outside(database_url) as conn:
        conn.execute("SELECT pg_notify(%s, g::text) FROM generate_series(1, 20000) AS g", (scan_listener.CHANNEL,))
        slowest = 0.0
        for _ in range(50):
            started = time.perf_counter()
            assert state(client, merchant.badge_code) == "valid"
            slowest = max(slowest, time.perf_counter() - started)
        conn.execute("UPDATE pledge SET status = 'revoked' WHERE id = %s", (pledge.id,))
        conn.execute("UPDATE merchant SET public_version = public_version + 1 WHERE id = %s", (merchant.id,))
        committed_at = time.monotonic()
    # Committed in another connection, so the contract is the bound, not the next scan: the
    # notification is delivered behind the storm's backlog.
    shows_within_the_bound(lambda: state(client, merchant.badge_code), committed_at)
    assert slowest < 2.0
    wait_for(lambda: lst.healthy and not lst._unread())
    hot(client, app, merchant.badge_code)


# --- another process --------------------------------------------------------------------

@pytest.fixture
def other_server(database_url: str, tmp_path: Path) -> Iterator[int]:
    """gunicorn (one worker) serving the same database: another app server."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        pytest.skip("gunicorn is not installed in this environment")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "FLASK_", "APP_ENV"))}
    env.update({"SECRET_KEY": "test-secret-key-not-for-production", "DATABASE_URL": database_url,
                "RATELIMIT_STORAGE_URI": "memory://", "WEB_CONCURRENCY": "1", "PYTHONDONTWRITEBYTECODE": "1",
                "UPLOAD_FOLDER": str(tmp_path / "uploads")})
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed after the server
    process = subprocess.Popen([str(gunicorn), "wsgi:app", "--config", str(ROOT / "gunicorn.conf.py"),
                                "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: process.poll() is not None or get(port, "/healthz")[0] == 200, timeout=30)
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited: {(tmp_path / 'gunicorn.log').read_text()[-800:]}")
        yield port
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)
        log.close()


def get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    except OSError:
        return 0, ""
    finally:
        conn.close()


def test_a_revocation_shows_in_another_process_within_the_bound(app: Any, other_server: int,
                                                               database_url: str) -> None:
    merchant, pledge = shop()

    def other_state() -> str:
        status, body = get(other_server, f"/m/{merchant.badge_code}")
        assert status == 200
        return re.search(r"verdict-(\w+)", body).group(1)  # type: ignore[union-attr]

    assert other_state() == "valid"
    wait_for(lambda: listeners(database_url) == 1)  # the other process's, started by its first scan
    for _ in range(5):
        assert other_state() == "valid"
    revoke(pledge)
    shows_within_the_bound(other_state, time.monotonic())


def test_the_listener_stops_with_its_engine(client: Any, app: Any, database_url: str) -> None:
    merchant, _ = shop()
    lst = hot(client, app, merchant.badge_code)
    assert listeners(database_url) == 1
    db.engine.dispose()  # as at the end of every test, and at a worker's exit (atexit)
    assert not lst.running and not lst.healthy
    wait_for(lambda: listeners(database_url) == 0)
    assert lst.known(merchant.badge_code) is None
