"""Window counts for the rating model, gathered with set-based SQL.

A handful of GROUP BY queries (merchants, pledges, complaints with their surveys,
inspections, penalties) turn a scope of merchants into one ``RatingInput`` each. The scope
is a range of merchant ids (the nightly recompute walks the table in chunks), a short list
of ids (events), or one id: the same SQL in every case, so an event and the nightly run
always agree. The number of queries never depends on how many merchants are in scope.

Who is rated: approved shops (the ones a shopper can find). The window is the rolling
12 months before ``now`` (``WINDOW``); "recent" is the last 90 days (``RECENT``).

Decisions the model leaves to the caller, made here:

- Active pledge: status ``active`` and not past its term (a pledge past ``expires_at``
  reads as expired on the badge even before `flask pledges expire` marks it).
  ``pledge_active_days`` counts from the earliest activation among them (a renewal
  starts its own count), in whole 30-day months (``TENURE_STEP_DAYS``): the pledge factor
  grows with tenure, and counted in days every young shop's score would change, and add a
  history row, every night.
- Suspended or revoked "now": any ``suspended`` pledge; a ``revoked`` one while its
  original term has not run out (so a revocation weighs for at most a year, like the
  window, and a shop that signs again after it is not held down for ever).
- Complaints counted: shoppers' complaints (not reports or consultations) received in
  the window, accepted by the bureau, not rejected as outside scope, and not linked as a
  duplicate of another case. Upheld = the officer found against the merchant.
- Pledge breach: an upheld complaint of problem type ``genuine_doubt`` (a fake) or
  ``refused_return`` (a valid return refused).
- Answer due: the case was forwarded to the merchant and either answered or its reply
  deadline has passed; a case closed before its deadline without an answer was never
  due. On time: answered at or before the deadline.
- Closed / resolved: closed as resolved or not resolved; resolved = by agreement
  (withdrawn cases are neither).
- Satisfaction: the survey answers of those complaints; satisfied = "satisfied".
- Inspections and penalties: those dated in the window; days since the last penalty
  looks at every penalty, so a cap configured longer than the window still holds.
- ``size_factor`` is 1.0 for every shop: the registry records no size (no turnover,
  staff or floor area), and a guess by industry would favour whole categories over
  others. Complaint volume is therefore an absolute count per shop. When a size measure
  is recorded, compute it in ``_size_factor`` (it must stay >= 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, and_, case, exists, func, literal, not_, or_, select
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from ..database import UTCDateTime
from ..extensions import db
from ..localtime import local_date
from ..models import AppealStatus, Complaint, Inspection, Merchant, Penalty, Pledge, RatingAppeal, SurveyResponse
from .model import RatingInput

WINDOW = timedelta(days=365)
RECENT = timedelta(days=90)
BREACH_PROBLEM_TYPES = ("genuine_doubt", "refused_return")
RATED_STATUSES = ("approved",)
# Pledge tenure counts in whole 30-day months: a score then moves at most monthly from age
# alone, and the history records real changes instead of a new row every night.
TENURE_STEP_DAYS = 30


@dataclass(frozen=True)
class Scope:
    """Which merchants: an inclusive id range, or a list of ids (keep it short)."""

    first_id: int | None = None
    last_id: int | None = None
    ids: tuple[int, ...] | None = None

    @classmethod
    def one(cls, merchant_id: int) -> Scope:
        return cls(ids=(merchant_id,))

    def where(self, column) -> ColumnElement[bool]:
        if self.ids is not None:
            if len(self.ids) == 1:
                return column == self.ids[0]
            return column.in_(self.ids)
        return and_(column >= self.first_id, column <= self.last_id)


def _appealed_away(appeal_column: ColumnElement[Any] | QueryableAttribute[Any],
                   finding_id: ColumnElement[Any] | QueryableAttribute[Any]) -> ColumnElement[bool]:
    """The finding was struck out by an upheld appeal: it no longer counts."""
    return exists().where(appeal_column == finding_id, RatingAppeal.status == AppealStatus.UPHELD)

def _size_factor(_merchant_id: int) -> float:
    return 1.0


def _count(condition: ColumnElement[bool]):
    return func.sum(case((condition, 1), else_=0))


def _days_since(moment, now: datetime):
    """Days (fractional) from a timestamp column to `now`, computed by the database.

    Half a million timestamps parsed into datetimes in Python would cost seconds a night.
    """
    now_bound = literal(now, UTCDateTime())
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", now_bound - moment) / 86400.0
    return func.julianday(now_bound) - func.julianday(moment)


def rated_ids(scope: Scope) -> list[int]:
    """Ids of the merchants in scope that get a rating."""
    return list(db.session.scalars(
        select(Merchant.id).where(scope.where(Merchant.id), Merchant.status.in_(RATED_STATUSES))))


def rating_inputs(scope: Scope, now: datetime | None = None) -> dict[int, RatingInput]:
    """merchant id -> its window counts, for every rated merchant in scope (5 queries)."""
    as_of, counts = rating_counts(scope, now)
    return {mid: RatingInput(as_of, *values) for mid, values in counts.items()}


def rating_counts(scope: Scope, now: datetime | None = None) -> tuple[date, dict[int, tuple]]:
    """The rating date, and merchant id -> the RatingInput fields after ``as_of``, in order.

    Plain tuples: equal counts give equal tuples, so the caller can rate each distinct
    set of counts once (most shops share theirs) and build a RatingInput only then.
    """
    now = now or datetime.now(UTC)
    as_of = local_date(now)  # the rating date: the bureau's calendar day at `now`
    ids = rated_ids(scope)
    if not ids:
        return as_of, {}
    return as_of, _input_fields(as_of, ids, _pledge_counts(scope, now), _complaint_counts(scope, now),
                                _inspection_counts(scope, as_of), _penalty_counts(scope, as_of))


# What a merchant without rows in a table counts there (its id first, as in the rows).
_NO_PLEDGES = (None, 0, None, 0)
_NO_COMPLAINTS = (None, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
_NO_INSPECTIONS = (None, 0, 0)


def _by_merchant(statement: Select[Any]) -> dict[int, Row[Any]]:
    """Rows keyed by their first column, the merchant id."""
    return {row[0]: row for row in db.session.execute(statement)}


def _pledge_counts(scope: Scope, now: datetime) -> dict[int, Row[Any]]:
    """Per merchant: pledges in force, days since the first of them began, pledges
    suspended or (recently) revoked."""
    in_force = and_(Pledge.status == "active", or_(Pledge.expires_at.is_(None), Pledge.expires_at > now))
    return _by_merchant(
        select(
            Pledge.merchant_id,
            _count(in_force),
            _days_since(func.min(case((in_force, Pledge.activated_at))), now),
            _count(or_(Pledge.status == "suspended", and_(Pledge.status == "revoked", Pledge.expires_at > now))),
        )
        .where(scope.where(Pledge.merchant_id), Pledge.status.in_(("active", "suspended", "revoked")))
        .group_by(Pledge.merchant_id))


def _complaint_counts(scope: Scope, now: datetime) -> dict[int, Row[Any]]:
    """Per merchant, over the complaints counted in the window (with their surveys, at
    most one per complaint): all, upheld, recent, breaches, answered on time, answers
    due, resolved, closed, satisfied, surveyed."""
    c = Complaint
    upheld = c.upheld.is_(True)
    answered = c.merchant_replied_at.is_not(None)
    due = and_(
        c.merchant_reply_due_at.is_not(None),
        or_(answered, c.merchant_reply_due_at < now),
        not_(and_(~answered, c.closed_at.is_not(None), c.closed_at <= c.merchant_reply_due_at)),
    )
    return _by_merchant(
        select(
            c.merchant_id,
            func.count(),
            _count(upheld),
            _count(c.received_at >= now - RECENT),
            _count(and_(upheld, c.problem_type.in_(BREACH_PROBLEM_TYPES))),
            _count(and_(due, answered, c.merchant_replied_at <= c.merchant_reply_due_at)),
            _count(due),
            _count(c.outcome == "resolved"),
            _count(c.outcome.in_(("resolved", "not_resolved"))),
            _count(SurveyResponse.answer == "satisfied"),
            func.count(SurveyResponse.id),
        )
        .outerjoin(SurveyResponse, SurveyResponse.complaint_id == c.id)
        .where(scope.where(c.merchant_id), c.received_at >= now - WINDOW, c.request_type == "complaint",
               c.accepted_at.is_not(None), or_(c.outcome.is_(None), c.outcome != "rejected"),
               c.duplicate_of_id.is_(None))
        .group_by(c.merchant_id))


def _inspection_counts(scope: Scope, as_of: date) -> dict[int, Row[Any]]:
    """Per merchant: inspections in the window, and how many failed (appealed away: not counted)."""
    return _by_merchant(
        select(Inspection.merchant_id, func.count(), _count(Inspection.result == "failed"))
        .where(scope.where(Inspection.merchant_id), Inspection.inspected_on > as_of - WINDOW,
               Inspection.inspected_on <= as_of, not_(_appealed_away(RatingAppeal.inspection_id, Inspection.id)))
        .group_by(Inspection.merchant_id))


def _penalty_counts(scope: Scope, as_of: date) -> dict[int, Row[Any]]:
    """Per merchant: penalties in the window, and the date of the last one ever."""
    return _by_merchant(
        select(Penalty.merchant_id,
               _count(and_(Penalty.decided_on > as_of - WINDOW, Penalty.decided_on <= as_of)),
               func.max(Penalty.decided_on))
        .where(scope.where(Penalty.merchant_id), Penalty.decided_on <= as_of,
               not_(_appealed_away(RatingAppeal.penalty_id, Penalty.id)))
        .group_by(Penalty.merchant_id))


def _input_fields(as_of: date, ids: list[int], pledges: dict[int, Row[Any]], complaints: dict[int, Row[Any]],
                  inspections: dict[int, Row[Any]], penalties: dict[int, Row[Any]]) -> dict[int, tuple]:
    """merchant id -> its counts from the per-table rows, in the order of RatingInput's
    fields after as_of. One loop over every merchant in scope: keep it lean."""
    out: dict[int, tuple] = {}
    for mid in ids:
        _, active, days_active, suspended = pledges.get(mid, _NO_PLEDGES)
        (_, n, n_upheld, n_recent, breaches, on_time, answer_due, resolved, closed, satisfied,
         surveyed) = complaints.get(mid, _NO_COMPLAINTS)
        _, n_inspections, n_failed = inspections.get(mid, _NO_INSPECTIONS)
        penalty = penalties.get(mid)
        if penalty is None:
            n_penalties, since_penalty = 0, None
        else:
            last = penalty[2]
            if isinstance(last, str):  # SQLite may hand back max() of a DATE as text
                last = date.fromisoformat(last)
            n_penalties, since_penalty = penalty[1], (as_of - last).days
        out[mid] = (
            active,
            int(days_active) // TENURE_STEP_DAYS * TENURE_STEP_DAYS if active and days_active is not None else 0,
            suspended > 0,
            breaches,
            _size_factor(mid),
            n, n_upheld, n_recent,
            on_time, answer_due,
            resolved, closed,
            satisfied, surveyed,
            n_inspections, n_failed,
            n_penalties, since_penalty,
        )
    return out


def id_bounds() -> tuple[int, int] | None:
    """(lowest, highest) id of the rated merchants, or None when there is none."""
    low, high = db.session.execute(
        select(func.min(Merchant.id), func.max(Merchant.id)).where(Merchant.status.in_(RATED_STATUSES))).one()
    return None if low is None else (low, high)


def chunks(bounds: tuple[int, int], size: int) -> Sequence[Scope]:
    low, high = bounds
    return [Scope(first_id=start, last_id=min(start + size - 1, high)) for start in range(low, high + 1, size)]
