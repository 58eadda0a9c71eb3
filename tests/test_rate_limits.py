"""Rate limits on complaint submission and tracking look-ups.

In-process tests check which requests count and which key they count under; the gunicorn
test checks that with several workers on Redis the limit is the configured one, not one
per worker (`memory://` would allow N × the limit).
"""

from __future__ import annotations

import concurrent.futures
import http.cookiejar
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pledge_registry.config import load as load_config
from pledge_registry.models.complaints import TRACKING_ALPHABET, TRACKING_LENGTH
from tests.factories import make_merchant
from tests.helpers import (
    complain_url,
    complaint_data,
    complaints,
    csrf_token,
    csrf_token_in,
    filed,
    form_post,
    free_port,
    limit_count,
)

pytestmark = pytest.mark.usefixtures("english")

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"COMPLAINT_LIMIT_PER_IP": "3 per hour", "COMPLAINT_LIMIT_PER_PHONE": "2 per day",
            "TRACK_LIMIT_PER_IP": "4 per 10 minutes", "TRACK_LIMIT_PER_CODE": "3 per hour"}


def _from(ip: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": ip}}


def _look_up(client: Any, token: str, code: str, last4: str, ip: str) -> Any:
    """A tracking look-up from `ip`, with the CSRF token the test fetched once."""
    return client.post("/track", data={"csrf_token": token, "tracking_code": code, "phone_last4": last4}, **_from(ip))


def _random_code() -> str:
    return "".join(random.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


def test_complaints_limited_per_ip(client, app):
    merchant = make_merchant()
    limit = limit_count(app.config["COMPLAINT_LIMIT_PER_IP"])
    for n in range(limit):
        # Failed submissions count too: each one may carry 8 MB of photos to decode.
        data = complaint_data(shopper_phone=f"1390000{n:04d}", consent=None if n == 0 else "y")
        assert form_post(client, complain_url(merchant), data, **_from("10.0.0.1")).status_code in (302, 400)
    blocked = form_post(client, complain_url(merchant), complaint_data(shopper_phone="13700000000"),
                        **_from("10.0.0.1"))
    assert blocked.status_code == 429
    # Only the refusal says when to come back (the hour's window), within that hour.
    assert 1 <= int(blocked.headers["Retry-After"]) <= 3600
    assert not any(h.lower().startswith("x-ratelimit") for h, _ in blocked.headers.items())
    assert form_post(client, complain_url(merchant), complaint_data(shopper_phone="13700000000"),
                     **_from("10.0.0.2")).status_code == 302
    assert client.get(complain_url(merchant), **_from("10.0.0.1")).status_code == 200  # reading is free


def test_complaints_limited_per_phone_whatever_the_ip(client, app):
    merchant = make_merchant()
    limit = limit_count(app.config["COMPLAINT_LIMIT_PER_PHONE"])
    # A refused submission does not use up the number's allowance.
    refused = form_post(client, complain_url(merchant), complaint_data(consent=None), **_from("10.1.0.99"))
    assert refused.status_code == 400
    for n in range(limit):
        assert form_post(client, complain_url(merchant), complaint_data(), **_from(f"10.1.0.{n}")).status_code == 302
    blocked = form_post(client, complain_url(merchant), complaint_data(), **_from("10.1.1.1"))
    assert blocked.status_code == 429
    assert len(complaints()) == limit
    other = form_post(client, complain_url(merchant), complaint_data(shopper_phone="13600000000"),
                      **_from("10.1.1.1"))
    assert other.status_code == 302


def test_tracking_limited_per_ip(client, app):
    merchant = make_merchant()
    c = filed(client, merchant)
    limit = limit_count(app.config["TRACK_LIMIT_PER_IP"])
    token = csrf_token(client, "/track")
    for _ in range(limit):
        assert _look_up(client, token, _random_code(), "0000", "10.2.0.1").status_code == 400
    assert _look_up(client, token, c.tracking_code, "1234", "10.2.0.1").status_code == 429
    assert _look_up(client, token, c.tracking_code, "1234", "10.2.0.2").status_code == 302


def test_tracking_limited_per_code_across_ips(client, app):
    """Guessing the 4 digits of one known code from many addresses."""
    merchant = make_merchant()
    c = filed(client, merchant)
    limit = limit_count(app.config["TRACK_LIMIT_PER_CODE"])
    token = csrf_token(client, "/track")
    for n in range(limit):
        assert _look_up(client, token, c.tracking_code, f"{n:04d}", f"10.3.0.{n}").status_code == 400
    assert _look_up(client, token, c.tracking_code, "1234", "10.3.1.1").status_code == 429


def test_successful_lookups_do_not_use_up_the_code_allowance(client, app):
    merchant = make_merchant()
    c = filed(client, merchant)
    for n in range(limit_count(app.config["TRACK_LIMIT_PER_CODE"]) + 1):
        response = form_post(client, "/track", {"tracking_code": c.tracking_code, "phone_last4": "1234"},
                             **_from(f"10.4.0.{n}"))
        assert response.status_code == 302


def test_limits_have_defaults(tmp_path):
    defaults = {k: v for k, v in load_config(str(tmp_path)).items()
                if k.endswith(("_PER_IP", "_PER_PHONE", "_PER_CODE"))}
    assert defaults == {"COMPLAINT_LIMIT_PER_IP": "10 per hour", "COMPLAINT_LIMIT_PER_PHONE": "5 per day",
                        "TRACK_LIMIT_PER_IP": "20 per 10 minutes", "TRACK_LIMIT_PER_CODE": "10 per hour",
                        "LOGIN_LIMIT_PER_IP": "20 per 10 minutes", "STICKER_REPORT_LIMIT_PER_IP": "5 per hour"}


# --- several gunicorn workers sharing Redis ---------------------------------------------------


def _redis_or_skip(url: str) -> None:
    try:
        import redis

        connection = redis.Redis.from_url(url, socket_connect_timeout=1)
        connection.ping()
    except Exception as err:  # noqa: BLE001 - any failure means: no Redis here
        pytest.skip(f"Redis is not reachable at {url} ({err.__class__.__name__}); the multi-worker test needs it")
    connection.flushdb()


def _wait_until_up(base: str, proc: subprocess.Popen, log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def _status(opener: urllib.request.OpenerDirector, url: str, data: dict[str, str] | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(url, data=body, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.mark.slow
def test_tracking_limit_holds_across_gunicorn_workers(tmp_path, sqlite_template):
    _redis_or_skip(REDIS_URL)
    db_path = tmp_path / "gunicorn.sqlite3"
    shutil.copy(sqlite_template, db_path)  # migrated once per test session (conftest)
    started = time.monotonic()
    limit_value = load_config(str(tmp_path))["TRACK_LIMIT_PER_IP"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "APP_ENV": "development", "SECRET_KEY": "gunicorn-test-secret",
           "DATABASE_URL": f"sqlite:///{db_path}", "RATELIMIT_STORAGE_URI": REDIS_URL,
           "TRACK_LIMIT_PER_IP": limit_value, "PROXY_COUNT": "0"}
    log = tmp_path / "gunicorn.log"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with open(log, "wb") as log_file:
        # --preload: the app is imported once and forked, so start-up stays quick on a busy
        # machine; create_app opens no database connection that the workers could share.
        proc = subprocess.Popen([str(gunicorn), "-w", "3", "-b", f"127.0.0.1:{port}", "--preload",
                                 "--graceful-timeout", "2", "--no-control-socket", "--access-logfile", "-",
                                 "--access-logformat", "access pid=%(p)s %(m)s %(U)s %(s)s",
                                 "pledge_registry:create_app()"], cwd=ROOT, env=env, stdout=log_file,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_up(base, proc, log)
        up = time.monotonic()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        status, page = _status(opener, base + "/track")
        assert status == 200
        token = csrf_token_in(page)
        # Three at a time, so that the workers share them out (one after another, the worker
        # that has just answered may take every next one); then two more, one after another.
        def look_up(_: int) -> int:
            return _status(opener, base + "/track", {"csrf_token": token, "tracking_code": _random_code(),
                                                     "phone_last4": "0000"})[0]

        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            statuses = sorted(pool.map(look_up, range(limit_count(limit_value))))
        statuses += [look_up(0), look_up(0)]
        assert statuses == [400] * limit_count(limit_value) + [429, 429], log.read_text()[-3000:]
        served_by = set(re.findall(r"access pid=<?(\d+)>? POST /track 400", log.read_text()))
        assert len(served_by) > 1, "the look-ups were not spread over several workers"
        print(f"gunicorn up in {up - started:.1f} s, {len(statuses)} look-ups in {time.monotonic() - up:.1f} s")
    finally:
        proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the master and its workers: nothing else is in the group
            proc.wait()
        print(f"stopped after {time.monotonic() - started:.1f} s")


def test_a_rate_limit_on_reads_is_refused_at_start_up(app, monkeypatch):
    """extensions._reads_are_not_limited skips every GET: a limit that would count reads
    must stop the app from starting, not be skipped in silence."""
    from types import SimpleNamespace

    from pledge_registry.extensions import check_limits_count_writes_only, limiter

    assert limiter.limit_manager._decorated_limits  # the app's own limits are there to check ...
    check_limits_count_writes_only()  # ... and all on POSTs
    check_limits_count_writes_only({"ok": [SimpleNamespace(methods=("post",))]})
    for methods in (None, ("get",), ("post", "head")):
        with pytest.raises(RuntimeError, match="counts reads"):
            check_limits_count_writes_only({"views.page": [SimpleNamespace(methods=methods)]})
    # Limits for every route (RATELIMIT_DEFAULT, RATELIMIT_APPLICATION) and a blueprint's.
    # Set on the manager, not through create_app: Flask-Limiter's instance is shared and
    # keeps such limits for every later app of the process.
    for attribute, value in (("_default_limits", [SimpleNamespace(methods=None)]),
                             ("_application_limits", [SimpleNamespace(methods=None)]),
                             ("_blueprint_limits", {"public": [SimpleNamespace(methods=("get",))]})):
        with monkeypatch.context() as patch:
            patch.setattr(limiter.limit_manager, attribute, value)
            with pytest.raises(RuntimeError, match="counts reads"):
                check_limits_count_writes_only()


def test_a_refusal_stands_when_the_counter_store_fails_while_answering_it(client, app, monkeypatch):
    from flask_limiter import RequestLimit

    merchant = make_merchant()
    for n in range(limit_count(app.config["COMPLAINT_LIMIT_PER_IP"])):
        form_post(client, complain_url(merchant), complaint_data(shopper_phone=f"1390000{n:04d}"), **_from("10.9.0.1"))

    def unreachable(self):  # type: ignore[no-untyped-def]
        raise ConnectionError("redis went away")

    monkeypatch.setattr(RequestLimit, "window", property(unreachable))  # what reset_at asks the store
    blocked = form_post(client, complain_url(merchant), complaint_data(shopper_phone="13700000001"),
                        **_from("10.9.0.1"))
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "60"
