"""Complaints (投诉), reports (举报) and consultations (咨询) from shoppers, and what
surrounds them: photos, the event timeline, phone reveals, surveys, supervision stations."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    case,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base, UTCDateTime, sql_in, utcnow

if TYPE_CHECKING:
    from .accounts import User
    from .registry import CommercialArea, Merchant

REQUEST_TYPES = ("complaint", "report", "consultation")
PROBLEM_TYPES = ("quality", "genuine_doubt", "refused_return", "contract_terms", "advertising",
                 "price", "service", "safety", "other")
WANTS = ("refund", "exchange", "repair", "compensation", "apology")
REJECT_REASONS = ("outside_scope", "court_or_arbitration", "no_merchant", "too_old", "no_contact")
PROPOSAL_KINDS = ("refund", "exchange", "repair", "other")
SURVEY_ANSWERS = ("satisfied", "neutral", "dissatisfied")


class Channel(StrEnum):
    """Where a request reached the bureau (全口径归集: every channel on one platform)."""

    WEB = "web"                    # the shopper's form on this platform (scan page)
    PLATFORM_12315 = "12315"       # the national 12315 platform or hotline
    HOTLINE_12345 = "12345"        # the city's 12345 hotline
    PHONE = "phone"                # a call to the bureau's own published number
    LETTER = "letter"
    WALK_IN = "walk_in"            # in person at a bureau office
    REFERRAL = "referral"          # passed down by a superior authority (上级交办)
    STATION_DESK = "station_desk"  # the complaint desk of a supervision station
    PARTNER_API = "partner_api"    # a partner system through the intake API


class ConsentMethod(StrEnum):
    """How the shopper agreed to their details being used, as it was given on the channel."""

    WEB_FORM = "web_form"  # the ticked box on this platform's form (the notice version is stored)
    ORAL = "oral"          # said on a call or at a desk, noted by the officer who took it
    WRITTEN = "written"    # signed on paper (letter, desk form)
    CHANNEL = "channel"    # collected by the channel that passed the case on (12315, 12345, partner)

TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols: 5 bits each
TRACKING_LENGTH = 14  # 70 bits: unguessable; shown as XXXX-XXXX-XXXX-XX


def new_tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


class ComplaintStatus(StrEnum):
    RECEIVED = "received"                # filed, waiting for acceptance
    ACCEPTED = "accepted"                # accepted by the bureau (or its station)
    WITH_MERCHANT = "with_merchant"      # forwarded, the merchant must answer
    MERCHANT_ANSWERED = "merchant_answered"
    MEDIATING = "mediating"              # the officer mediates between both
    CLOSED = "closed"                    # see Complaint.outcome


class Outcome(StrEnum):
    RESOLVED = "resolved"                # by agreement; amount recovered recorded
    NOT_RESOLVED = "not_resolved"        # advice: arbitration or court
    REJECTED = "rejected"                # outside scope etc., with a reason
    WITHDRAWN = "withdrawn"              # by the shopper


OPEN_STATUSES = tuple(s.value for s in ComplaintStatus if s != ComplaintStatus.CLOSED)


class SupervisionStation(Base):
    """A mall's or company's in-place complaint desk (消费维权监督站)."""

    __tablename__ = "supervision_station"

    __table_args__ = (
        CheckConstraint("acceptance_days IS NULL OR acceptance_days >= 0", name="acceptance_days"),
        CheckConstraint("completion_days IS NULL OR completion_days >= 0", name="completion_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("commercial_area.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    # The station's own targets in working days; NULL: the bureau's (complaints.deadlines).
    acceptance_days: Mapped[int | None]
    completion_days: Mapped[int | None]

    area: Mapped[CommercialArea | None] = relationship()


class Complaint(Base):
    __tablename__ = "complaint"
    __table_args__ = (
        CheckConstraint(sql_in("request_type", REQUEST_TYPES), name="request_type"),
        CheckConstraint(sql_in("problem_type", PROBLEM_TYPES), name="problem_type"),
        CheckConstraint(sql_in("status", ComplaintStatus), name="status"),
        CheckConstraint("outcome IS NULL OR " + sql_in("outcome", Outcome), name="outcome"),
        CheckConstraint("(status = 'closed') = (outcome IS NOT NULL)", name="closed_has_outcome"),
        CheckConstraint("amount_paid_cents IS NULL OR amount_paid_cents >= 0", name="amount_paid"),
        CheckConstraint("amount_recovered_cents >= 0", name="amount_recovered"),
        CheckConstraint("proposal_amount_cents IS NULL OR proposal_amount_cents >= 0", name="proposal_amount"),
        Index("ix_complaint_status_due", "status", "completion_due_at"),
        Index("ix_complaint_merchant_received", "merchant_id", "received_at"),
        Index("ix_complaint_phone_merchant", "shopper_phone", "merchant_id"),
        CheckConstraint(sql_in("channel", Channel), name="channel"),
        CheckConstraint(sql_in("consent_method", ConsentMethod), name="consent_method"),
        # A channel's own number names one request: a second entry or a re-import is refused.
        UniqueConstraint("channel", "channel_ref"),
        Index("ix_complaint_channel_received", "channel", "received_at"),
        Index("ix_complaint_partner", "partner_id", "id"),
        CheckConstraint("(channel = 'partner_api') = (partner_id IS NOT NULL)", name="partner_channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(20), unique=True, default=new_tracking_code)
    # A retried or double-clicked submission carries the same key: one complaint.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    request_type: Mapped[str] = mapped_column(String(16), default="complaint")
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_station.id"), index=True)
    item: Mapped[str] = mapped_column(String(200))
    purchased_on: Mapped[date | None] = mapped_column(Date)
    amount_paid_cents: Mapped[int | None]
    problem_type: Mapped[str] = mapped_column(String(20))
    account: Mapped[str] = mapped_column(Text)
    wants: Mapped[list[str]] = mapped_column(JSON, default=list)
    shopper_name: Mapped[str | None] = mapped_column(String(50))
    shopper_phone: Mapped[str | None] = mapped_column(String(11))   # NULL once anonymised
    consent_version: Mapped[str] = mapped_column(String(20))
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    consent_method: Mapped[str] = mapped_column(String(16), default=ConsentMethod.WEB_FORM,
                                                server_default=ConsentMethod.WEB_FORM.value)
    # Where the request came in, and that channel's own reference number (NULL for the web
    # form, whose reference is the tracking code). received_at is when it reached the channel:
    # every deadline counts from it.
    channel: Mapped[str] = mapped_column(String(16), default=Channel.WEB, server_default=Channel.WEB.value)
    channel_ref: Mapped[str | None] = mapped_column(String(64))
    # The partner system that filed it through the intake API (channel partner_api); the
    # partner sees its own cases there and no others.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"))
    # A case that did not come through 12315 is registered there afterwards (the Order has
    # cases handled through the 12315 platform): its 12315 number once staff have it.
    registered_12315_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    registered_12315_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The officer who entered a request received by another channel (NULL for the web form).
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[str] = mapped_column(String(20), default=ComplaintStatus.RECEIVED)
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_note: Mapped[str] = mapped_column(String(1000), default="")
    reject_reason: Mapped[str | None] = mapped_column(String(30))
    amount_recovered_cents: Mapped[int] = mapped_column(default=0)
    upheld: Mapped[bool | None]  # did the officer find against the merchant (ratings)
    assigned_officer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"))
    possible_duplicate: Mapped[bool] = mapped_column(default=False)
    # The merchant's answer and proposed resolution; the shopper's response to it.
    merchant_reply: Mapped[str] = mapped_column(Text, default="")
    proposal_kind: Mapped[str | None] = mapped_column(String(16))
    proposal_amount_cents: Mapped[int | None]
    proposal_response: Mapped[str | None] = mapped_column(String(16))  # accepted | rejected
    # Timeline and deadlines (UTC); deadlines are working days of the Chinese calendar.
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acceptance_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completion_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    merchant_reply_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    merchant_replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A station that could not settle the case handed it to the bureau (station_id is then NULL).
    handed_from_station_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_station.id"), index=True)
    handed_to_bureau_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    merchant: Mapped[Merchant] = relationship()
    station: Mapped[SupervisionStation | None] = relationship(foreign_keys=[station_id])
    handed_from_station: Mapped[SupervisionStation | None] = relationship(foreign_keys=[handed_from_station_id])
    assigned_officer: Mapped[User | None] = relationship(foreign_keys=[assigned_officer_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    events: Mapped[list[ComplaintEvent]] = relationship(order_by="ComplaintEvent.id", back_populates="complaint")
    photos: Mapped[list[ComplaintPhoto]] = relationship(order_by="ComplaintPhoto.id", back_populates="complaint")
    pauses: Mapped[list[ClockPause]] = relationship(order_by="ClockPause.id", back_populates="complaint")


# A case's next deadline: acceptance while it waits for it, completion afterwards. The staff
# queue sorts by it; the 'received' is a literal, not a parameter, so that the query's
# expression is the indexed one on both engines.
NEXT_DUE = case((Complaint.status == literal_column("'received'"), Complaint.acceptance_due_at),
                else_=Complaint.completion_due_at)
Index("ix_complaint_next_due", NEXT_DUE, Complaint.id)
# The queue of open cases, by the same key, over the open cases only: closed cases, most of
# the table, are never walked. A query uses it when its condition is IS_OPEN, written with
# literals as the index's is (a parameter list would not imply the index's condition).
IS_OPEN = Complaint.status.in_([literal_column(f"'{s}'") for s in OPEN_STATUSES])
Index("ix_complaint_open_next_due", NEXT_DUE, Complaint.id,
      sqlite_where=text(sql_in("status", OPEN_STATUSES)), postgresql_where=text(sql_in("status", OPEN_STATUSES)))


class ComplaintEvent(Base):
    """One step of a case's timeline: a transition (from ≠ to) or a note (from = to)."""

    __tablename__ = "complaint_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # e.g. accepted, forwarded, merchant_reply, shopper_info
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_role: Mapped[str] = mapped_column(String(16))  # shopper | merchant | staff | station | system
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    public: Mapped[bool] = mapped_column(default=True)  # shown on the shopper's timeline
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    complaint: Mapped[Complaint] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


PAUSE_REASONS = ("testing", "appraisal", "expert_review", "other")


class ClockPause(Base):
    """A stop of a case's deadlines (e.g. waiting for a test or an appraisal, time the rules
    do not count); ended_at is NULL while the clock is stopped, and one stop at a time."""

    __tablename__ = "clock_pause"
    __table_args__ = (
        CheckConstraint(sql_in("reason", PAUSE_REASONS), name="reason"),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
        Index("uq_clock_pause_open", "complaint_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(500), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    complaint: Mapped[Complaint] = relationship(back_populates="pauses")


class ComplaintPhoto(Base):
    """A re-encoded photo (no EXIF/GPS) stored under a random name outside the web root."""

    __tablename__ = "complaint_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    complaint: Mapped[Complaint] = relationship(back_populates="photos")


class PhoneReveal(Base):
    """Audit row: an officer saw a shopper's full phone number."""

    __tablename__ = "phone_reveal"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SurveyResponse(Base):
    """The shopper's satisfaction with the handling, once per case."""

    __tablename__ = "survey_response"
    __table_args__ = (CheckConstraint(sql_in("answer", SURVEY_ANSWERS), name="answer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), unique=True)
    answer: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
