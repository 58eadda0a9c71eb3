"""Daily jobs on complaints: deadline reminders and the retention (anonymisation) job.

Both are safe to run again: a reminder is enqueued once per case and deadline (the outbox
dedupe key holds the deadline), and an anonymised case is never touched twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from ..extensions import db
from ..localtime import LOCAL_TZ
from ..models import (
    OPEN_STATUSES,
    Complaint,
    ComplaintEvent,
    ComplaintPhoto,
    ComplaintStatus,
    OutboxMessage,
    SurveyResponse,
    User,
)
from ..outbox import enqueue
from . import deadlines, uploads

log = logging.getLogger("pledge_registry.complaints.jobs")

# What replaces the shopper's words once the retention period is over.
ANONYMISED_TEXT = "（已按保存期限删除）[removed after the retention period]"


@dataclass
class ReminderReport:
    merchant: int = 0
    officer: int = 0
    unassigned: int = 0   # a deadline is near but no officer is assigned: nobody to remind


def _local(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def send_reminders(now: datetime | None = None) -> ReminderReport:
    """Enqueue reminders for deadlines falling within the next `reminder_hours_before`
    hours: the merchant's answer (SMS to the shop's contact phone) and the officer's
    acceptance and completion deadlines (e-mail to the assigned officer, SMS if the
    account has no address). Commits. Run it daily (or hourly: the result is the same)."""
    now = now or datetime.now(UTC)
    window_end = now + timedelta(hours=deadlines.current_deadlines().reminder_hours_before)
    report = ReminderReport()

    replies = db.session.scalars(select(Complaint).where(
        Complaint.status == ComplaintStatus.WITH_MERCHANT,
        Complaint.merchant_reply_due_at > now, Complaint.merchant_reply_due_at <= window_end))
    for c in replies:
        due = c.merchant_reply_due_at
        if due is None:  # not possible under the query's condition; keeps the type honest
            continue
        enqueue("sms", c.merchant.contact_phone, "merchant_reply_reminder",
                {"shop": c.merchant.shop_name, "complaint_id": c.id, "due": _local(due)},
                dedupe_key=f"complaint:{c.id}:reminder:merchant_reply:{due.isoformat()}")
        report.merchant += 1

    for kind, column, statuses in (
        ("acceptance", Complaint.acceptance_due_at, (ComplaintStatus.RECEIVED,)),
        ("completion", Complaint.completion_due_at, OPEN_STATUSES),
    ):
        rows = db.session.execute(
            select(Complaint.id, column, User)
            .outerjoin(User, User.id == Complaint.assigned_officer_id)
            .where(Complaint.status.in_(statuses), column > now, column <= window_end))
        for complaint_id, due, officer in rows:
            if officer is None or officer.disabled or not (officer.email or officer.phone):
                report.unassigned += 1
                continue
            channel, recipient = ("email", officer.email) if officer.email else ("sms", officer.phone)
            enqueue(channel, recipient, "officer_deadline_reminder",
                    {"complaint_id": complaint_id, "deadline": kind, "due": _local(due)},
                    dedupe_key=f"complaint:{complaint_id}:reminder:{kind}:{due.isoformat()}")
            report.officer += 1
    db.session.commit()
    return report


def anonymise_closed(now: datetime | None = None, batch_size: int = 200) -> int:
    """The retention job (PIPL): closed cases older than `retention_days`
    lose the shopper's phone and name, the shopper's own words (account, notes, survey
    comment) and their photos, files first; the case keeps its facts for the statistics.
    Returns how many cases were anonymised. Idempotent: done cases are skipped."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=deadlines.current_deadlines().retention_days)
    done = 0
    while True:
        ids = list(db.session.scalars(
            select(Complaint.id).where(Complaint.status == ComplaintStatus.CLOSED,
                                       Complaint.closed_at < cutoff, Complaint.anonymised_at.is_(None))
            .order_by(Complaint.id).limit(batch_size)))
        if not ids:
            return done
        _anonymise(ids, now)
        done += len(ids)


def _anonymise(ids: list[int], now: datetime) -> None:
    photos = db.session.execute(select(ComplaintPhoto.id, ComplaintPhoto.stored_name)
                                .where(ComplaintPhoto.complaint_id.in_(ids))).all()
    # Files go first: if the commit below fails, the next run finds the rows and finishes;
    # the other order could leave files that no row names any more.
    for _, stored_name in photos:
        uploads.remove_photo_files(stored_name)  # and its thumbnail
    nosync = {"synchronize_session": False}
    if photos:
        db.session.execute(db.delete(ComplaintPhoto).where(ComplaintPhoto.id.in_([p for p, _ in photos]))
                           .execution_options(**nosync))
    db.session.execute(update(Complaint).where(Complaint.id.in_(ids))
                       .values(shopper_phone=None, shopper_name=None, account=ANONYMISED_TEXT,
                               anonymised_at=now).execution_options(**nosync))
    db.session.execute(update(ComplaintEvent).where(ComplaintEvent.complaint_id.in_(ids),
                                                    ComplaintEvent.actor_role == "shopper",
                                                    ComplaintEvent.note != "")
                       .values(note=ANONYMISED_TEXT).execution_options(**nosync))
    db.session.execute(update(SurveyResponse).where(SurveyResponse.complaint_id.in_(ids),
                                                    SurveyResponse.comment != "")
                       .values(comment=ANONYMISED_TEXT).execution_options(**nosync))
    _anonymise_messages(ids)
    db.session.commit()
    db.session.expire_all()
    log.info("anonymised %d closed complaint(s), %d photo(s) deleted", len(ids), len(photos))


def _anonymise_messages(ids: list[int]) -> None:
    """Notifications about these cases keep their record, not the shopper's number."""
    for complaint_id in ids:
        rows = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.like(f"complaint:{complaint_id}:%")))
        for message in rows:
            if message.channel == "sms" and not message.recipient.count("*"):
                message.recipient = message.recipient[:3] + "****" + message.recipient[-4:]
            if message.status == "pending":   # years overdue: never send it now
                message.status = "failed"
                message.last_error = "case anonymised before delivery"
