"""Deadline settings and the working-day calendar, as staff configured them.

Both are read on every complaint filed, and change a few times a year, so each process
keeps them for REFERENCE_CACHE_SECONDS (30 by default). A change made through this
process (any flush of a Holiday or of the deadline setting) empties its cache at once;
other processes see it within those seconds. The admin pages that edit them read the
database directly (`fresh=True`), so what staff see there is always what is stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from typing import TypeVar

from flask import Flask, current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from ..extensions import db
from ..models import Holiday, Setting
from ..workdays import DayOverride, WorkCalendar

SETTING_KEY = "complaint_deadlines"
_CACHE = "reference_cache"
_CHANGED = "reference_changed"  # session.info: this transaction changed a holiday or the deadlines
T = TypeVar("T")


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


def _cached(name: str, load: Callable[[], T], fresh: bool) -> T:
    cache = current_app.extensions.setdefault(_CACHE, {"generation": 0, "entries": {}})
    now = time.monotonic()
    hit = cache["entries"].get(name)
    if hit is not None and hit[0] > now and not fresh:
        return hit[1]
    generation = cache["generation"]
    value = load()
    # Not kept if the cache was emptied meanwhile (another thread's change), nor while this
    # session holds a change of its own that is not committed yet.
    if cache["generation"] == generation and not db.session.info.get(_CHANGED):
        cache["entries"][name] = (now + current_app.config["REFERENCE_CACHE_SECONDS"], value)
    return value


def clear_cache() -> None:
    """Forget this process's deadlines and calendar (done on every change it flushes)."""
    cache = current_app.extensions.setdefault(_CACHE, {"generation": 0, "entries": {}})
    cache["generation"] += 1
    cache["entries"] = {}


def current_deadlines(fresh: bool = False) -> Deadlines:
    def load() -> Deadlines:
        value = db.session.scalar(select(Setting.value).where(Setting.key == SETTING_KEY))
        return Deadlines.from_dict(value) if value is not None else Deadlines()

    return _cached("deadlines", load, fresh)


def save_deadlines(value: Deadlines, admin_id: int) -> None:
    row = db.session.get(Setting, SETTING_KEY)
    if row is None:
        db.session.add(Setting(key=SETTING_KEY, value=asdict(value), updated_by_id=admin_id))
    else:
        row.value = asdict(value)
        row.updated_by_id = admin_id
    db.session.commit()


def calendar(fresh: bool = False) -> WorkCalendar:
    """The Chinese calendar plus the holiday table staff maintain."""
    def load() -> WorkCalendar:
        rows = db.session.execute(
            select(Holiday.day, Holiday.is_workday, Holiday.name).order_by(Holiday.day)).all()
        return WorkCalendar(DayOverride(day, is_workday, name) for day, is_workday, name in rows)

    return _cached("calendar", load, fresh)


def calendar_warning(today: date) -> list[int]:
    """Years (this and next) with neither package data nor staff entries: staff pages warn."""
    return calendar().missing_data_warning(today)


def _touches_reference(session: Session, _context: object, _instances: object) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(o, Holiday) or (isinstance(o, Setting) and o.key == SETTING_KEY) for o in changed):
        session.info[_CHANGED] = True
        clear_cache()


def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    """Committed, rolled back or closed: the change is in the database or gone."""
    if transaction.parent is None and session.info.pop(_CHANGED, False):
        clear_cache()


def init_app(_app: Flask) -> None:
    """Drop the cached settings and holidays when they change (called by create_app)."""
    # db.session is a scoped_session: listening on it covers every session it makes.
    if not event.contains(db.session, "before_flush", _touches_reference):
        event.listen(db.session, "before_flush", _touches_reference)
        event.listen(db.session, "after_transaction_end", _transaction_ended)
