"""Forged and stale badges: scans of unknown codes and of badges that are not valid are
counted (code, time, hashed network only), shoppers say where a sticker hangs, alerts reach
the town's officers, staff see it all on one page, and nothing stays more than 30 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from pledge_registry.extensions import db
from pledge_registry.models import Merchant, OutboxMessage, ScanAlert, StickerReport, SuspiciousScan, Town
from pledge_registry.scan_reports import recorder, rules, services
from tests.factories import make_merchant, make_pledge, make_user
from tests.helpers import csrf_token, english_browser, login, text

pytestmark = pytest.mark.usefixtures("english")

UNKNOWN = "fake2345abcde"


def scans() -> list[SuspiciousScan]:
    db.session.rollback()  # rows written by the recorder's own connection: read afresh
    return list(db.session.scalars(sa.select(SuspiciousScan).order_by(SuspiciousScan.id)))


def shop_in(state: str) -> Merchant:
    """A shop whose badge stands for `state`."""
    if state == "closed":
        merchant = make_merchant(status="closed")
        make_pledge(merchant)
        return merchant
    merchant = make_merchant()
    make_pledge(merchant, status=state)
    return merchant


def scan(client: Any, code: str, address: str = "127.0.0.1", **kwargs: Any) -> Any:
    return client.get(f"/m/{code}", environ_base={"REMOTE_ADDR": address}, **kwargs)


# --- the pure rules -----------------------------------------------------------------------

@pytest.mark.parametrize(("address", "network"), [
    ("203.0.113.77", "203.0.113.0"), ("2001:db8:abcd:12:1::9", "2001:db8:abcd::"),
    ("::ffff:198.51.100.9", "198.51.100.0"), ("not an address", ""), (None, ""),
])
def test_addresses_are_cut_to_their_network(address, network):
    assert rules.truncate_address(address) == network


def test_the_quick_ipv4_path_cuts_as_ipaddress_does():
    import ipaddress
    import random

    rng = random.Random(9)
    odd = ["256.1.1.1", "01.2.3.4", "1.2.3.04", "0.0.0.0", "1.2.3", "1.2.3.4.5", "\u0661.2.3.4", " 1.2.3.4"]
    for address in odd + [".".join(str(rng.randint(0, 300)) for _ in range(4)) for _ in range(3000)]:
        try:
            expected = str(ipaddress.ip_network(f"{ipaddress.ip_address(address.strip())}/24",
                                                strict=False).network_address)
        except ValueError:
            expected = ""
        assert rules.truncate_address(address) == expected, address


def test_a_source_is_a_short_keyed_hash_of_the_network():
    key = rules.source_key("secret")
    one = rules.source_of("203.0.113.77", key)
    assert len(one) == rules.SOURCE_LENGTH and "203" not in one
    assert rules.source_of("203.0.113.5", key) == one          # the same network
    assert rules.source_of("203.0.114.5", key) != one          # another one
    assert rules.source_of("203.0.113.77", rules.source_key("other")) != one  # no key, no reversal


def test_thresholds_and_periods():
    rule = rules.Thresholds(window_hours=24, unknown_scans=5, revoked_scans=3, min_sources=2)
    assert rule.unknown_alert(5, 2) and not rule.unknown_alert(4, 4) and not rule.unknown_alert(50, 1)
    assert rule.revoked_alert(3, 2) and not rule.revoked_alert(2, 2)
    day = datetime(2026, 3, 15, 1, tzinfo=UTC)
    assert rules.alert_period(day, 24) == rules.alert_period(day + timedelta(hours=22), 24)
    assert rules.alert_period(day, 24) + 1 == rules.alert_period(day + timedelta(hours=24), 24)
    assert rules.alertable("fake2345abcde") and not rules.alertable("wp-login.php") and not rules.alertable("a b c d")


# --- counting scans --------------------------------------------------------------------------

def test_a_valid_badge_writes_nothing(client, monkeypatch):
    merchant = make_merchant()
    make_pledge(merchant)
    monkeypatch.setattr(recorder, "record", lambda *a: pytest.fail("a valid scan was recorded"))
    for _ in range(3):
        assert scan(client, merchant.badge_code).status_code == 200
    assert scans() == []


@pytest.mark.parametrize("state", ["suspended", "revoked", "expired", "closed"])
def test_a_badge_that_is_not_valid_is_counted_with_its_shop(client, state):
    merchant = shop_in(state)
    first = scan(client, merchant.badge_code, "203.0.113.77")
    assert first.status_code == 200
    # Not kept by the proxy: the next scan reaches the app and is counted too.
    assert "X-Accel-Expires" not in first.headers
    again = scan(client, merchant.badge_code, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    rows = scans()
    assert [(r.code, r.state, r.merchant_id) for r in rows] == [(merchant.badge_code, state, merchant.id)] * 2
    assert rows[0].source != rows[1].source  # two networks
    assert all(len(r.source) == 16 and "203" not in r.source for r in rows)
    assert client.get(f"/m/{merchant.badge_code}.json").status_code == 200
    assert len(scans()) == 2, "the JSON of a badge is not a scan"


def test_an_unknown_code_is_counted_and_not_kept_by_the_proxy(client):
    response = scan(client, UNKNOWN)
    assert response.status_code == 404
    assert "X-Accel-Expires" not in response.headers
    [row] = scans()
    assert (row.code, row.state, row.merchant_id) == (UNKNOWN, "unknown", None)
    assert datetime.now(UTC) - row.scanned_at < timedelta(minutes=1)
    scan(client, "x" * 300)
    assert scans()[-1].code == "x" * 40  # bounded


def test_a_signed_in_scan_of_a_revoked_badge_is_counted(client, app):
    merchant = shop_in("revoked")
    staff = english_browser(app)
    login(staff, make_user(role="staff"))
    assert scan(staff, merchant.badge_code).status_code == 200
    assert [r.state for r in scans()] == ["revoked"]


def test_a_failed_write_never_fails_the_scan_and_is_kept_for_the_next(client, monkeypatch):
    real = recorder._writer

    def broken(engine: Any) -> Any:
        raise engine.dialect.loaded_dbapi.OperationalError("database is locked")

    monkeypatch.setattr(recorder, "_writer", broken)
    assert scan(client, UNKNOWN).status_code == 404
    assert recorder.pending() == 1 and scans() == []
    monkeypatch.setattr(recorder, "_writer", real)
    assert scan(client, UNKNOWN).status_code == 404
    assert recorder.pending() == 0 and len(scans()) == 2


def test_a_worker_writes_its_suspicious_scans_in_batches_off_the_scans_path(client, app, monkeypatch):
    """As deployed (SCAN_LOG_FLUSH_MS > 0): the scan's request writes nothing; the worker's
    recorder thread writes the queued scans together, within about one interval."""
    import threading
    import time

    app.config["SCAN_LOG_FLUSH_MS"] = 200
    merchant = shop_in("revoked")
    writers: list[tuple[str, int]] = []
    real = recorder.flush
    release = threading.Event()

    def watched(engine: Any = None) -> int:
        if threading.current_thread().name == "scan-recorder":
            release.wait(10)  # the thread holds its writes until the four scans are queued
        written = real(engine)
        if written:
            writers.append((threading.current_thread().name, written))
        return written

    monkeypatch.setattr(recorder, "flush", watched)
    for _ in range(3):
        assert scan(client, merchant.badge_code).status_code == 200
    assert scan(client, UNKNOWN).status_code == 404
    assert scans() == [] and recorder.pending() == 4  # the requests wrote nothing
    release.set()
    deadline = time.monotonic() + 10
    while len(scans()) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(r.state for r in scans()) == ["revoked"] * 3 + ["unknown"]
    assert recorder.pending() == 0
    assert writers == [("scan-recorder", 4)]  # one batch, not a write per scan
    recorder._flusher.engine = None  # the thread stops: the next tests write in their requests


def test_the_log_can_be_switched_off(client, app):
    app.config["SCAN_LOG"] = False
    scan(client, UNKNOWN)
    assert scans() == []


# --- the shopper's report ------------------------------------------------------------------

def report_data(client: Any, code: str = UNKNOWN, **fields: Any) -> dict[str, Any]:
    town = db.session.scalar(sa.select(Town).order_by(Town.id))
    return {"csrf_token": csrf_token(client, f"/m/{code}"), "town": town.id, "place": "Nanyang Plaza 2F",
            "shop_name": "Lucky Shoes", "note": "", **fields}


def test_a_shopper_reports_where_the_sticker_hangs(client):
    page = text(scan(client, UNKNOWN))
    assert f'action="/m/{UNKNOWN}/report#report"' in page and 'name="place"' in page
    data = report_data(client)
    response = client.post(f"/m/{UNKNOWN}/report", data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/m/{UNKNOWN}/reported")
    assert UNKNOWN in text(client.get(response.headers["Location"]))
    [report] = db.session.scalars(sa.select(StickerReport)).all()
    assert (report.code, report.town_id, report.place, report.shop_name) == (UNKNOWN, data["town"],
                                                                            "Nanyang Plaza 2F", "Lucky Shoes")
    assert len(report.source) == 16 and "127.0.0" not in report.source


def test_a_report_must_say_where_and_keeps_the_input(client):
    response = client.post(f"/m/{UNKNOWN}/report", data=report_data(client, place="", shop_name="", note="by the lift"))
    assert response.status_code == 400
    page = text(response)
    assert "Say where you saw it" in page and "by the lift" in page
    assert db.session.scalars(sa.select(StickerReport)).all() == []


def test_only_unknown_codes_can_be_reported(client):
    merchant = shop_in("revoked")
    assert client.post(f"/m/{merchant.badge_code}/report", data=report_data(client)).status_code == 404
    assert client.post(f"/m/{'x' * 41}/report", data=report_data(client)).status_code == 404


def test_reports_are_rate_limited(client, app):
    app.config["STICKER_REPORT_LIMIT_PER_IP"] = "2 per hour"
    statuses = [client.post(f"/m/{UNKNOWN}/report", data=report_data(client)).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]


# --- alerts --------------------------------------------------------------------------------

def _towns() -> list[Town]:
    return list(db.session.scalars(sa.select(Town).order_by(Town.id)))


def messages() -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.template.like("scan_alert%"))))


def test_a_revoked_badge_still_scanned_alerts_its_towns_officers_once(client):
    home, other = _towns()[:2]
    merchant = shop_in("revoked")
    officer = make_user(role="staff", town_id=home.id)
    make_user(role="staff", town_id=other.id)
    make_user(role="staff")  # a city officer: sees the page, gets no message
    scan(client, merchant.badge_code, "203.0.113.1")
    scan(client, merchant.badge_code, "203.0.113.2")
    assert services.raise_alerts().raised == 0  # two scans: under the threshold of three
    scan(client, merchant.badge_code, "198.51.100.1")
    run = services.raise_alerts()
    assert (run.raised, run.notified) == (1, 1)
    [alert] = db.session.scalars(sa.select(ScanAlert)).all()
    assert (alert.kind, alert.code, alert.merchant_id, alert.town_id, alert.scans, alert.sources) == (
        "revoked_scanned", merchant.badge_code, merchant.id, home.id, 3, 2)
    [message] = messages()
    assert message.recipient == officer.email and message.template == "scan_alert_revoked"
    assert message.context["shop"] == merchant.shop_name
    scan(client, merchant.badge_code, "198.51.100.1")
    assert services.raise_alerts().raised == 0  # once per window
    assert len(messages()) == 1


def test_an_unknown_code_scanned_again_and_again_alerts_the_reported_town(client):
    town = _towns()[1]
    officer = make_user(role="staff", town_id=town.id)
    for i in range(4):
        scan(client, UNKNOWN, f"203.0.113.{i}")
    scan(client, UNKNOWN, "203.0.113.9")  # five scans, but all from one network
    assert services.raise_alerts().raised == 0
    scan(client, UNKNOWN, "198.51.100.1")
    client.post(f"/m/{UNKNOWN}/report", data=report_data(client, town=town.id))
    run = services.raise_alerts()
    assert (run.raised, run.notified) == (1, 1)
    [message] = messages()
    assert message.recipient == officer.email and message.template == "scan_alert_unknown"
    assert message.context["code"] == UNKNOWN


def test_an_unknown_code_with_no_town_is_shown_to_staff_only(client, app):
    make_user(role="staff", town_id=_towns()[0].id)
    for i in range(5):
        scan(client, UNKNOWN, f"198.51.{i}.1")
    assert (services.raise_alerts().raised, len(messages())) == (1, 0)
    staff = english_browser(app)
    login(staff, make_user(role="staff"))
    page = text(staff.get("/staff/scans"))
    assert "An unknown code keeps being scanned" in page and UNKNOWN in page


def test_thresholds_are_configuration(client, app):
    app.config.update(SCAN_ALERT_UNKNOWN_SCANS=2, SCAN_ALERT_MIN_SOURCES=1)
    scan(client, UNKNOWN)
    scan(client, UNKNOWN)
    assert services.raise_alerts().raised == 1


# --- retention -----------------------------------------------------------------------------

def test_nothing_is_kept_beyond_thirty_days(client, app, runner):
    scan(client, UNKNOWN)
    app.config["SCAN_ALERT_UNKNOWN_SCANS"], app.config["SCAN_ALERT_MIN_SOURCES"] = 1, 1
    services.raise_alerts()
    client.post(f"/m/{UNKNOWN}/report", data=report_data(client))
    later = datetime.now(UTC) + timedelta(days=29)
    assert services.purge(now=later) == 0
    result = runner.invoke(args=["scans", "purge"])
    assert result.exit_code == 0 and "0 scan record" in result.output
    assert services.purge(now=later + timedelta(days=2)) == 4  # 2 scans (one to open the form), a report, an alert
    assert scans() == [] and db.session.scalars(sa.select(StickerReport)).all() == []
    app.config["SCAN_LOG_RETENTION_DAYS"] = 90  # a longer setting is capped at 30
    scan(client, UNKNOWN)
    assert services.purge(now=datetime.now(UTC) + timedelta(days=31)) == 1


def test_the_jobs_are_scheduled(app):
    from pathlib import Path

    cron = (Path(app.root_path).parent / "deploy" / "pledge-registry.cron").read_text()
    assert any("scans purge" in line and not line.startswith("#") for line in cron.splitlines())
    assert any("scans alert" in line and not line.startswith("#") for line in cron.splitlines())


# --- the staff page ------------------------------------------------------------------------

def test_the_staff_page_filters_by_code_shop_area_and_time(client, app):
    revoked, closed = shop_in("revoked"), shop_in("closed")
    other_town = _towns()[1]
    elsewhere = make_merchant(town_id=other_town.id, area_id=None)
    make_pledge(elsewhere, status="suspended")
    for code in (revoked.badge_code, closed.badge_code, elsewhere.badge_code, UNKNOWN):
        scan(client, code)
    staff = english_browser(app)
    login(staff, make_user(role="staff"))

    def shown(**args: Any) -> set[str]:
        response = staff.get("/staff/scans", query_string=args)
        assert response.status_code == 200
        page = text(response)
        return {c for c in (revoked.badge_code, closed.badge_code, elsewhere.badge_code, UNKNOWN) if c in page}

    everything = {revoked.badge_code, closed.badge_code, elsewhere.badge_code, UNKNOWN}
    assert shown() == everything
    assert shown(code=UNKNOWN) == {UNKNOWN}
    assert shown(state="closed") == {closed.badge_code}
    assert shown(shop=revoked.id) == {revoked.badge_code}
    assert shown(town=other_town.id) == {elsewhere.badge_code}
    assert shown(area=revoked.area_id) == {revoked.badge_code, closed.badge_code}
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    assert shown(**{"from": tomorrow}) == set()
    assert shown(to=tomorrow) == everything
    client.post(f"/m/{UNKNOWN}/report", data=report_data(client, town=other_town.id, place="Liuhe Old Street"))
    assert shown(town=other_town.id) == {elsewhere.badge_code, UNKNOWN}  # where shoppers saw it
    assert "Liuhe Old Street" in text(staff.get("/staff/scans"))


def test_the_staff_page_pages_by_keyset(client, app):
    now = datetime.now(UTC)
    db.session.execute(sa.insert(SuspiciousScan), [
        {"scanned_at": now - timedelta(minutes=i), "code": f"code{i:04d}", "state": "unknown", "source": "0" * 16}
        for i in range(60)])
    db.session.commit()
    staff = english_browser(app)
    login(staff, make_user(role="staff"))
    first = text(staff.get("/staff/scans"))
    assert "code0000" in first and "code0049" in first and "code0050" not in first.split("Every scan")[1]
    import re

    next_url = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = text(staff.get(next_url)).split("Every scan")[1]
    assert "code0050" in second and "code0059" in second and "code0049" not in second


def test_only_staff_open_the_page(client, app):
    for role, status in (("merchant", 403), ("station", 403)):
        browser = english_browser(app)
        if role == "station":
            continue  # a station officer needs a station; covered by tests/test_security.py's walk
        login(browser, make_user(role=role))
        assert browser.get("/staff/scans").status_code == status
    assert english_browser(app).get("/staff/scans").status_code == 302
