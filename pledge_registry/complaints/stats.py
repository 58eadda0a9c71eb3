"""Service levels (研判): how fast complaints are accepted and finished, how satisfied
shoppers are and how much was recovered, for a period and by town, area, category and
problem type.

Counts, sums and survey tallies are GROUP BY queries. Working days cannot be computed in
SQL (the Chinese calendar moves weekends), so the timestamp pairs of the selected cases
are fetched once and measured in Python with the staff calendar.

Definitions (the bureau's own; deadlines from the complaint_deadlines setting):
- accepted on time: accepted, or rejected with a reason, within `acceptance_days` working
  days of receipt. Cases still waiting past that count as late; cases still within it
  and cases withdrawn before a decision are not measured.
- finished on time: closed within `completion_days` working days. Open cases past that
  count as late; open cases within it and withdrawn cases are not measured.
- satisfaction: satisfied answers / answered surveys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from typing import Any

from sqlalchemy import and_, case, func, select

from ..extensions import db
from ..localtime import LOCAL_TZ
from ..models import Complaint, Merchant, Outcome, SurveyResponse
from ..workdays import WorkCalendar
from . import deadlines

DIMENSIONS = ("town", "area", "category", "problem_type")
MAX_PERIOD_DAYS = 3 * 366

_DIMENSION_COLUMNS = {
    "town": Merchant.town_id,
    "area": Merchant.area_id,
    "category": Merchant.category,
    "problem_type": Complaint.problem_type,
}


@dataclass(frozen=True)
class StatsFilter:
    start: date                       # local dates (Asia/Shanghai), both inclusive, on received_at
    end: date
    town_id: int | None = None
    area_id: int | None = None
    category: str | None = None
    problem_type: str | None = None
    request_type: str = "complaint"

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) in UTC."""
        first = datetime.combine(self.start, time(), tzinfo=LOCAL_TZ).astimezone(UTC)
        after = datetime.combine(self.end + timedelta(days=1), time(), tzinfo=LOCAL_TZ).astimezone(UTC)
        return first, after


@dataclass
class ServiceLevels:
    count: int = 0
    acceptance_measured: int = 0
    accepted_on_time: int = 0
    completion_measured: int = 0
    finished_on_time: int = 0
    days_to_acceptance: list[int] = field(default_factory=list, repr=False)
    days_to_close: list[int] = field(default_factory=list, repr=False)
    surveys_answered: int = 0
    surveys_satisfied: int = 0
    amount_recovered_cents: int = 0

    @property
    def share_accepted_on_time(self) -> float | None:
        return self.accepted_on_time / self.acceptance_measured if self.acceptance_measured else None

    @property
    def share_finished_on_time(self) -> float | None:
        return self.finished_on_time / self.completion_measured if self.completion_measured else None

    @property
    def median_days_to_acceptance(self) -> float | None:
        return median(self.days_to_acceptance) if self.days_to_acceptance else None

    @property
    def median_days_to_close(self) -> float | None:
        return median(self.days_to_close) if self.days_to_close else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self.surveys_satisfied / self.surveys_answered if self.surveys_answered else None


@dataclass
class BreakdownRow:
    dimension: str
    key: Any
    levels: ServiceLevels


@dataclass
class StatsReport:
    filter: StatsFilter
    acceptance_days: int
    completion_days: int
    totals: ServiceLevels
    breakdowns: dict[str, list[BreakdownRow]]


def _conditions(f: StatsFilter) -> list[Any]:
    first, after = f.bounds()
    conditions = [Complaint.received_at >= first, Complaint.received_at < after,
                  Complaint.request_type == f.request_type]
    if f.town_id is not None:
        conditions.append(Merchant.town_id == f.town_id)
    if f.area_id is not None:
        conditions.append(Merchant.area_id == f.area_id)
    if f.category:
        conditions.append(Merchant.category == f.category)
    if f.problem_type:
        conditions.append(Complaint.problem_type == f.problem_type)
    return conditions


def _tallies(f: StatsFilter, dimension: str | None) -> dict[Any, ServiceLevels]:
    """Counts, amount recovered and survey answers, per dimension value (or one total)."""
    satisfied = func.sum(case((SurveyResponse.answer == "satisfied", 1), else_=0))
    columns = [func.count(Complaint.id), func.coalesce(func.sum(Complaint.amount_recovered_cents), 0),
               func.count(SurveyResponse.id), func.coalesce(satisfied, 0)]
    key = _DIMENSION_COLUMNS[dimension] if dimension else None
    query = (select(*([key] if key is not None else []), *columns)
             .select_from(Complaint).join(Merchant, Merchant.id == Complaint.merchant_id)
             .outerjoin(SurveyResponse, SurveyResponse.complaint_id == Complaint.id)
             .where(and_(*_conditions(f))))
    if key is not None:
        query = query.group_by(key)
    result: dict[Any, ServiceLevels] = {}
    for row in db.session.execute(query):
        value, (count, amount, answered, happy) = (row[0], row[1:]) if key is not None else (None, row)
        result[value] = ServiceLevels(count=count, amount_recovered_cents=int(amount),
                                      surveys_answered=answered, surveys_satisfied=int(happy))
    return result


def _measure(levels: ServiceLevels, cal: WorkCalendar, now: datetime, limits: deadlines.Deadlines,
             received: datetime, accepted: datetime | None, closed: datetime | None,
             outcome: str | None) -> None:
    """Add one case's working-day measures to `levels`."""
    decided = accepted or (closed if outcome == Outcome.REJECTED else None)
    if decided is not None:
        days = cal.workdays_between(received, decided)
        levels.acceptance_measured += 1
        levels.accepted_on_time += days <= limits.acceptance_days
        levels.days_to_acceptance.append(days)
    elif closed is None and cal.workdays_between(received, now) > limits.acceptance_days:
        levels.acceptance_measured += 1          # still waiting, and already late
    if outcome == Outcome.WITHDRAWN:
        return
    if closed is not None:
        days = cal.workdays_between(received, closed)
        levels.completion_measured += 1
        levels.finished_on_time += days <= limits.completion_days
        levels.days_to_close.append(days)
    elif cal.workdays_between(received, now) > limits.completion_days:
        levels.completion_measured += 1


def service_levels(f: StatsFilter, now: datetime | None = None) -> StatsReport:
    """The service levels for the filter, in total and broken down by each dimension."""
    now = now or datetime.now(UTC)
    limits = deadlines.current_deadlines()
    cal = deadlines.calendar()
    totals = _tallies(f, None).get(None, ServiceLevels())
    by_dimension = {d: _tallies(f, d) for d in DIMENSIONS}
    pairs = db.session.execute(
        select(Merchant.town_id, Merchant.area_id, Merchant.category, Complaint.problem_type,
               Complaint.received_at, Complaint.accepted_at, Complaint.closed_at, Complaint.outcome)
        .select_from(Complaint).join(Merchant, Merchant.id == Complaint.merchant_id)
        .where(and_(*_conditions(f))))
    for town_id, area_id, category, problem_type, received, accepted, closed, outcome in pairs:
        keys = {"town": town_id, "area": area_id, "category": category, "problem_type": problem_type}
        _measure(totals, cal, now, limits, received, accepted, closed, outcome)
        for dimension, value in keys.items():
            levels = by_dimension[dimension].get(value)
            if levels is not None:
                _measure(levels, cal, now, limits, received, accepted, closed, outcome)
    breakdowns = {
        d: sorted((BreakdownRow(d, value, levels) for value, levels in rows.items()),
                  key=lambda r: (-r.levels.count, str(r.key)))
        for d, rows in by_dimension.items()
    }
    return StatsReport(filter=f, acceptance_days=limits.acceptance_days,
                       completion_days=limits.completion_days, totals=totals, breakdowns=breakdowns)

