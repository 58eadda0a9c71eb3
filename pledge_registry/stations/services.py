"""Station accounts and station service levels.

Service levels are measured per case with complaints.workflow.clock: each case against its
own targets (the station's where it set them) and against the legal limits of the order
that governs it. Working days cannot be counted in SQL, so the cases received in the period
are read once (a city's 64 stations see a few thousand a quarter) and measured in Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, select, true
from sqlalchemy.orm import selectinload

from ..auth import services as auth_services
from ..complaints import workflow
from ..domain import DomainError
from ..extensions import db
from ..localtime import LOCAL_TZ
from ..models import Complaint, Outcome, Role, SupervisionStation, User

MAX_PERIOD_DAYS = 366


class StationError(DomainError):
    """A station account change was refused; `code` says why."""


def create_account(station: SupervisionStation, login: str, display_name: str, password: str) -> User:
    """A station officer's account; refused for an inactive station. Raises
    auth.services.AccountError for a taken login or a short password."""
    if not station.active:
        raise StationError("station_inactive")
    return auth_services.create_user(login, password, display_name, role=Role.STATION, station_id=station.id)


def accounts_of(station: SupervisionStation) -> list[User]:
    return list(db.session.scalars(select(User).where(User.station_id == station.id)
                                   .order_by(User.display_name, User.id)))


def set_disabled(user: User, disabled: bool) -> None:
    """Switch a station account off (its sessions end) or on again."""
    if not user.is_station:
        raise StationError("not_station_account")
    user.disabled = disabled
    if disabled:
        auth_services.end_sessions(user)
    db.session.commit()


@dataclass
class Tally:
    met: int = 0
    missed: int = 0

    def add(self, met: bool | None) -> None:
        if met is True:
            self.met += 1
        elif met is False:
            self.missed += 1

    @property
    def share(self) -> float | None:
        measured = self.met + self.missed
        return self.met / measured if measured else None


@dataclass
class StationLevels:
    """One station's cases received in the period (station None: the bureau's own)."""

    station: SupervisionStation | None
    received: int = 0
    handed_to_bureau: int = 0
    closed: int = 0
    resolved: int = 0
    open_overdue: int = 0  # open and past their target now
    acceptance_target: Tally = field(default_factory=Tally)
    acceptance_legal: Tally = field(default_factory=Tally)
    completion_target: Tally = field(default_factory=Tally)
    completion_legal: Tally = field(default_factory=Tally)


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Local days start..end (inclusive) as [first, after) in UTC."""
    first = datetime.combine(start, time(), tzinfo=LOCAL_TZ).astimezone(UTC)
    after = datetime.combine(end + timedelta(days=1), time(), tzinfo=LOCAL_TZ).astimezone(UTC)
    return first, after


def service_levels(start: date, end: date, now: datetime | None = None,
                   channel: str | None = None) -> list[StationLevels]:
    """Every station's levels for the cases received from `start` to `end` (local days), the
    stations without cases included, and last the bureau's own cases for comparison. A case
    a station handed over counts for that station as handed over, not in its shares.
    `channel`: only the cases that came in by that channel."""
    if end < start or (end - start).days > MAX_PERIOD_DAYS:
        raise StationError("period")
    now = now or datetime.now(UTC)
    first, after = period_bounds(start, end)
    stations = list(db.session.scalars(select(SupervisionStation).order_by(SupervisionStation.name)))
    rows: dict[int | None, StationLevels] = {s.id: StationLevels(s) for s in stations}
    rows[None] = StationLevels(None)
    cases = db.session.scalars(
        select(Complaint).where(Complaint.received_at >= first, Complaint.received_at < after,
                                Complaint.request_type == "complaint",
                                or_(Complaint.outcome.is_(None), Complaint.outcome != Outcome.WITHDRAWN))
        .where(Complaint.channel == channel if channel else true())
        .options(selectinload(Complaint.pauses)).order_by(Complaint.id))
    for c in cases:
        if c.handed_from_station_id is not None:
            handed = rows[c.handed_from_station_id]
            handed.received += 1
            handed.handed_to_bureau += 1
        _count(rows[c.station_id], c, now)
    return [*(rows[s.id] for s in stations), rows[None]]


def _count(row: StationLevels, c: Complaint, now: datetime) -> None:
    clock = workflow.clock(c, now)
    row.received += 1
    row.acceptance_target.add(clock.target_acceptance.met)
    row.acceptance_legal.add(clock.legal_acceptance.met)
    row.completion_target.add(clock.target_completion.met)
    if clock.legal_completion is not None:
        row.completion_legal.add(clock.legal_completion.met)
    if c.closed_at is not None:
        row.closed += 1
        row.resolved += c.outcome == Outcome.RESOLVED
    elif clock.target_completion.met is False or clock.target_acceptance.met is False:
        row.open_overdue += 1


def stations_with_accounts(stations: Iterable[SupervisionStation]) -> dict[int, int]:
    """Station id → number of enabled officer accounts."""
    counts: dict[int, int] = defaultdict(int)
    ids = [s.id for s in stations]
    for station_id in db.session.scalars(select(User.station_id).where(User.station_id.in_(ids),
                                                                      User.disabled.is_(False))):
        if station_id is not None:
            counts[station_id] += 1
    return counts
