"""Suspicious scans counted at the edge, through the sample deployment: gunicorn with
SCAN_COUNT_AT_EDGE on behind a real nginx running deploy/nginx.conf (its locations, cache
directives, snippets and scans log unchanged; only the port and the paths are the test's own).

A crowd scanning a revoked badge is answered by nginx's cache, and each of its scans is one
row once the log is imported; the freshness contract holds for these pages as for the others.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bench._common import SECRET_KEY
from pledge_registry import create_app
from pledge_registry.extensions import db
from pledge_registry.models import Pledge, PledgeStatus, SuspiciousScan
from pledge_registry.pledges import services as pledges
from pledge_registry.scan_reports import edge_import, rules
from pledge_registry.security import FRESHNESS_SECONDS
from tests import databases
from tests.factories import make_merchant, make_pledge, make_user
from tests.helpers import TEST_PASSWORD, base_config
from tests.stack import Phone, app_server, site, stack_or_skip

pytestmark = pytest.mark.slow

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
RENDER_SLACK = 0.5  # as in tests/test_deployment_nginx.py: polling and a busy machine
UNKNOWN = "fake2345edge"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    stack_or_skip()
    work = tmp_path_factory.mktemp(f"edge-{request.param}")
    with _database(request, work) as url:
        # The server's secret, so that the import hashes addresses as the app's recorder does.
        app = create_app({**base_config(url, work), "SECRET_KEY": SECRET_KEY})
        server_env = {"SCAN_COUNT_AT_EDGE": "1", "SCAN_LOG_FLUSH_MS": "0"}  # the app's own rows at once
        with app.app_context(), app_server(url, **server_env) as server, site([server], work / "nginx") as nginx:
            yield {"app": app, "nginx": nginx, "server": server}
            db.session.remove()
            db.engine.dispose()


class _database:
    """A migrated database of this module's own: a SQLite copy, or a PostgreSQL database
    dropped afterwards."""

    def __init__(self, request: pytest.FixtureRequest, work: Path) -> None:
        self.request, self.work, self.name = request, work, ""

    def __enter__(self) -> str:
        if self.request.param == "sqlite":
            path = self.work / "edge.sqlite3"
            shutil.copy(self.request.getfixturevalue("sqlite_template"), path)
            return f"sqlite:///{path}"
        if not PG_URL:
            pytest.skip("the PostgreSQL leg needs TEST_DATABASE_URL "
                        "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
        self.name = f"pledge_edge_{os.getpid()}"
        self._admin("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", "CREATE DATABASE \"{}\"")
        url = sa.engine.make_url(PG_URL).set(database=self.name).render_as_string(hide_password=False)
        databases.migrate(url, self.work)
        return url

    def __exit__(self, *exc: Any) -> None:
        if self.name:
            self._admin("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)")

    def _admin(self, *statements: str) -> None:
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(sa.text(statement.format(self.name)))
        admin.dispose()


def _shop(status: str) -> tuple[str, int, int]:
    """A shop whose pledge is in `status`: its badge code, its id, the pledge's id. Plain
    values, and the test's transaction ended (a SQLite one would hold the app's write lock)."""
    merchant = make_merchant()
    pledge = make_pledge(merchant, status=status)
    shop = (merchant.badge_code, merchant.id, pledge.id)
    db.session.commit()
    return shop


def _rows(code: str) -> list[SuspiciousScan]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(SuspiciousScan).where(SuspiciousScan.code == code)
                                   .order_by(SuspiciousScan.id)))


def _logged(nginx: Any, code: str) -> int:
    log = nginx.scans_log
    return log.read_bytes().count(f'"uri":"/m/{code}"'.encode()) if log.exists() else 0


def _import(nginx: Any, code: str, expected_lines: int) -> edge_import.EdgeImport:
    """The import job, once nginx has written its lines (it logs after answering)."""
    deadline = time.monotonic() + 5
    while _logged(nginx, code) < expected_lines and time.monotonic() < deadline:
        time.sleep(0.05)
    result = edge_import.import_log(nginx.scans_log)
    db.session.rollback()
    return result


def test_a_crowd_on_a_revoked_badge_is_served_by_nginx_and_each_scan_counted(stack) -> None:
    code, merchant_id, _ = _shop("revoked")
    phone, scans = Phone(stack["nginx"]), 30
    answers = [phone.get(f"/m/{code}") for _ in range(scans)]
    assert all(a.status == 200 and a.headers["X-Scan-State"] == "revoked" for a in answers)
    assert "X-Accel-Expires" not in answers[0].headers
    served_by_nginx = sum(a.cache in ("HIT", "UPDATING") for a in answers)
    assert served_by_nginx >= scans - 3, [a.cache for a in answers]  # one render a second at most
    # A phone's revalidation answered 304 by nginx is a scan too, as it is for the app.
    again = phone.get(f"/m/{code}", {"If-None-Match": answers[-1].headers["ETag"]})
    assert again.status == 304
    assert _rows(code) == []  # the app wrote nothing itself

    result = _import(stack["nginx"], code, scans + 1)
    assert (result.unreadable, result.malformed) == (0, 0)
    rows = _rows(code)
    assert len(rows) == scans + 1
    key = rules.source_key(SECRET_KEY)
    assert {(r.state, r.merchant_id, r.source) for r in rows} == {
        ("revoked", merchant_id, rules.source_of("127.0.0.1", key))}
    assert all(abs(time.time() - r.scanned_at.timestamp()) < 120 for r in rows)
    assert edge_import.import_log(stack["nginx"].scans_log).imported == 0  # the next minute's run
    assert len(_rows(code)) == scans + 1


def test_an_unknown_code_is_counted_from_the_log(stack) -> None:
    code = UNKNOWN
    for _ in range(5):
        answer = Phone(stack["nginx"]).get(f"/m/{code}")
        assert answer.status == 404 and answer.headers["X-Scan-State"] == "unknown"
    assert _rows(code) == []
    _import(stack["nginx"], code, 5)
    assert [(r.state, r.merchant_id) for r in _rows(code)] == [("unknown", None)] * 5


def test_a_client_can_neither_stop_the_counting_nor_be_counted_twice(stack) -> None:
    code, _, _ = _shop("suspended")
    through = Phone(stack["nginx"])
    for value in ("0", "1", ""):
        answer = through.get(f"/m/{code}", {"X-Edge-Counts-Scans": value})
        assert answer.headers["X-Scan-State"] == "suspended"
    # Asked directly (no nginx, so no header from it): the app counts the scan itself.
    direct = Phone(stack["server"]).get(f"/m/{code}")
    assert direct.status == 200 and "X-Scan-State" not in direct.headers
    assert [r.state for r in _rows(code)] == ["suspended"]
    _import(stack["nginx"], code, 3)
    assert len(_rows(code)) == 4


def test_a_signed_in_scan_is_counted_by_the_app_and_not_logged(stack) -> None:
    code, _, _ = _shop("revoked")
    login_name = make_user(role="staff").login_name
    db.session.commit()
    staff = Phone(stack["nginx"])
    signed_in = staff.form_post("/account/login", {"login": login_name, "password": TEST_PASSWORD})
    assert signed_in.status == 302, signed_in.text[:500]
    answer = staff.get(f"/m/{code}")
    assert answer.cache == "BYPASS" and "X-Scan-State" not in answer.headers
    assert answer.headers["Cache-Control"] == "no-store"
    assert [r.state for r in _rows(code)] == ["revoked"]
    time.sleep(0.3)  # nginx logs after answering: a line would be there by now
    assert _logged(stack["nginx"], code) == 0
    _import(stack["nginx"], code, 0)
    assert len(_rows(code)) == 1


def test_a_lifted_suspension_shows_within_the_bound_and_is_no_longer_counted(stack) -> None:
    code, _, pledge_id = _shop("suspended")
    phone = Phone(stack["nginx"])
    first, kept = phone.get(f"/m/{code}"), phone.get(f"/m/{code}")
    assert first.headers["X-Scan-State"] == kept.headers["X-Scan-State"] == "suspended"
    assert kept.cache == "HIT"
    suspended_answers = 2

    staff = make_user(role="staff")
    pledges.decide(staff, db.session.get(Pledge, pledge_id), PledgeStatus.ACTIVE, "")
    committed = time.monotonic()
    seen = None
    while time.monotonic() - committed < FRESHNESS_SECONDS + 3:
        answer = phone.get(f"/m/{code}")
        if "X-Scan-State" not in answer.headers:
            seen = time.monotonic() - committed
            break
        assert answer.headers["X-Scan-State"] == "suspended"
        suspended_answers += 1
        time.sleep(0.05)
    assert seen is not None, "the lifted suspension never showed through nginx"
    assert seen <= FRESHNESS_SECONDS + RENDER_SLACK, f"shown {seen:.2f} s after the commit"
    for _ in range(3):  # valid now: nothing more to count
        assert "X-Scan-State" not in phone.get(f"/m/{code}").headers
    _import(stack["nginx"], code, suspended_answers)
    assert [r.state for r in _rows(code)] == ["suspended"] * suspended_answers
