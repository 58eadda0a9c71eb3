"""Two app servers, one database: two gunicorn instances on their own ports behind one nginx
upstream (the sample deployment's configuration), sharing a fresh PostgreSQL database and
Redis. What one instance does, the other sees; what they count, they count together."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pledge_registry import create_app
from pledge_registry.extensions import db
from pledge_registry.models import Complaint
from pledge_registry.security import FRESHNESS_SECONDS
from tests import databases
from tests.factories import make_merchant, make_pledge, make_user
from tests.helpers import TEST_PASSWORD, base_config, complaint_data, idempotency_key_in, limit_count
from tests.stack import Phone, app_server, site, stack_or_skip

pytestmark = pytest.mark.slow

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("TEST_STACK_REDIS_URL", "redis://127.0.0.1:6379/11")
TRACK_LIMIT = "4 per 10 minutes"
RENDER_SLACK = 0.5  # as in tests/test_deployment_nginx.py: polling and a busy machine


def _redis_or_skip() -> None:
    try:
        import redis

        connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        connection.ping()
    except Exception as err:  # noqa: BLE001 - any failure means: no Redis here
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({err.__class__.__name__}); two app servers share it")
    connection.flushdb()


@pytest.fixture(scope="module")
def fresh_postgresql(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this module's own, migrated, dropped after."""
    if not PG_URL:
        pytest.skip("two app servers share PostgreSQL: set TEST_DATABASE_URL "
                    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    name = f"pledge_two_servers_{os.getpid()}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    databases.migrate(url, tmp_path_factory.mktemp("two-servers"))
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, fresh_postgresql: str) -> Iterator[dict[str, Any]]:
    stack_or_skip()
    _redis_or_skip()
    work = tmp_path_factory.mktemp("two-servers-stack")
    url = fresh_postgresql
    app = create_app(base_config(url, work))
    env = {"RATELIMIT_STORAGE_URI": REDIS_URL, "TRACK_LIMIT_PER_IP": TRACK_LIMIT}
    with app.app_context(), app_server(url, **env) as one, app_server(url, **env) as two, \
            site([one, two], Path(work) / "nginx") as nginx:
        yield {"one": one, "two": two, "nginx": nginx}
        db.session.remove()
        db.engine.dispose()


def _state(answer: Any) -> str:
    assert answer.status == 200, answer.text[:500]
    return json.loads(answer.body)["state"]


def test_a_revocation_through_one_server_shows_on_the_other(stack) -> None:
    merchant = make_merchant()
    pledge = make_pledge(merchant)
    staff = make_user(role="staff")
    code, pledge_id, login_name = merchant.badge_code, pledge.id, staff.login_name
    scan = f"/m/{code}.json"
    through_nginx, on_two = Phone(stack["nginx"]), Phone(stack["two"])
    assert _state(on_two.get(scan)) == "valid"
    assert _state(through_nginx.get(scan)) == "valid" and through_nginx.get(scan).cache == "HIT"

    officer = Phone(stack["one"])
    assert officer.form_post("/account/login", {"login": login_name, "password": TEST_PASSWORD}).status == 302
    decided = officer.form_post(f"/staff/pledges/{pledge_id}/decision",
                                {"action": "revoke", "reason": "counterfeit goods found"},
                                form_path=f"/staff/pledges/{pledge_id}")
    assert decided.status == 302, decided.text[:500]
    committed = time.monotonic()
    assert _state(on_two.get(scan)) == "revoked"  # the other server, asked directly: at once
    seen = None
    while time.monotonic() - committed < FRESHNESS_SECONDS + 3:
        if _state(through_nginx.get(scan)) == "revoked":
            seen = time.monotonic() - committed
            break
        time.sleep(0.05)
    assert seen is not None and seen <= FRESHNESS_SECONDS + RENDER_SLACK, seen


def test_rate_limits_count_across_both_servers(stack) -> None:
    limit = limit_count(TRACK_LIMIT)
    phones = [Phone(stack["one"]), Phone(stack["two"])]
    statuses = []
    for n in range(limit + 1):
        phone = phones[n % 2]  # alternate: each server alone would allow the limit
        code = "-".join(uuid.uuid4().hex[i:i + 4].upper() for i in range(0, 16, 4))
        statuses.append(phone.form_post("/track", {"tracking_code": code, "phone_last4": "9999"}).status)
    assert 429 not in statuses[:limit], statuses
    assert statuses[limit] == 429, statuses


def test_a_complaint_posted_to_both_servers_is_stored_once(stack) -> None:
    merchant = make_merchant()
    code, merchant_id = merchant.badge_code, merchant.id
    db.session.commit()
    form_path = f"/m/{code}/complain"
    shopper = Phone(stack["one"])
    form = shopper.get(form_path)
    key = idempotency_key_in(form.text)
    assert key, form.text[:500]
    data = complaint_data(idempotency_key=key, shopper_phone="13900005678")
    # The same submission reaches both servers (a retry after a lost answer, the balancer
    # picking the other one this time).
    first = shopper.form_post(form_path, data)
    second = Phone(stack["two"]).form_post(form_path, data)
    assert first.status == 302, first.text[:500]
    assert second.status in (200, 302), second.text[:500]
    db.session.rollback()
    stored = db.session.scalar(sa.select(sa.func.count()).select_from(Complaint)
                               .where(Complaint.merchant_id == merchant_id))
    assert stored == 1
