"""The outbox: written with the change, delivered by a worker against real servers, retried
with backoff, never lost, claimed by one worker at a time, and never logging a phone."""

from __future__ import annotations

import email
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from pledge_registry.extensions import db
from pledge_registry.models import OutboxMessage
from pledge_registry.outbox import delivery, enqueue, messages
from pledge_registry.outbox.backends import LogBackend, Outgoing, WebhookBackend, mask_recipient
from tests.factories import make_filed_complaint, make_merchant
from tests.helpers import count_rows, free_port

T0 = datetime(2030, 1, 7, 2, 0, tzinfo=UTC)  # later than any message the tests enqueue: all due
PHONE = "13912345678"


def _message(key: str = "test:1") -> OutboxMessage:
    return db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key == key))


def _enqueue_sms(key: str = "test:1", phone: str = PHONE) -> None:
    enqueue("sms", phone, "complaint_accepted", {"tracking_code": "ABCD2345EFGH67", "shop": "测试小店"}, key)
    db.session.commit()


def test_one_message_per_cause_whether_repeated_in_a_transaction_or_after_it(app):
    before = datetime.now(UTC)
    enqueue("sms", PHONE, "complaint_accepted", {"tracking_code": "FIRST", "shop": "甲"}, "test:once")
    enqueue("sms", PHONE, "complaint_accepted", {"tracking_code": "AGAIN", "shop": "乙"}, "test:once")
    db.session.commit()
    enqueue("sms", "13800000000", "complaint_accepted", {"tracking_code": "LATER", "shop": "丙"}, "test:once")
    db.session.commit()
    rows = list(db.session.scalars(sa.select(OutboxMessage)))
    assert len(rows) == 1
    row = rows[0]
    assert (row.recipient, row.context["tracking_code"]) == (PHONE, "FIRST")  # the first cause is kept
    assert (row.status, row.attempts, row.last_error, row.claimed_until, row.sent_at) == ("pending", 0, "", None, None)
    assert before <= row.next_attempt_at == row.created_at <= datetime.now(UTC)  # due at once


class RecordingBackend:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    def send(self, message: Outgoing) -> None:
        self.sent.append(message)


# --- real servers -----------------------------------------------------------------------

class _Mailbox:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Mailbox, int]]:
    from aiosmtpd.controller import Controller

    mailbox = _Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


class _Gateway:
    """A local SMS gateway: answers the scripted statuses in turn, then 200."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []


@pytest.fixture
def gateway() -> Iterator[tuple[_Gateway, str]]:
    state = _Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append((dict(self.headers), json.loads(body)))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/sms"
    finally:
        server.shutdown()
        server.server_close()


def _use_webhook(app: Any, url: str) -> None:
    app.config.update(OUTBOX_BACKEND="webhook", SMS_WEBHOOK_URL=url, SMS_WEBHOOK_TOKEN="gw-token")


# --- delivery ---------------------------------------------------------------------------

def test_email_arrives_once_over_real_smtp(app, smtp_server):
    mailbox, port = smtp_server
    app.config.update(OUTBOX_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=port,
                      SMTP_STARTTLS=False, SMTP_USER="", MAIL_FROM="noreply@bureau.example")
    enqueue("email", "officer@bureau.example", "officer_deadline_reminder",
            {"complaint_id": 42, "deadline": "acceptance", "due": "2026-10-09 23:59"}, "complaint:42:reminder")
    db.session.commit()

    report = delivery.deliver_due(now=T0)
    again = delivery.deliver_due(now=T0 + timedelta(hours=1))

    assert (report.sent, again.claimed) == (1, 0)
    assert len(mailbox.envelopes) == 1
    envelope = mailbox.envelopes[0]
    assert envelope.rcpt_tos == ["officer@bureau.example"]
    mail = email.message_from_bytes(envelope.content, policy=policy.default)
    assert mail["Subject"] == "投诉受理期限将至（编号42）Complaint acceptance due soon (no. 42)"
    body = mail.get_content()
    assert "须在2026-10-09 23:59前受理" in body
    assert "http://localhost/staff/complaints/42" in body
    assert mail["Message-ID"].endswith("@bureau.example>")
    row = _message("complaint:42:reminder")
    assert (row.status, row.sent_at, row.attempts) == ("sent", T0, 0)


def test_message_id_is_stable_across_attempts(app):
    from pledge_registry.outbox.backends import message_id

    assert message_id("complaint:1:x", "a.example") == message_id("complaint:1:x", "a.example")
    assert message_id("complaint:1:x", "a.example") != message_id("complaint:2:x", "a.example")


def test_webhook_receives_json_and_idempotency_key(app, gateway):
    state, url = gateway
    _use_webhook(app, url)
    _enqueue_sms("complaint:7:complaint_accepted:")

    assert delivery.deliver_due(now=T0).sent == 1

    headers, body = state.requests[0]
    assert headers["Idempotency-Key"] == "complaint:7:complaint_accepted:"
    assert headers["Authorization"] == "Bearer gw-token"
    assert body["to"] == PHONE and body["id"] == "complaint:7:complaint_accepted:"
    assert body["text"].startswith("【太仓市市场监督管理局】")
    assert "ABCD2345EFGH67" in body["text"]


def test_server_errors_are_retried_with_backoff(app, gateway):
    state, url = gateway
    _use_webhook(app, url)
    state.statuses = [500, 500]
    app.config["OUTBOX_MAX_ATTEMPTS"] = 10
    _enqueue_sms()

    first = delivery.deliver_due(now=T0)
    row = _message()
    assert (first.retrying, row.status, row.attempts) == (1, "pending", 1)
    assert row.last_error == "sms webhook answered HTTP 500"
    # 1 minute, minus up to 25% jitter
    assert T0 + timedelta(seconds=45) <= row.next_attempt_at <= T0 + timedelta(minutes=1)

    assert delivery.deliver_due(now=T0 + timedelta(seconds=30)).claimed == 0  # not due yet
    assert len(state.requests) == 1

    t1 = T0 + timedelta(minutes=1, seconds=1)
    delivery.deliver_due(now=t1)
    db.session.expire_all()
    row = _message()
    assert row.attempts == 2
    assert t1 + timedelta(seconds=90) <= row.next_attempt_at <= t1 + timedelta(minutes=2)

    t2 = t1 + timedelta(minutes=2, seconds=1)
    assert delivery.deliver_due(now=t2).sent == 1
    db.session.expire_all()
    row = _message()
    assert (row.status, row.attempts, row.sent_at, row.claimed_until) == ("sent", 2, t2, None)
    assert len(state.requests) == 3
    assert {h["Idempotency-Key"] for h, _ in state.requests} == {"test:1"}


def test_backoff_doubles_and_is_capped():
    def top(attempts: int) -> timedelta:
        return delivery.backoff(attempts, rng=lambda: 0.0)

    assert [top(n) for n in (1, 2, 3)] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert top(30) == timedelta(hours=6)
    assert delivery.backoff(1, rng=lambda: 1.0) == timedelta(seconds=45)


def test_gives_up_after_max_attempts_keeps_the_row_and_retry_failed_requeues(app, runner):
    port = free_port()  # nothing listens there
    _use_webhook(app, f"http://127.0.0.1:{port}/sms")
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    _enqueue_sms()

    delivery.deliver_due(now=T0)
    report = delivery.deliver_due(now=T0 + timedelta(minutes=5))
    db.session.expire_all()
    row = _message()
    assert (report.failed, row.status, row.attempts) == (1, "failed", 2)
    assert row.last_error == "sms webhook unreachable (URLError)"
    assert delivery.deliver_due(now=T0 + timedelta(days=1)).claimed == 0  # failed: left alone

    app.config["OUTBOX_BACKEND"] = "log"
    result = runner.invoke(args=["outbox", "deliver", "--retry-failed"])
    assert result.exit_code == 0, result.output
    assert "1 failed message(s) queued again." in result.output
    db.session.expire_all()
    assert _message().status == "sent"


def test_unknown_template_fails_at_once_without_being_lost(app):
    enqueue("sms", PHONE, "no_such_template", {}, "test:bad")
    db.session.commit()
    report = delivery.deliver_due(backend=RecordingBackend(), now=T0)
    row = _message("test:bad")
    assert (report.failed, row.status, row.attempts) == (1, "failed", 1)
    assert PHONE not in row.last_error


def test_crash_after_send_before_mark_resends_once_the_lease_ends(app, gateway, monkeypatch):
    """The documented at-least-once window: the gateway accepted the SMS, then the worker
    died before recording it. The row stays pending and claimed; no run resends it while
    the lease lasts; after it, the next run sends it again with the same Idempotency-Key,
    which the gateway uses to drop the duplicate."""
    state, url = gateway
    _use_webhook(app, url)
    app.config["OUTBOX_LEASE_SECONDS"] = 300
    _enqueue_sms()

    def crash(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(delivery, "mark_sent", crash)
    with pytest.raises(RuntimeError):
        delivery.deliver_due(now=T0)
    db.session.rollback()
    monkeypatch.undo()

    row = _message()
    assert (row.status, row.attempts, row.sent_at) == ("pending", 0, None)
    assert row.claimed_until == T0 + timedelta(seconds=300)
    assert len(state.requests) == 1

    assert delivery.deliver_due(now=T0 + timedelta(minutes=4)).claimed == 0  # lease still held
    assert len(state.requests) == 1

    assert delivery.deliver_due(now=T0 + timedelta(minutes=6)).sent == 1
    assert len(state.requests) == 2
    assert state.requests[0][0]["Idempotency-Key"] == state.requests[1][0]["Idempotency-Key"] == "test:1"
    db.session.expire_all()
    assert _message().status == "sent"
    assert delivery.deliver_due(now=T0 + timedelta(hours=1)).claimed == 0  # and never again


def test_a_sent_message_is_not_sent_again(app):
    _enqueue_sms()
    backend = RecordingBackend()
    delivery.deliver_due(backend=backend, now=T0)
    for hours in (1, 24, 24 * 30):
        delivery.deliver_due(backend=backend, now=T0 + timedelta(hours=hours))
    assert len(backend.sent) == 1


# --- claiming ---------------------------------------------------------------------------

def _many(n: int) -> None:
    for i in range(n):
        enqueue("sms", PHONE, "complaint_accepted", {"tracking_code": "X", "shop": "Y"}, f"test:{i}")
    db.session.commit()


def test_two_sessions_never_claim_the_same_row(app):
    _many(8)
    engine = db.engine
    lease = timedelta(minutes=5)
    with Session(engine) as first, Session(engine) as second:
        ids_a, _ = delivery.claim(first, T0, 4, lease)
        if engine.dialect.name == "postgresql":
            # A's rows are still locked and uncommitted: SKIP LOCKED hands B the others.
            ids_b, _ = delivery.claim(second, T0, 4, lease)
            first.commit()
            second.commit()
        else:
            # SQLite: A holds the write lock (BEGIN IMMEDIATE) until it commits.
            first.commit()
            ids_b, _ = delivery.claim(second, T0, 4, lease)
            second.commit()
        with Session(engine) as third:
            ids_c, _ = delivery.claim(third, T0, 4, lease)
            third.commit()
    assert len(ids_a) == len(ids_b) == 4
    assert not set(ids_a) & set(ids_b)
    assert ids_c == []


def test_concurrent_workers_claim_disjoint_rows(app):
    _many(60)
    engine = db.engine
    barrier = threading.Barrier(4)
    claimed: list[list[int]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait()
            with Session(engine) as session:
                while True:
                    ids, _ = delivery.claim(session, T0, 3, timedelta(minutes=5))
                    session.commit()
                    if not ids:
                        return
                    claimed[n].extend(ids)
        except BaseException as err:  # noqa: BLE001 - whatever stops a worker is raised by the test thread below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    everything = [i for ids in claimed for i in ids]
    assert len(everything) == len(set(everything)) == 60


# --- written with the change ------------------------------------------------------------

def test_enqueue_in_a_rolled_back_transaction_leaves_no_message(app):
    merchant = make_merchant()
    merchant.shop_name = "改名"
    enqueue("sms", PHONE, "complaint_accepted", {"tracking_code": "X", "shop": "Y"}, "test:rolled-back")
    db.session.rollback()
    assert count_rows(OutboxMessage) == 0
    db.session.refresh(merchant)
    assert merchant.shop_name != "改名"


def test_a_filed_complaint_commits_its_message_and_sms_carries_no_account(app):
    merchant = make_merchant()
    complaint = make_filed_complaint(merchant, account="买回家第二天就坏了，店员态度很差", shopper_name="李四",
                                     shopper_phone=PHONE)
    backend = RecordingBackend()
    assert delivery.deliver_due(backend=backend, now=datetime.now(UTC) + timedelta(seconds=1)).sent == 1
    [sms] = backend.sent
    assert sms.recipient == PHONE and sms.template == "complaint_received"
    assert complaint.tracking_code in sms.text
    assert "坏了" not in sms.text and "李四" not in sms.text
    assert len(sms.text) <= 140


def test_every_workflow_template_renders():
    contexts = {
        "complaint_received": {"tracking_code": "T", "shop": "S"},
        "complaint_accepted": {"tracking_code": "T", "shop": "S"},
        "merchant_answered": {"tracking_code": "T", "shop": "S", "step": "3"},
        "complaint_closed": {"tracking_code": "T", "shop": "S", "outcome": "resolved"},
        "survey": {"tracking_code": "T", "shop": "S", "survey_url": "http://x/survey/abc"},
        "merchant_new_complaint": {"shop": "S", "complaint_id": 1, "step": "2"},
        "merchant_reply_reminder": {"shop": "S", "complaint_id": 1, "due": "2026-10-09 23:59"},
        "officer_deadline_reminder": {"complaint_id": 1, "deadline": "completion", "due": "2026-10-09 23:59"},
        "publication_notice": {"shop": "S", "period": "2026Q2", "notice_ends": "2026-07-10"},
        "scan_alert_unknown": {"code": "C", "scans": 5, "hours": 24, "shop": "", "address": "", "alert_id": 1},
        "scan_alert_revoked": {"code": "C", "scans": 3, "hours": 24, "shop": "S", "address": "A", "alert_id": 1},
        "owner_invite": {"name": "N", "url": "http://x/account/welcome?token=t", "hours": 72},
        "spike_alert": {"alert_id": 1, "url": "http://x/staff/analysis/alerts/1", "week": "2026-11-23",
                        "observed": 12, "baseline": "2.0", "subject_zh": "行业：餐饮 · 沙溪镇",
                        "subject_en": "Industry: Catering · Shaxi"},
    }
    assert set(contexts) == set(messages.TEXTS)
    for key, context in contexts.items():
        rendered = messages.render(key, context, "sms", base_url="http://x", sender="局")
        assert rendered.text.startswith("【局】")
        assert "{" not in rendered.text and "{" not in rendered.subject
    assert "已调解成功" in messages.render("complaint_closed", contexts["complaint_closed"], "sms").text


# --- logs -------------------------------------------------------------------------------

def test_log_backend_masks_the_phone_and_keeps_the_text_out(app, caplog):
    app.config["OUTBOX_BACKEND"] = "log"
    _enqueue_sms()
    with caplog.at_level(logging.INFO, logger="pledge_registry.outbox"):
        assert delivery.deliver_due(now=T0).sent == 1
    assert "139****5678" in caplog.text
    assert PHONE not in caplog.text
    assert "ABCD2345EFGH67" not in caplog.text
    assert "DEVELOPMENT" in caplog.text


def test_failures_log_no_phone(app, caplog):
    _use_webhook(app, f"http://127.0.0.1:{free_port()}/sms")
    _enqueue_sms()
    with caplog.at_level(logging.DEBUG):
        delivery.deliver_due(now=T0)
    assert PHONE not in caplog.text
    assert PHONE not in _message().last_error


def test_mask_recipient():
    assert mask_recipient("13812345678") == "138****5678"
    assert mask_recipient("zhang.san@example.org") == "z***@example.org"
    assert mask_recipient("123") == "****"


def test_webhook_refuses_non_http_urls():
    with pytest.raises(ValueError):
        WebhookBackend("file:///etc/passwd")
    assert isinstance(LogBackend(), LogBackend)
