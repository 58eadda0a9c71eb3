"""Daily complaint jobs: deadline reminders (once per deadline) and the retention job."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from pledge_registry.complaints import deadlines, jobs, uploads
from pledge_registry.extensions import db
from pledge_registry.models import Complaint, ComplaintEvent, ComplaintPhoto, OutboxMessage, PhoneReveal, SurveyResponse
from pledge_registry.outbox import enqueue
from tests.factories import make_complaint, make_merchant, make_user
from tests.helpers import count_rows

NOW = datetime(2026, 10, 12, 1, 0, tzinfo=UTC)   # Monday 09:00 in Taicang
SHOPPER_PHONE = "13987654321"


def complaint_for(merchant: Any, **overrides: Any) -> Complaint:
    """A complaint from SHOPPER_PHONE, received the day before NOW unless said otherwise."""
    return make_complaint(merchant, **{"received_at": NOW - timedelta(days=1), "shopper_phone": SHOPPER_PHONE,
                                       **overrides})


def _messages(template: str | None = None) -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if template:
        query = query.where(OutboxMessage.template == template)
    return list(db.session.scalars(query))


# --- reminders --------------------------------------------------------------------------

def test_merchant_is_reminded_once_per_deadline(app):
    merchant = make_merchant(contact_phone="13811112222")
    due = NOW + timedelta(hours=10)
    c = complaint_for(merchant, status="with_merchant", accepted_at=NOW - timedelta(days=1),
                       forwarded_at=NOW - timedelta(days=1), merchant_reply_due_at=due)
    complaint_for(merchant, status="with_merchant", merchant_reply_due_at=NOW + timedelta(hours=30))  # later
    complaint_for(merchant, status="with_merchant", merchant_reply_due_at=NOW - timedelta(hours=1))   # overdue

    first = jobs.send_reminders(now=NOW)
    again = jobs.send_reminders(now=NOW + timedelta(hours=1))

    assert (first.merchant, again.merchant) == (1, 1)
    [message] = _messages("merchant_reply_reminder")
    assert (message.channel, message.recipient) == ("sms", "13811112222")
    assert message.context == {"shop": merchant.shop_name, "complaint_id": c.id, "due": "2026-10-12 19:00"}
    assert SHOPPER_PHONE not in str(message.context)

    # Sent back for a better answer: a new deadline, so one more reminder.
    c.merchant_reply_due_at = NOW + timedelta(hours=20)
    db.session.commit()
    jobs.send_reminders(now=NOW + timedelta(hours=2))
    assert len(_messages("merchant_reply_reminder")) == 2


def test_officer_reminders_by_email_or_sms_and_unassigned_counted(app):
    merchant = make_merchant()
    by_mail = make_user(role="staff", email="officer@bureau.example")
    by_phone = make_user(role="staff", email=None, phone="13700001111")
    accept_soon = complaint_for(merchant, acceptance_due_at=NOW + timedelta(hours=5),
                                 assigned_officer_id=by_mail.id)
    finish_soon = complaint_for(merchant, status="mediating", accepted_at=NOW - timedelta(days=6),
                                 completion_due_at=NOW + timedelta(hours=12), assigned_officer_id=by_phone.id)
    complaint_for(merchant, acceptance_due_at=NOW + timedelta(hours=5))           # nobody assigned
    complaint_for(merchant, status="closed", outcome="resolved", closed_at=NOW - timedelta(hours=1),
                   completion_due_at=NOW + timedelta(hours=3), assigned_officer_id=by_mail.id)  # closed
    complaint_for(merchant, status="accepted", accepted_at=NOW - timedelta(hours=2),
                   acceptance_due_at=NOW + timedelta(hours=5), assigned_officer_id=by_mail.id)   # already accepted

    report = jobs.send_reminders(now=NOW)
    jobs.send_reminders(now=NOW + timedelta(hours=3))

    assert (report.officer, report.unassigned) == (2, 1)
    messages = _messages("officer_deadline_reminder")
    assert [(m.channel, m.recipient, m.context["complaint_id"], m.context["deadline"]) for m in messages] == [
        ("email", "officer@bureau.example", accept_soon.id, "acceptance"),
        ("sms", "13700001111", finish_soon.id, "completion"),
    ]


def test_remind_command(app, runner):
    merchant = make_merchant()
    complaint_for(merchant, status="with_merchant", merchant_reply_due_at=datetime.now(UTC) + timedelta(hours=2))
    result = runner.invoke(args=["complaints", "remind"])
    assert result.exit_code == 0, result.output
    assert "Reminders queued: 1 to merchants, 0 to officers." in result.output


# --- retention --------------------------------------------------------------------------

def _photo(complaint: Complaint) -> str:
    name = secrets.token_hex(16) + ".jpg"
    folder = uploads.upload_folder()
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as fh:
        fh.write(b"\xff\xd8 not really a jpeg")
    db.session.add(ComplaintPhoto(complaint_id=complaint.id, stored_name=name, width=1, height=1, size_bytes=20))
    db.session.commit()
    return os.path.join(folder, name)


def test_anonymise_removes_personal_data_and_photos_and_is_idempotent(app, runner):
    retention = deadlines.current_deadlines().retention_days
    merchant = make_merchant()
    officer = make_user(role="staff")
    old = complaint_for(merchant, received_at=NOW - timedelta(days=retention + 40), status="closed",
                         outcome="resolved", amount_recovered_cents=50000,
                         closed_at=NOW - timedelta(days=retention + 1), assigned_officer_id=officer.id)
    old_file = _photo(old)
    db.session.add_all([
        ComplaintEvent(complaint_id=old.id, kind="shopper_info", from_status="accepted", to_status="accepted",
                       actor_role="shopper", note="我的身份证号是……"),
        ComplaintEvent(complaint_id=old.id, kind="accepted", from_status="received", to_status="accepted",
                       actor_role="officer", actor_id=officer.id, note="受理"),
        SurveyResponse(complaint_id=old.id, answer="satisfied", comment="谢谢王科长，电话13987654321"),
        PhoneReveal(complaint_id=old.id, officer_id=officer.id),
    ])
    enqueue("sms", SHOPPER_PHONE, "complaint_closed", {"tracking_code": old.tracking_code, "shop": "x",
                                                       "outcome": "resolved"}, f"complaint:{old.id}:complaint_closed:")
    db.session.commit()
    recent = complaint_for(merchant, status="closed", outcome="withdrawn", closed_at=NOW - timedelta(days=10))
    open_old = complaint_for(merchant, received_at=NOW - timedelta(days=retention + 100), status="mediating")
    open_file = _photo(open_old)

    assert jobs.anonymise_closed(now=NOW) == 1

    db.session.expire_all()
    old = db.session.get(Complaint, old.id)
    assert (old.shopper_phone, old.shopper_name, old.anonymised_at) == (None, None, NOW)
    assert old.account == jobs.ANONYMISED_TEXT
    assert old.photos == [] and not os.path.exists(old_file)
    notes = {e.kind: e.note for e in old.events}
    assert notes == {"shopper_info": jobs.ANONYMISED_TEXT, "accepted": "受理"}
    survey = db.session.scalar(sa.select(SurveyResponse).where(SurveyResponse.complaint_id == old.id))
    assert (survey.answer, survey.comment) == ("satisfied", jobs.ANONYMISED_TEXT)
    # The facts the statistics need stay.
    assert (old.outcome, old.amount_recovered_cents, old.item) == ("resolved", 50000, "电动自行车")
    [message] = _messages("complaint_closed")
    assert (message.recipient, message.status) == ("139****4321", "failed")

    for untouched in (recent, open_old):
        row = db.session.get(Complaint, untouched.id)
        assert (row.shopper_phone, row.shopper_name, row.anonymised_at) == (SHOPPER_PHONE, "王五", None)
        assert row.account.startswith("车骑了三天")
    assert os.path.exists(open_file)

    # Idempotent: a second run (or the CLI the next day) changes nothing.
    assert jobs.anonymise_closed(now=NOW + timedelta(days=1)) == 0
    db.session.expire_all()
    assert db.session.get(Complaint, old.id).anonymised_at == NOW
    result = runner.invoke(args=["complaints", "anonymise"])
    assert result.exit_code == 0 and "0 closed complaint(s) anonymised." in result.output


def test_anonymise_finishes_when_a_photo_file_is_already_gone(app):
    """A run that deleted the files and then failed to commit: the next run completes."""
    retention = deadlines.current_deadlines().retention_days
    c = complaint_for(make_merchant(), status="closed", outcome="rejected", reject_reason="outside_scope",
                       closed_at=NOW - timedelta(days=retention + 5))
    os.unlink(_photo(c))
    assert jobs.anonymise_closed(now=NOW) == 1
    assert count_rows(ComplaintPhoto) == 0


def test_retention_period_comes_from_the_settings(app):
    admin = make_user(role="admin")
    deadlines.save_deadlines(deadlines.Deadlines(retention_days=30), admin.id)
    merchant = make_merchant()
    complaint_for(merchant, status="closed", outcome="resolved", closed_at=NOW - timedelta(days=31))
    complaint_for(merchant, status="closed", outcome="resolved", closed_at=NOW - timedelta(days=29))
    assert jobs.anonymise_closed(now=NOW) == 1
