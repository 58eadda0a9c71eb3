"""Complaint publication (消费投诉公示): each quarter's figures per merchant, as published.

A publication is drafted from the complaints of one quarter, the merchants it includes are
told and may add a statement, an officer decides on each entry, and then it is published.
The figures are copied into the entries when the draft is made, so what is published does
not move when a case of that quarter closes later.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base, UTCDateTime, sql_in, utcnow
from .events import TransitionEvent

if TYPE_CHECKING:
    from .accounts import User
    from .registry import Merchant, Town

STATEMENT_MAX_LENGTH = 200


class PublicationStatus(StrEnum):
    DRAFT = "draft"            # figures computed; the merchants are not told yet
    NOTICE = "notice"          # the merchants are told: statements, then the officer's decisions
    PUBLISHED = "published"


class EntryStatus(StrEnum):
    PENDING = "pending"        # waiting for the officer's decision
    APPROVED = "approved"      # published with the publication
    WITHHELD = "withheld"      # left out, with a reason (e.g. figures under review)


class ComplaintPublication(Base):
    __tablename__ = "complaint_publication"
    __table_args__ = (
        UniqueConstraint("year", "quarter"),
        CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter"),
        CheckConstraint(sql_in("status", PublicationStatus), name="status"),
        CheckConstraint("period_start < period_end", name="period"),
        CheckConstraint("(status = 'published') = (published_at IS NOT NULL)", name="published_at"),
        CheckConstraint("status = 'draft' OR notified_at IS NOT NULL", name="notified_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    quarter: Mapped[int]
    period_start: Mapped[date] = mapped_column(Date)   # first day of the quarter
    period_end: Mapped[date] = mapped_column(Date)     # first day after it
    status: Mapped[str] = mapped_column(String(16), default=PublicationStatus.DRAFT)
    # The inclusion and counting rules in force when drafted, stated on the public page.
    rules: Mapped[dict] = mapped_column(JSON)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notice_ends_on: Mapped[date | None] = mapped_column(Date)  # statements until this day
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    entries: Mapped[list[PublicationEntry]] = relationship(back_populates="publication",
                                                           order_by="PublicationEntry.id")

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.quarter}"

    @property
    def last_day(self) -> date:
        return self.period_end - timedelta(days=1)


class PublicationEntry(Base):
    """One merchant's figures in one publication, its statement and the officer's decision."""

    __tablename__ = "publication_entry"
    __table_args__ = (
        UniqueConstraint("publication_id", "merchant_id"),
        CheckConstraint(sql_in("status", EntryStatus), name="status"),
        CheckConstraint("accepted >= 0 AND accepted <= received", name="accepted"),
        CheckConstraint("resolved >= 0 AND resolved <= mediation_ended AND mediation_ended <= accepted",
                        name="resolved"),
        CheckConstraint(f"length(statement) <= {STATEMENT_MAX_LENGTH}", name="statement_length"),
        CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="decided"),
        Index("ix_publication_entry_merchant", "merchant_id", "publication_id"),
        Index("ix_publication_entry_list", "publication_id", "status", "id"),  # the pages and the CSV
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("complaint_publication.id"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))
    # The shop as registered when drafted (a business's public identity, nobody's personal data).
    shop_name: Mapped[str] = mapped_column(String(100))
    legal_name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18))
    town_id: Mapped[int] = mapped_column(ForeignKey("town.id"))
    received: Mapped[int]           # complaints received in the quarter
    accepted: Mapped[int]           # of which accepted
    mediation_ended: Mapped[int]    # of which closed after mediation: by agreement or without
    resolved: Mapped[int]           # of which closed by agreement
    statement: Mapped[str] = mapped_column(String(STATEMENT_MAX_LENGTH), default="")
    statement_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=EntryStatus.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str] = mapped_column(String(500), default="")

    publication: Mapped[ComplaintPublication] = relationship(back_populates="entries")
    merchant: Mapped[Merchant] = relationship()
    town: Mapped[Town] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    events: Mapped[list[PublicationEntryEvent]] = relationship(order_by="PublicationEntryEvent.id")


class PublicationEntryEvent(TransitionEvent, Base):
    """An entry's decision, or a statement added or changed (from = to for a statement)."""

    __tablename__ = "publication_entry_event"

    entry_id: Mapped[int] = mapped_column(ForeignKey("publication_entry.id"), index=True)
