"""Compliance records (inspections, penalties), computed ratings with their history,
merchants' replies and appeals, and nominations of safe-consumption units."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Date, Float, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db

GRADES = ("A", "B", "C", "D", "NR")
_grades_sql = ", ".join(f"'{g}'" for g in GRADES)


class Inspection(db.Model):
    """A spot check (抽查) of a shop."""

    __tablename__ = "inspection"
    __table_args__ = (
        CheckConstraint("result IN ('passed', 'failed')", name="result"),
        Index("ix_inspection_merchant_date", "merchant_id", "inspected_on"),
        UniqueConstraint("merchant_id", "inspected_on", "subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))
    inspected_on: Mapped[date] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(String(200))       # what was checked
    result: Mapped[str] = mapped_column(String(8))
    findings: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    merchant = relationship("Merchant")


class Penalty(db.Model):
    """An administrative penalty (行政处罚) decided against a shop."""

    __tablename__ = "penalty"
    __table_args__ = (
        CheckConstraint("amount_cents >= 0", name="amount"),
        Index("ix_penalty_merchant_date", "merchant_id", "decided_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))
    case_number: Mapped[str] = mapped_column(String(60), unique=True)
    decided_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500))
    amount_cents: Mapped[int] = mapped_column(default=0)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    merchant = relationship("Merchant")


class Rating(db.Model):
    """A computed rating. The latest row per merchant is its current rating; older rows are
    its history (a new row only when the grade or score changed)."""

    __tablename__ = "rating"
    __table_args__ = (
        CheckConstraint(f"grade IN ({_grades_sql})", name="grade"),
        CheckConstraint("score >= 0 AND score <= 100", name="score"),
        Index("ix_rating_merchant_current", "merchant_id", unique=True,
              sqlite_where=text("is_current"), postgresql_where=text("is_current")),
        Index("ix_rating_merchant_computed", "merchant_id", "computed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))
    grade: Mapped[str] = mapped_column(String(2))
    score: Mapped[float] = mapped_column(Float)
    cap: Mapped[str | None] = mapped_column(String(40))
    breakdown: Mapped[dict] = mapped_column(JSON)        # rating_model.Rating.to_dict()
    model_version: Mapped[str] = mapped_column(String(20))
    is_current: Mapped[bool] = mapped_column(default=True)
    cause: Mapped[str] = mapped_column(String(60), default="")  # what triggered it
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    merchant = relationship("Merchant")


class RatingReply(db.Model):
    """A merchant's short public reply shown beside its rating (right to reply)."""

    __tablename__ = "rating_reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    removal_reason: Mapped[str] = mapped_column(String(300), default="")


class AppealStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"      # the appeal succeeded: the finding is corrected
    DISMISSED = "dismissed"


class RatingAppeal(db.Model):
    """A merchant's appeal against a rating (within 21 days), decided by an officer who did
    not record the underlying finding."""

    __tablename__ = "rating_appeal"
    __table_args__ = (CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("rating.id"))
    # The finding appealed against, if one: an inspection, a penalty or a complaint.
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspection.id"))
    penalty_id: Mapped[int | None] = mapped_column(ForeignKey("penalty.id"))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"))
    grounds: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=AppealStatus.OPEN)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decision_reason: Mapped[str] = mapped_column(String(1000), default="")
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    rating = relationship("Rating")


class NominationLevel(StrEnum):
    PARTICIPANT = "participant"        # the participating list (参创名单)
    DEMONSTRATION = "demonstration"    # demonstration unit (示范单位)


class NominationStatus(StrEnum):
    SUBMITTED = "submitted"            # waiting for the town officer
    TOWN_APPROVED = "town_approved"    # waiting for the city officer
    APPROVED = "approved"              # named; the title runs for a year
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    DELISTED = "delisted"              # title taken away (摘牌)
    EXPIRED = "expired"


class Nomination(db.Model):
    __tablename__ = "nomination"
    __table_args__ = (
        CheckConstraint("level IN ('participant', 'demonstration')", name="level"),
        CheckConstraint(
            "status IN ('submitted', 'town_approved', 'approved', 'rejected', 'withdrawn', 'delisted', 'expired')",
            name="status"),
        # One live nomination per merchant and level.
        Index("uq_nomination_live", "merchant_id", "level", unique=True,
              sqlite_where=text("status IN ('submitted', 'town_approved', 'approved')"),
              postgresql_where=text("status IN ('submitted', 'town_approved', 'approved')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=NominationStatus.SUBMITTED)
    applied_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    statement: Mapped[str] = mapped_column(Text, default="")
    eligibility: Mapped[dict] = mapped_column(JSON, default=dict)  # the checks at application
    town_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    town_reason: Mapped[str] = mapped_column(String(1000), default="")
    town_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    city_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    city_reason: Mapped[str] = mapped_column(String(1000), default="")
    city_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    title_expires_on: Mapped[date | None] = mapped_column(Date)
    delisting_flag: Mapped[str] = mapped_column(String(300), default="")  # why it should be delisted
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    merchant = relationship("Merchant")


class NominationEvent(db.Model):
    __tablename__ = "nomination_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    nomination_id: Mapped[int] = mapped_column(ForeignKey("nomination.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SuspensionProposal(db.Model):
    """Repeated pledge breaches put a proposal to suspend the pledge before staff; staff
    decide, nothing is suspended automatically."""

    __tablename__ = "suspension_proposal"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'accepted', 'declined')", name="status"),
        Index("uq_suspension_proposal_open", "pledge_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id"))
    breaches: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default="open")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decision_note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
