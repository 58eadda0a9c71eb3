"""Computed ratings: the latest row per merchant is its current rating, older rows its history."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base, UTCDateTime, sql_in, utcnow
from ..public_page import PublicPage

if TYPE_CHECKING:
    from .registry import Merchant

GRADES = ("A", "B", "C", "D", "NR")


class Rating(Base):
    """A computed rating. The latest row per merchant is its current rating; older rows are
    its history (a new row only when the grade or score changed)."""

    __tablename__ = "rating"
    __table_args__ = (
        CheckConstraint(sql_in("grade", GRADES), name="grade"),
        CheckConstraint("score >= 0 AND score <= 100", name="score"),
        Index("ix_rating_merchant_current", "merchant_id", unique=True,
              sqlite_where=text("is_current"), postgresql_where=text("is_current")),
        Index("ix_rating_merchant_computed", "merchant_id", "computed_at"),
        # The directory's search by a grade few shops hold walks these (search/directory.py).
        Index("ix_rating_current_grade", "grade", "merchant_id",
              sqlite_where=text("is_current"), postgresql_where=text("is_current")),
    )
    # The recompute writes ratings with set-based SQL and bumps with bump_versions; this
    # covers rows written through the session.
    __public_page__ = PublicPage({"merchant_id", "grade", "score", "model_version", "is_current"},
                                 merchant="merchant_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))
    grade: Mapped[str] = mapped_column(String(2))
    score: Mapped[float] = mapped_column(Float)
    cap: Mapped[str | None] = mapped_column(String(40))
    breakdown: Mapped[dict] = mapped_column(JSON)        # ratings.model.Rating.to_dict()
    model_version: Mapped[str] = mapped_column(String(20))
    is_current: Mapped[bool] = mapped_column(default=True)
    cause: Mapped[str] = mapped_column(String(60), default="")  # what triggered it
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    merchant: Mapped[Merchant] = relationship()
