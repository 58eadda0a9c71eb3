"""The complaint settings staff keep: the holiday table and the supervision stations.

(The deadline settings are kept by deadlines.save_deadlines.) Each function commits, or
raises a SettingsError with nothing changed.
"""

from __future__ import annotations

from datetime import date

from ..domain import DomainError, commit_or_refuse
from ..extensions import db
from ..models import Holiday, SupervisionStation, User


class SettingsError(DomainError):
    """A settings change was refused; `code` says why."""


def add_holiday(actor: User, day: date, is_workday: bool, name: str) -> Holiday:
    """Mark `day` as a holiday or a (moved) working day; refused when the day is in the table."""
    row = Holiday(day=day, is_workday=is_workday, name=name, created_by_id=actor.id)
    db.session.add(row)
    commit_or_refuse(SettingsError("holiday_exists", field="day"))  # the unique day: one entry per date
    return row


def remove_holiday(row: Holiday) -> None:
    db.session.delete(row)  # through the session: the calendar caches see it (deadlines.py)
    db.session.commit()


def save_station(station: SupervisionStation, name: str, area_id: int | None, active: bool,
                 acceptance_days: int | None = None, completion_days: int | None = None) -> SupervisionStation:
    """Create or change a station; refused when another station has its name or its area,
    or when its own targets (working days; None: the bureau's) are out of order."""
    if acceptance_days is not None and completion_days is not None and completion_days < acceptance_days:
        raise SettingsError("station_targets", field="completion_days")
    station.name = name
    station.acceptance_days = acceptance_days
    station.completion_days = completion_days
    station.area_id = area_id
    station.active = active
    db.session.add(station)
    commit_or_refuse(SettingsError("station_taken"))
    return station
