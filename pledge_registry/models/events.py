"""The columns every status-transition row shares: who moved it, when, from, to, why."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from ..database import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .accounts import User


class TransitionEvent:
    """Mixed into a feature's event model, which adds its own foreign key to the record that
    moved (and may widen `note`)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @declared_attr
    def actor(cls) -> Mapped[User | None]:
        return relationship("User")
