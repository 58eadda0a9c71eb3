"""Scans of badges that are not valid (unknown codes; suspended, revoked, expired or closed
shops), shoppers' reports of where a forged sticker hangs, and the alerts both raise.

Telemetry, not records: no personal data beyond a truncated, hashed address (`source`),
and every row is deleted after at most 30 days (`flask scans purge`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base, UTCDateTime, sql_in, utcnow
from .registry import Merchant, Town

CODE_LENGTH = 40  # a scanned code is kept to this many characters (real ones have 16)


class ScanState(StrEnum):
    """What the scanned code stood for at the moment of the scan (valid ones are not kept)."""

    UNKNOWN = "unknown"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"
    CLOSED = "closed"


class ScanAlertKind(StrEnum):
    UNKNOWN_REPEATED = "unknown_repeated"   # a code nobody issued keeps being scanned
    REVOKED_SCANNED = "revoked_scanned"     # a revoked badge still hangs somewhere


class SuspiciousScan(Base):
    """One scan of a code that is not a valid badge."""

    __tablename__ = "suspicious_scan"
    __table_args__ = (
        CheckConstraint(sql_in("state", ScanState), name="state"),
        CheckConstraint("(state = 'unknown') = (merchant_id IS NULL)", name="merchant_known"),
        Index("ix_suspicious_scan_time", "scanned_at", "id"),
        Index("ix_suspicious_scan_code_time", "code", "scanned_at"),
        Index("ix_suspicious_scan_merchant_time", "merchant_id", "scanned_at"),
        Index("ix_suspicious_scan_state_time", "state", "scanned_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    code: Mapped[str] = mapped_column(String(CODE_LENGTH))
    state: Mapped[str] = mapped_column(String(12))
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchant.id"))
    source: Mapped[str] = mapped_column(String(16))  # truncated address, keyed hash (scan_reports.rules)

    merchant: Mapped[Merchant | None] = relationship()


class StickerReport(Base):
    """A shopper's note of where a sticker with an unknown code hangs. Asks for no personal data."""

    __tablename__ = "sticker_report"
    __table_args__ = (
        Index("ix_sticker_report_time", "reported_at", "id"),
        Index("ix_sticker_report_code", "code", "reported_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    code: Mapped[str] = mapped_column(String(CODE_LENGTH))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("town.id"))
    place: Mapped[str] = mapped_column(String(100), default="")
    shop_name: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(16))

    town: Mapped[Town | None] = relationship()


class ScanAlert(Base):
    """Raised by `flask scans alert` when a code crosses its threshold; once per code and period."""

    __tablename__ = "scan_alert"
    __table_args__ = (
        CheckConstraint(sql_in("kind", ScanAlertKind), name="kind"),
        UniqueConstraint("kind", "code", "period"),
        Index("ix_scan_alert_time", "raised_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(CODE_LENGTH))
    # The alert window this alert belongs to (hours since 1970 // window hours): one per window.
    period: Mapped[int]
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchant.id"))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("town.id"))
    scans: Mapped[int]
    sources: Mapped[int]  # distinct hashed addresses among those scans
    notified: Mapped[int] = mapped_column(default=0)  # officers messaged through the outbox

    merchant: Mapped[Merchant | None] = relationship()
    town: Mapped[Town | None] = relationship()
