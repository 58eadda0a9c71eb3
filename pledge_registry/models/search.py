"""The merchant search index, kept in step with the merchant row by the listener in
search/index.py (see `Merchant.__search__`): the grams and normalised text of every listed
shop (the directory's), and the same of every other shop (pending, rejected, closed), which
only staff search. Each shop is in exactly one of the two sets, by its status."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base


class MerchantSearchGram(Base):
    """One unigram or bigram of a listed shop's searchable text, with the shop's filter columns
    copied so that a filtered search is answered from this table's primary key range alone."""

    __tablename__ = "merchant_search_gram"
    # The primary key (gram, merchant_id) is the index: SQLite keeps the rows in it.
    __table_args__ = ({"sqlite_with_rowid": False},)

    gram: Mapped[str] = mapped_column(String(2), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id", ondelete="CASCADE"), primary_key=True)
    town_id: Mapped[int] = mapped_column()
    area_id: Mapped[int | None] = mapped_column()
    category: Mapped[str] = mapped_column(String(20))


class MerchantSearchText(Base):
    """A listed shop's searchable fields, normalised (what a query of three or more characters
    is confirmed against once its bigrams have picked the candidates), and its filter columns:
    one row per listed shop, so the directory without a query lists these rows."""

    __tablename__ = "merchant_search_text"
    # A filtered list walks one of these in id order (newest first) and stops at a page.
    __table_args__ = (
        Index("ix_merchant_search_text_town", "town_id", "merchant_id"),
        Index("ix_merchant_search_text_town_category", "town_id", "category", "merchant_id"),
        Index("ix_merchant_search_text_area", "area_id", "merchant_id"),
        Index("ix_merchant_search_text_category", "category", "merchant_id"),
    )
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id", ondelete="CASCADE"), primary_key=True)
    town_id: Mapped[int] = mapped_column()
    area_id: Mapped[int | None] = mapped_column()
    category: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text())


class MerchantUnlistedGram(Base):
    """One unigram or bigram of a shop that is not listed (waiting for review, rejected or
    closed): the staff search reads these beside the directory's grams, so that between them
    every shop is found, and the directory's own rows stay those of listed shops only."""

    __tablename__ = "merchant_unlisted_gram"
    __table_args__ = ({"sqlite_with_rowid": False},)

    gram: Mapped[str] = mapped_column(String(2), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id", ondelete="CASCADE"), primary_key=True)


class MerchantUnlistedText(Base):
    """A shop that is not listed: its searchable fields normalised, and its status."""

    __tablename__ = "merchant_unlisted_text"

    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text())
