"""Compliance: spot checks and penalties a rating counts, the merchant's public reply and
appeal against a rating, and proposals to suspend a pledge after repeated breaches."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base, UTCDateTime, sql_in, utcnow
from ..public_page import PublicPage

if TYPE_CHECKING:
    from .ratings import Rating
    from .registry import Merchant


class InspectionResult(StrEnum):
    PASSED = "passed"
    FAILED = "failed"


class Inspection(Base):
    """A spot check (抽查) of a shop."""

    __tablename__ = "inspection"
    __table_args__ = (
        CheckConstraint(sql_in("result", InspectionResult), name="result"),
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

    merchant: Mapped[Merchant] = relationship()


class Penalty(Base):
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

    merchant: Mapped[Merchant] = relationship()


class RatingReply(Base):
    """A merchant's short public reply shown beside its rating (right to reply)."""

    __tablename__ = "rating_reply"
    __public_page__ = PublicPage({"merchant_id", "text", "created_at", "removed_at"}, merchant="merchant_id")

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


class RatingAppeal(Base):
    """A merchant's appeal against a rating (within 21 days), decided by an officer who did
    not record the underlying finding."""

    __tablename__ = "rating_appeal"
    __table_args__ = (
        CheckConstraint(sql_in("status", AppealStatus), name="status"),
        Index("ix_rating_appeal_status_created", "status", "created_at", "id"),  # the staff list
    )

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

    rating: Mapped[Rating] = relationship()


class ProposalStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"    # staff suspended the pledge
    DECLINED = "declined"


class SuspensionProposal(Base):
    """Repeated pledge breaches put a proposal to suspend the pledge before staff; staff
    decide, nothing is suspended automatically."""

    __tablename__ = "suspension_proposal"
    __table_args__ = (
        CheckConstraint(sql_in("status", ProposalStatus), name="status"),
        Index("uq_suspension_proposal_open", "pledge_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_suspension_proposal_status_created", "status", "created_at", "id"),  # the staff list
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id"))
    breaches: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default=ProposalStatus.OPEN)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decision_note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
