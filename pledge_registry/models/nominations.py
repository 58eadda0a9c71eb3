"""Nominations of safe-consumption units: the two-step approval and its timeline."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base, UTCDateTime, sql_in, utcnow
from ..public_page import PublicPage
from .events import TransitionEvent

if TYPE_CHECKING:
    from .registry import Merchant


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


# At most one of these per merchant and level (partial unique index below).
LIVE_NOMINATION_STATUSES = (NominationStatus.SUBMITTED, NominationStatus.TOWN_APPROVED, NominationStatus.APPROVED)


class Nomination(Base):
    __tablename__ = "nomination"
    __table_args__ = (
        CheckConstraint(sql_in("level", NominationLevel), name="level"),
        CheckConstraint(sql_in("status", NominationStatus), name="status"),
        Index("uq_nomination_live", "merchant_id", "level", unique=True,
              sqlite_where=text(sql_in("status", LIVE_NOMINATION_STATUSES)),
              postgresql_where=text(sql_in("status", LIVE_NOMINATION_STATUSES))),
        Index("ix_nomination_status_created", "status", "created_at", "id"),  # the staff queue
    )
    # A named unit's title shows on its scan page.
    __public_page__ = PublicPage({"merchant_id", "level", "status", "title_expires_on"}, merchant="merchant_id")

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
    # Why it should be delisted, as nominations.rules.FlagReasons (failed rule -> values);
    # NULL while it meets its rules. The page words the reasons in the reader's language.
    delisting_reasons: Mapped[dict[str, dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    merchant: Mapped[Merchant] = relationship()


class NominationEvent(TransitionEvent, Base):
    """A nomination step: who, when, from, to, why (a decision's reason may be long)."""

    __tablename__ = "nomination_event"

    nomination_id: Mapped[int] = mapped_column(ForeignKey("nomination.id"), index=True)
    note: Mapped[str] = mapped_column(String(1000), default="")  # what a person wrote, as written
    # What the application itself records of the step, in keys and values for the page to
    # word in the reader's language: {"kind": "flagged", "reasons": FlagReasons},
    # {"kind": "cleared"} or {"kind": "renewed", "until": ISO date}; NULL on the other steps.
    system_note: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
