"""Durability under concurrency and faults, against a live gunicorn on SQLite.

- the same submission posted at once from several connections to two workers: one complaint;
- `kill -9` of the worker that is receiving a photo upload: no orphan file, no photo row
  without its file, `PRAGMA integrity_check` ok, and the retry files exactly one complaint;
- an online backup (`flask backup run`) while a thread keeps filing complaints: the copy
  passes `integrity_check` and holds every complaint committed before it began.

The load test (throughput, thousands of submissions) is bench/bench_complaints.py.
Everything here talks to 127.0.0.1 only and is bounded in time.
"""

from __future__ import annotations

import http.client
import io
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from pledge_registry import create_app
from pledge_registry.backup import integrity_check
from pledge_registry.extensions import db
from tests.factories import make_merchant
from tests.helpers import base_config, csrf_token_in, free_port, idempotency_key_in

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("TEST_DURABILITY_REDIS_URL", "redis://127.0.0.1:6379/12")
SECRET_KEY = "durability-test-secret-key-not-for-production"
RAISED_LIMITS = {"COMPLAINT_LIMIT_PER_IP": "100000 per hour", "COMPLAINT_LIMIT_PER_PHONE": "100000 per day"}
_TRACKING = re.compile(r'class="tracking-code"><strong>([0-9A-Z-]{14,20})</strong>')


# --- a database with one shop, and gunicorn serving it ------------------------------------

class Shop:
    def __init__(self, tmp_path: Path, template: Path) -> None:
        self.path = tmp_path / "durability.sqlite3"
        shutil.copy(template, self.path)
        self.url = f"sqlite:///{self.path}"
        self.uploads = tmp_path / "uploads"
        self.uploads.mkdir()
        self.app = create_app({**base_config(self.url, tmp_path), "UPLOAD_FOLDER": str(self.uploads)})
        with self.app.app_context():
            self.merchant_id = make_merchant().id
            self.badge_code = db.session.get(_merchant_model(), self.merchant_id).badge_code
            db.session.remove()
            db.engine.dispose()

    def query(self, sql: str, *params: Any) -> list[tuple]:
        conn = sqlite3.connect(self.path, timeout=15)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def complaints_with_key(self, key: str) -> int:
        return self.query("SELECT count(*) FROM complaint WHERE idempotency_key = ?", key)[0][0]

    def photo_names(self) -> set[str]:
        return {row[0] for row in self.query("SELECT stored_name FROM complaint_photo")}

    def files(self) -> set[str]:
        return {p.name for p in self.uploads.iterdir()}


def _merchant_model() -> Any:
    from pledge_registry.models import Merchant

    return Merchant


def _redis_available() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        return True
    except Exception:  # noqa: BLE001 - any failure means: no Redis here
        return False


class Gunicorn:
    """gunicorn on a free 127.0.0.1 port, in its own session (killed as a group after)."""

    def __init__(self, shop: Shop, workers: int) -> None:
        self.shop = shop
        self.workers = workers
        self.port = free_port()

    def __enter__(self) -> Gunicorn:
        gunicorn = Path(sys.executable).parent / "gunicorn"
        if not gunicorn.exists():
            pytest.skip("gunicorn is not installed in this environment")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "FLASK_", "APP_ENV"))}
        env.update({
            "SECRET_KEY": SECRET_KEY, "DATABASE_URL": self.shop.url, "UPLOAD_FOLDER": str(self.shop.uploads),
            "RATELIMIT_STORAGE_URI": REDIS_URL if self.workers > 1 else "memory://",
            "WEB_CONCURRENCY": str(self.workers), "GUNICORN_TIMEOUT": "120", "SQLITE_SYNCHRONOUS": "NORMAL",
            "PYTHONDONTWRITEBYTECODE": "1", "SESSION_COOKIE_SECURE": "0", **RAISED_LIMITS,
        })
        self.log = open(self.shop.path.with_suffix(".gunicorn.log"), "wb")
        self.process = subprocess.Popen(
            [str(gunicorn), "wsgi:app", "--config", str(ROOT / "gunicorn.conf.py"), "--bind",
             f"127.0.0.1:{self.port}", "--workers", str(self.workers), "--max-requests", "0"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.flush()
                pytest.skip(f"gunicorn could not start: {self.output()[-800:]}")
            if len(self.worker_pids()) == self.workers and self.healthy():
                return self
            time.sleep(0.1)
        self.__exit__()
        pytest.skip("gunicorn did not answer /healthz within 30 s")

    def healthy(self) -> bool:
        try:
            return self.request("GET", "/healthz", timeout=2)[0] == 200
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        """gunicorn's workers: the processes whose parent is the master (from /proc/*/stat)."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == self.process.pid and fields[0] != "Z":
                pids.append(int(entry))
        return pids

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                timeout: float = 20) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            headers = {k.lower(): v for k, v in response.getheaders()}
            sessions = [v.split(";", 1)[0] for k, v in response.getheaders()
                        if k.lower() == "set-cookie" and v.startswith("session=")]
            if sessions:
                headers["session-cookie"] = sessions[-1]
            return response.status, headers, text
        finally:
            conn.close()

    def output(self) -> str:
        return self.shop.path.with_suffix(".gunicorn.log").read_text(errors="replace")

    def __exit__(self, *exc: Any) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


class Phone:
    """One shopper's browser: the session cookie it was given, and the form it was shown."""

    def __init__(self, server: Gunicorn, badge_code: str) -> None:
        self.server = server
        self.path = f"/m/{badge_code}/complain"
        status, headers, page = server.request("GET", self.path)
        assert status == 200, page[:500]
        self.cookie = headers["session-cookie"]
        self.token, self.key = csrf_token_in(page), idempotency_key_in(page)
        assert self.token and self.key, page[:500]

    def fields(self) -> dict[str, Any]:
        return {"csrf_token": self.token, "idempotency_key": self.key, "request_type": "complaint",
                "item": "运动鞋 一双", "purchased_on": (date.today() - timedelta(days=2)).isoformat(),
                "amount": "199.50", "problem_type": "quality", "account": "鞋底开胶，店家不给退。",
                "wants": "refund", "shopper_name": "王小明", "shopper_phone": "13900001234", "consent": "y"}

    def urlencoded(self) -> bytes:
        return urllib.parse.urlencode(self.fields()).encode()

    def multipart(self, photo: bytes) -> tuple[bytes, str]:
        boundary = "----durability" + uuid.uuid4().hex
        out = io.BytesIO()
        for name, value in self.fields().items():
            out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="shoe.png"\r\n'
                  f"Content-Type: image/png\r\n\r\n".encode() + photo + b"\r\n")
        out.write(f"--{boundary}--\r\n".encode())
        return out.getvalue(), f"multipart/form-data; boundary={boundary}"

    def post(self, body: bytes, content_type: str) -> tuple[int, str]:
        """POST the form as this browser; (status, tracking code shown afterwards or "")."""
        status, headers, _ = self.server.request(
            "POST", self.path, body, {"Content-Type": content_type, "Cookie": self.cookie})
        if status not in (302, 303):
            return status, ""
        cookie = headers.get("session-cookie", self.cookie)
        _, _, page = self.server.request("GET", "/complain/done", headers={"Cookie": cookie})
        found = _TRACKING.search(page)
        return status, found.group(1) if found else ""


def png_photo(width: int = 320, height: int = 240) -> bytes:
    from PIL import Image

    rng = random.Random(7)
    image = Image.frombytes("RGB", (width, height), bytes(rng.getrandbits(8) for _ in range(width * height * 3)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def shop(tmp_path: Path, sqlite_template: Path) -> Iterator[Shop]:
    yield Shop(tmp_path, sqlite_template)


# --- (a) a double click, a retry, many at once: one complaint -----------------------------

def test_the_same_submission_posted_at_once_to_two_workers_files_one_complaint(shop: Shop) -> None:
    """The idempotency key's unique constraint decides, across processes."""
    if not _redis_available():
        pytest.skip(f"two workers share rate-limit counters in Redis, and {REDIS_URL} does not answer")
    with Gunicorn(shop, workers=2) as server:
        phone = Phone(server, shop.badge_code)
        body = phone.urlencoded()
        copies = 8
        barrier = threading.Barrier(copies)
        answers: list[tuple[int, str]] = []
        lock = threading.Lock()

        def post() -> None:
            barrier.wait()
            answer = phone.post(body, "application/x-www-form-urlencoded")
            with lock:
                answers.append(answer)

        threads = [threading.Thread(target=post) for _ in range(copies)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        late = phone.post(body, "application/x-www-form-urlencoded")  # a retry after the others
        log = server.output()

    assert sorted(s for s, _ in answers) == [302] * copies and late[0] == 302, answers
    assert len({code for _, code in answers} | {late[1]}) == 1 and late[1], answers
    assert shop.complaints_with_key(phone.key) == 1
    assert shop.query("SELECT count(*) FROM complaint")[0][0] == 1
    assert "database is locked" not in log and "Traceback" not in log, log[-2000:]


# --- (b) kill -9 mid-upload ----------------------------------------------------------------

def test_a_worker_killed_mid_upload_leaves_nothing_behind_and_the_retry_files_once(shop: Shop) -> None:
    """`kill -9` the worker while it receives a photo: no orphan file, no record
    without its file, integrity_check ok; the retry (same key) files exactly one complaint."""
    photo = png_photo()
    with Gunicorn(shop, workers=1) as server:
        phone = Phone(server, shop.badge_code)
        body, content_type = phone.multipart(photo)
        [worker] = server.worker_pids()
        head = (f"POST {phone.path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nCookie: {phone.cookie}\r\n"
                "Connection: close\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(head + body[: len(body) // 2])  # a phone on a weak signal: half the photo
            time.sleep(0.5)  # the worker is now reading the body
            # A slow upload holds no database lock: another writer gets in at once.
            conn = sqlite3.connect(shop.path, timeout=1, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
            finally:
                conn.close()
            os.kill(worker, signal.SIGKILL)
            sock.settimeout(10)
            try:
                answer = sock.recv(100)
            except OSError:
                answer = b""
        assert answer == b"", "the killed worker must not have answered"

        deadline = time.monotonic() + 30  # the master starts a new worker
        while time.monotonic() < deadline and not (server.worker_pids() and server.worker_pids() != [worker]
                                                   and server.healthy()):
            time.sleep(0.1)
        assert server.healthy(), "gunicorn did not replace the killed worker"

        assert shop.complaints_with_key(phone.key) == 0
        assert shop.files() == set(), "a killed upload left a file behind"
        assert shop.query("PRAGMA integrity_check") == [("ok",)]

        status, code = phone.post(body, content_type)  # the shopper taps "send" again
        again = phone.post(body, content_type)           # and once more
        log = server.output()

    assert status == 302 and code, log[-2000:]
    assert again == (302, code)
    assert shop.complaints_with_key(phone.key) == 1
    names = shop.photo_names()
    assert len(names) == 1 and shop.files() == names, (names, shop.files())  # no orphan, no missing file
    assert integrity_check(str(shop.path)) == "ok"
    assert "database is locked" not in log


# --- (c) online backup while writes go on --------------------------------------------------

def test_online_backup_while_complaints_are_filed_is_whole_and_consistent(shop: Shop, tmp_path: Path) -> None:
    """`flask backup run DEST` copies the live database (sqlite3 backup API)
    while another thread keeps committing complaints; the copy passes integrity_check and
    holds at least every complaint committed before the backup began."""
    from pledge_registry.complaints import filing, workflow

    app = shop.app
    stop = threading.Event()
    filed = [0]
    errors: list[BaseException] = []

    def writer() -> None:
        with app.app_context():
            try:
                while not stop.is_set():
                    filing.file_complaint(workflow.NewComplaint(
                        idempotency_key=uuid.uuid4().hex, merchant_id=shop.merchant_id, request_type="complaint",
                        item="电饭煲", purchased_on=None, amount_paid_cents=19900, problem_type="quality",
                        account="用了三天就坏了。", wants=("refund",), shopper_name=None,
                        shopper_phone=f"139{filed[0]:08d}", consent=True))
                    filed[0] += 1
            except BaseException as err:  # noqa: BLE001 - reported by the test below
                errors.append(err)
            finally:
                db.session.remove()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while filed[0] < 20 and time.monotonic() < deadline and not errors:
            time.sleep(0.01)
        before = shop.query("SELECT count(*) FROM complaint")[0][0]
        dest = tmp_path / "backup" / "copy.sqlite3"
        result = app.test_cli_runner().invoke(args=["backup", "run", str(dest)])
        during = filed[0]
        time.sleep(0.2)  # writes go on after the backup, too
    finally:
        stop.set()
        thread.join(timeout=30)

    assert not errors, errors
    assert result.exit_code == 0, result.output
    assert "integrity_check ok" in result.output
    assert before >= 20 and filed[0] > during, (before, during, filed[0])
    assert integrity_check(str(dest)) == "ok"
    assert not Path(str(dest) + "-wal").exists()
    copy = sqlite3.connect(dest)
    try:
        in_copy = copy.execute("SELECT count(*) FROM complaint").fetchone()[0]
        events = copy.execute("SELECT count(*) FROM complaint_event WHERE kind = 'received'").fetchone()[0]
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    finally:
        copy.close()
    assert before <= in_copy <= filed[0]
    assert events == in_copy  # one snapshot: no complaint without the event of its transaction
    # a second run refuses to overwrite the backup unless asked to
    assert app.test_cli_runner().invoke(args=["backup", "run", str(dest)]).exit_code != 0
    assert app.test_cli_runner().invoke(args=["backup", "run", "--overwrite", str(dest)]).exit_code == 0


def test_backup_of_postgresql_points_to_pg_dump(tmp_path: Path) -> None:
    app = create_app(base_config("postgresql+psycopg://postgres@127.0.0.1:5432/not_used", tmp_path))
    result = app.test_cli_runner().invoke(args=["backup", "run", str(tmp_path / "x.dump")])
    assert result.exit_code != 0
    assert "pg_dump" in result.output
    assert not (tmp_path / "x.dump").exists()


def test_a_locked_sqlite_database_raises_sqlalchemys_error_at_begin(tmp_path):
    """sqlite_tuning.configure_sqlite emits BEGIN itself (IMMEDIATE for writes); a lock it cannot get
    must still surface as sqlalchemy.exc.OperationalError, like every other statement's."""
    import sqlalchemy as sa

    from pledge_registry import create_app
    from pledge_registry.extensions import db

    path = tmp_path / "locked.sqlite3"
    app = create_app({"SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context(), db.engine.connect():
        pass  # the database in WAL mode, as the app sets it on connect
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        with app.app_context(), db.engine.connect() as conn:
            conn.connection.driver_connection.execute("PRAGMA busy_timeout=50")
            with pytest.raises(sa.exc.OperationalError, match="database is locked"):
                conn.begin()
    finally:
        blocker.close()
        with app.app_context():
            db.engine.dispose()
