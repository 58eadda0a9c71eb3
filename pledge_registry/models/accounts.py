"""Accounts: merchants sign up themselves; staff and admins are made by the CLI."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base, UTCDateTime, sql_in, utcnow


class Role(StrEnum):
    MERCHANT = "merchant"
    STAFF = "staff"
    ADMIN = "admin"
    STATION = "station"  # officer of a supervision station: complaints of its area only


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, Base):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="has_login"),
        CheckConstraint(sql_in("role", Role), name="role"),
        CheckConstraint("(role = 'station') = (station_id IS NOT NULL)", name="station_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(11), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.MERCHANT)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_station.id"))
    # A staff member with a town is that town's officer (first step of nominations);
    # staff without one work for the whole city.
    town_id: Mapped[int | None] = mapped_column(ForeignKey("town.id"))
    # Part of the Flask-Login id: rotating it (logout, password change) invalidates every
    # session cookie and remember cookie issued before.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:
        return not self.disabled

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.STAFF, Role.ADMIN)

    @property
    def is_station(self) -> bool:
        return self.role == Role.STATION

    @property
    def is_officer(self) -> bool:
        """Bureau staff and station officers: they see shoppers' cases, so their sessions
        time out and are never remembered."""
        return self.is_staff or self.is_station

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def login_name(self) -> str:
        return self.email or self.phone or ""
