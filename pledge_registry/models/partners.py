"""Partner systems that file complaints through the intake API (the 12345 hotline platform,
mall kiosks, a mini-program), and their API keys: stored hashed, shown once, rotated and
revoked by an admin (`flask partners ...`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base, UTCDateTime, utcnow

PARTNER_CODE_RE = r"^[a-z0-9][a-z0-9-]{1,30}$"


class Partner(Base):
    __tablename__ = "partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A short stable name (`hotline-12345`): the prefix of its complaints' channel reference.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    keys: Mapped[list[PartnerKey]] = relationship(back_populates="partner", order_by="PartnerKey.id")


class PartnerKey(Base):
    """One API key: its public prefix (to find it, and to name it in logs) and the SHA-256 of
    the whole key. The key is 256 random bits, so a fast hash is enough: nothing to guess."""

    __tablename__ = "partner_key"
    __table_args__ = (
        CheckConstraint("length(secret_hash) = 64", name="secret_hash_length"),
        Index("ix_partner_key_partner_live", "partner_id", sqlite_where=text("revoked_at IS NULL"),
              postgresql_where=text("revoked_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When a request last authenticated with it, to LAST_USED_STEP (partners.services).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    partner: Mapped[Partner] = relationship(back_populates="keys")
