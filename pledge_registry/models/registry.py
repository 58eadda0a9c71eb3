"""The business registry: towns, commercial areas, merchants (shops) and their review."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base, UTCDateTime, sql_in, utcnow
from ..public_page import PublicPage
from ..search.index import Searchable
from .events import TransitionEvent

if TYPE_CHECKING:
    from .accounts import User
    from .pledges import Pledge

# Reported industry categories; labels live in registry/labels.py.
CATEGORIES = (
    "food", "clothing", "property", "vehicles", "appliances", "ebikes",
    "furniture", "beauty", "education", "prepaid", "telecoms", "other",
)

BADGE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/1/i/l/o: read aloud over a phone
BADGE_CODE_LENGTH = 13  # 31**13 ≈ 2**64.4: unguessable


def new_badge_code() -> str:
    return "".join(secrets.choice(BADGE_ALPHABET) for _ in range(BADGE_CODE_LENGTH))


def address_key(address: str) -> str:
    """The address as compared for duplicates: no white space, no case, no full-width forms."""
    import unicodedata

    folded = unicodedata.normalize("NFKC", address).casefold()
    return "".join(folded.split())


class MerchantStatus(StrEnum):
    PENDING = "pending"      # registered, waiting for staff review
    APPROVED = "approved"
    REJECTED = "rejected"
    CLOSED = "closed"        # the shop closed; its badge says so


LIVE_MERCHANT_STATUSES = (MerchantStatus.PENDING, MerchantStatus.APPROVED)


class Town(Base):
    __tablename__ = "town"
    __public_page__ = PublicPage({"name", "name_en"}, merchants=lambda town: Merchant.town_id == town.id)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    name_en: Mapped[str] = mapped_column(String(80))
    sort_order: Mapped[int] = mapped_column(default=0)

    areas: Mapped[list[CommercialArea]] = relationship(
        back_populates="town", order_by="CommercialArea.sort_order"
    )


class CommercialArea(Base):
    __tablename__ = "commercial_area"
    __table_args__ = (UniqueConstraint("town_id", "name"),)
    __public_page__ = PublicPage({"name", "name_en"}, merchants=lambda area: Merchant.area_id == area.id)

    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("town.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(120))
    sort_order: Mapped[int] = mapped_column(default=0)

    town: Mapped[Town] = relationship(back_populates="areas")


class Merchant(Base):
    """One shop. Branches of one business share a credit code and differ by address."""

    __tablename__ = "merchant"
    __table_args__ = (
        CheckConstraint(sql_in("status", MerchantStatus), name="status"),
        CheckConstraint("length(credit_code) = 18", name="credit_code_length"),
        CheckConstraint(sql_in("category", CATEGORIES), name="category"),
        # Never two live shops with one credit code at one address.
        Index(
            "uq_merchant_live_code_address",
            "credit_code",
            "address_key",
            unique=True,
            sqlite_where=text(sql_in("status", LIVE_MERCHANT_STATUSES)),
            postgresql_where=text(sql_in("status", LIVE_MERCHANT_STATUSES)),
        ),
        Index("ix_merchant_status_town", "status", "town_id"),
        Index("ix_merchant_status_created", "status", "created_at", "id"),  # the review queue
        # What a pledge's (merchant_id, town_id) refers to: a pledge's town is its shop's.
        Index("uq_merchant_id_town", "id", "town_id", unique=True),
    )
    __public_page__ = PublicPage(
        {"badge_code", "shop_name", "legal_name", "credit_code", "address", "town_id", "area_id", "category",
         "opening_hours", "status"},
        merchant="id",
    )
    # What the directory search finds a shop by, and filters on; only approved shops are listed.
    __search__ = Searchable(text=("shop_name", "legal_name", "address", "credit_code"),
                            filters=("town_id", "area_id", "category"),
                            listed=("status", MerchantStatus.APPROVED.value))

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    shop_name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200))
    address_key: Mapped[str] = mapped_column(String(200))
    town_id: Mapped[int] = mapped_column(ForeignKey("town.id"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("commercial_area.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    contact_name: Mapped[str] = mapped_column(String(50))
    contact_phone: Mapped[str] = mapped_column(String(11))
    opening_hours: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default=MerchantStatus.PENDING)
    badge_code: Mapped[str] = mapped_column(String(16), unique=True, default=new_badge_code)
    review_note: Mapped[str] = mapped_column(String(500), default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Bumped by every change that alters what the public scan page shows (public_page.py,
    # from the models' __public_page__); the page cache is keyed by it, so a suspension
    # shows at the next scan in every worker.
    public_version: Mapped[int] = mapped_column(default=1)
    # When public_version was last bumped: the API's Last-Modified (NULL: never since created).
    public_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    town: Mapped[Town] = relationship()
    area: Mapped[CommercialArea | None] = relationship()
    pledges: Mapped[list[Pledge]] = relationship(
        back_populates="merchant", order_by="Pledge.id", lazy="selectin", foreign_keys="Pledge.merchant_id"
    )


class MerchantEvent(TransitionEvent, Base):
    """A registration transition: who, when, from, to, why."""

    __tablename__ = "merchant_event"

    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
