"""Deadline settings and the working-day calendar, as staff configured them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from datetime import date

from sqlalchemy import select

from ..extensions import db
from ..models import Holiday, Setting
from ..workdays import DayOverride, WorkCalendar

SETTING_KEY = "complaint_deadlines"


@dataclass(frozen=True)
class Deadlines:
    """Working days allowed for each step; the bureau's own service levels by default."""

    acceptance_days: int = 1
    completion_days: int = 7
    merchant_reply_days: int = 3
    reminder_hours_before: int = 24
    retention_days: int = 3 * 365  # closed cases are anonymised after this (PIPL)

    @classmethod
    def from_dict(cls, raw: dict) -> Deadlines:
        fields = {k: int(v) for k, v in raw.items() if k in cls.__dataclass_fields__}
        value = cls(**fields)
        if min(value.acceptance_days, value.completion_days, value.merchant_reply_days) < 0 or \
                value.completion_days < value.acceptance_days or value.retention_days < 30:
            raise ValueError("deadlines out of range")
        return value


def current_deadlines() -> Deadlines:
    row = db.session.get(Setting, SETTING_KEY)
    return Deadlines.from_dict(row.value) if row else Deadlines()


def save_deadlines(value: Deadlines, admin_id: int) -> None:
    row = db.session.get(Setting, SETTING_KEY)
    if row is None:
        db.session.add(Setting(key=SETTING_KEY, value=asdict(value), updated_by_id=admin_id))
    else:
        row.value = asdict(value)
        row.updated_by_id = admin_id
    db.session.commit()


def calendar() -> WorkCalendar:
    """The Chinese calendar plus the holiday table staff maintain."""
    rows = db.session.execute(
        select(Holiday.day, Holiday.is_workday, Holiday.name).order_by(Holiday.day)).all()
    return _calendar_for(tuple(tuple(row) for row in rows))


def clear_calendar_cache() -> None:
    """Forget the built calendars (tests; a process sees new holiday rows anyway)."""
    _calendar_for.cache_clear()


@lru_cache(maxsize=16)
def _calendar_for(rows: tuple[tuple[date, bool, str], ...]) -> WorkCalendar:
    """One calendar per set of staff rows: its per-year tables are built once, not per request."""
    return WorkCalendar(DayOverride(day, is_workday, name) for day, is_workday, name in rows)


def calendar_warning(today: date) -> list[int]:
    """Years (this and next) with neither package data nor staff entries: staff pages warn."""
    return calendar().missing_data_warning(today)
