"""The outbox: notifications written in the transaction of their cause, delivered later."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base, UTCDateTime, sql_in, utcnow


class OutboxChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"    # out of attempts; kept (`flask outbox deliver --retry-failed`)


class OutboxMessage(Base):
    """A notification, written in the same transaction as the change that causes it and
    delivered later by `flask outbox deliver` with retries (never lost, never sent twice)."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint(sql_in("channel", OutboxChannel), name="channel"),
        CheckConstraint(sql_in("status", OutboxStatus), name="status"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
        UniqueConstraint("dedupe_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(254))
    template: Mapped[str] = mapped_column(String(50))
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    # One notification per cause: e.g. "complaint:42:closed:shopper".
    dedupe_key: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(8), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
