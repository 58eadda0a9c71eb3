"""The complaint tallies: counts per local day and month, per dimension, kept in the same
transaction as every change to a complaint, so they are never wrong after a commit.

One rule says what a complaint contributes (`_contribution`, SQL over the complaint, its
shop and its survey), and everything else is that rule applied to a set of complaints:

- a flush that changes a complaint, its survey, or its shop's town, area or category:
  before the flush the affected complaints' rows are subtracted (the database still holds
  their old state), after it they are added back as they now stand (`init_app`);
- the filing path, which writes with Core INSERTs for a short write lock and so is not
  seen by the ORM listener, adds its new case with `add_complaints`;
- `rebuild` empties the tallies and adds every complaint (`flask stats rebuild`); after
  a bulk load or a change of these rules.

The dimensions are a table (DIMENSIONS): a new cut of the complaints (a channel) is one more
entry there and a rebuild. Cuts that cross towns (category, problem type) are counted twice,
in the complaint's town and in ALL_TOWNS, so a town's officer and the whole jurisdiction
each read only their own rows; cuts nested in a town (town, area, station, merchant) are
counted once, under their town. The business (credit code) is counted like a cross-town cut
but offered to no one: it is what the ranking by complaints per shop reads.

On time means by the deadline the case was given when it was filed (acceptance_due_at,
completion_due_at, already in working days of the Chinese calendar): the same in the
listener and the rebuild, and no working-day arithmetic per case.

Open cases past their deadline change with the clock, not with a transaction. What a
transaction changes is which cases are open and what their deadlines are: the open cases
are counted by the local day of each deadline (OpenCaseTally, `_open_contribution`), by the
same listener and rebuild, so that trends.py finds the cases late at a moment in the rows
due before its local day, and counts live only those due on that day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from typing import cast as cast_table

from flask import Flask
from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    event,
    false,
    func,
    inspect,
    literal,
    literal_column,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, UOWTransaction

from ..models import (
    ALL_TOWNS,
    DEADLINES,
    OPEN_STATUSES,
    Complaint,
    ComplaintStatus,
    ComplaintTally,
    Merchant,
    OpenCaseTally,
    Outcome,
    SurveyResponse,
)

_PENDING = "complaint_tally_pending"   # session.info: what before_flush subtracted
# The columns that name a row of each table (its unique key).
TALLY_KEY = ("grain", "period", "request_type", "scope_town_id", "dimension", "key")
OPEN_KEY = ("dimension", "request_type", "deadline", "scope_town_id", "due_on", "received_on", "key")

COUNTERS = ("received", "accepted_on_time", "accepted_late", "finished_on_time", "finished_late",
            "closed", "resolved", "surveys_answered", "surveys_satisfied", "amount_recovered_cents")
# The complaint's and its shop's columns the contribution reads: a change to any re-counts.
COMPLAINT_COLUMNS = frozenset({"request_type", "merchant_id", "station_id", "problem_type", "channel", "status",
                               "outcome", "received_at", "acceptance_due_at", "completion_due_at", "accepted_at",
                               "closed_at", "amount_recovered_cents"})
MERCHANT_COLUMNS = frozenset({"town_id", "area_id", "category", "credit_code"})
SURVEY_COLUMNS = frozenset({"complaint_id", "answer"})


@dataclass(frozen=True)
class Dimension:
    name: str
    key: Callable[[], Any]                   # the key, as text (a column expression)
    crosses_towns: bool                      # counted in ALL_TOWNS as well as in the town
    from_shop: bool = False                  # the key reads the shop (a join), not the complaint alone
    cut: bool = True                         # offered to staff as a cut of the trends


def _id_text(column: Any) -> ColumnElement[Any]:
    return func.coalesce(cast(column, String), "")


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("all", lambda: literal("", String), True),
    Dimension("category", lambda: Merchant.category, True, from_shop=True),
    Dimension("problem_type", lambda: Complaint.problem_type, True),
    Dimension("channel", lambda: Complaint.channel, True),
    Dimension("town", lambda: _id_text(Merchant.town_id), False, from_shop=True),
    Dimension("area", lambda: _id_text(Merchant.area_id), False, from_shop=True),
    Dimension("station", lambda: _id_text(Complaint.station_id), False),
    Dimension("merchant", lambda: _id_text(Complaint.merchant_id), False),
    # The business (one credit code, all its shops), for the ranking by complaints per shop
    # (trends.top_merchants): counted across towns too, so a chain's rows in a period are
    # one per period whether or not a town is chosen. Not a cut of its own: staff see shops.
    Dimension("business", lambda: Merchant.credit_code, True, from_shop=True, cut=False),
)
DIMENSION_NAMES = tuple(d.name for d in DIMENSIONS if d.cut)
CROSS_TOWN = frozenset(d.name for d in DIMENSIONS if d.crosses_towns)
FROM_SHOP = frozenset(d.name for d in DIMENSIONS if d.from_shop)


def local_day(moment: Any, dialect: str) -> Any:
    """The local (Asia/Shanghai) date of a stored UTC time. China has kept UTC+8 all year
    since 1991, so a fixed offset is exact for every date the registry holds."""
    if dialect == "postgresql":
        return cast(func.timezone("Asia/Shanghai", moment), postgresql.DATE)
    return func.date(moment, "+8 hours")


def period_of(day: Any, grain: str, dialect: str) -> Any:
    """The first day of the period (`grain`) containing a date expression."""
    if grain == "day":
        return day
    if dialect == "postgresql":
        return cast(func.date_trunc(grain, day), postgresql.DATE)
    if grain == "month":
        return func.date(day, "start of month")
    if grain == "week":       # the Monday on or before the day
        return func.date(day, "-6 days", "weekday 1")
    raise ValueError(grain)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _measures() -> dict[str, Any]:
    decided = func.coalesce(Complaint.accepted_at,
                            case((Complaint.outcome == Outcome.REJECTED.value, Complaint.closed_at)))
    finished = and_(Complaint.closed_at.is_not(None), Complaint.outcome != Outcome.WITHDRAWN.value)
    return {
        "received": literal(1, Integer),
        "accepted_on_time": _flag(and_(decided.is_not(None), decided <= Complaint.acceptance_due_at)),
        "accepted_late": _flag(and_(decided.is_not(None), decided > Complaint.acceptance_due_at)),
        "finished_on_time": _flag(and_(finished, Complaint.closed_at <= Complaint.completion_due_at)),
        "finished_late": _flag(and_(finished, Complaint.closed_at > Complaint.completion_due_at)),
        "closed": _flag(Complaint.closed_at.is_not(None)),
        "resolved": _flag(Complaint.outcome == Outcome.RESOLVED.value),
        "surveys_answered": _flag(SurveyResponse.id.is_not(None)),
        "surveys_satisfied": _flag(SurveyResponse.answer == "satisfied"),
        "amount_recovered_cents": Complaint.amount_recovered_cents,
    }


def _scopes(dimension: Dimension) -> list[Any]:
    """The scopes a complaint is counted in for the dimension: its shop's town, and every
    town at once for a cut that crosses towns."""
    return [Merchant.town_id, literal(ALL_TOWNS, Integer)] if dimension.crosses_towns else [Merchant.town_id]


def _contribution(where: ColumnElement[bool], dialect: str, grains: Iterable[str]) -> Any:
    """What the complaints matching `where` add to the tallies: one row per
    (grain, period, request type, scope, dimension, key), summed."""
    measures = _measures()
    day = local_day(Complaint.received_at, dialect)
    branches = []
    for grain in grains:
        for dimension in DIMENSIONS:
            for scope in _scopes(dimension):
                branches.append(
                    select(literal(grain, String).label("grain"),
                           type_coerce(period_of(day, grain, dialect), Date).label("period"),
                           Complaint.request_type.label("request_type"), scope.label("scope_town_id"),
                           literal(dimension.name, String).label("dimension"), dimension.key().label("key"),
                           *(value.label(name) for name, value in measures.items()))
                    .select_from(Complaint)
                    .join(Merchant, Merchant.id == Complaint.merchant_id)
                    .outerjoin(SurveyResponse, SurveyResponse.complaint_id == Complaint.id)
                    .where(where))
    rows = union_all(*branches).subquery("contribution")
    keys = [rows.c.grain, rows.c.period, rows.c.request_type, rows.c.scope_town_id, rows.c.dimension, rows.c.key]
    # WHERE true: SQLite's upsert needs a WHERE in an INSERT ... SELECT to parse ON CONFLICT.
    return (select(*keys, *(func.sum(rows.c[name]).label(name) for name in COUNTERS))
            .where(true()).group_by(*keys))


def waiting_on(deadline: str) -> tuple[ColumnElement[bool], Any]:
    """(the cases that wait on the deadline, the deadline's column): a case waits on its
    acceptance deadline until it is decided, and on its completion deadline until it closes."""
    if deadline == "acceptance":
        return Complaint.status == ComplaintStatus.RECEIVED.value, Complaint.acceptance_due_at
    if deadline == "completion":
        return Complaint.status.in_(OPEN_STATUSES), Complaint.completion_due_at
    raise ValueError(deadline)


def _open_contribution(where: ColumnElement[bool], dialect: str) -> Any:
    """What the open cases matching `where` add to the open-case tallies: one row per
    (dimension, request type, deadline, scope, due day, day of receipt, key), summed."""
    received_on = local_day(Complaint.received_at, dialect)
    branches = []
    for deadline in DEADLINES:
        waiting, due = waiting_on(deadline)
        for dimension in DIMENSIONS:
            for scope in _scopes(dimension):
                branches.append(
                    select(literal(dimension.name, String).label("dimension"),
                           Complaint.request_type.label("request_type"),
                           literal(deadline, String).label("deadline"), scope.label("scope_town_id"),
                           type_coerce(local_day(due, dialect), Date).label("due_on"),
                           type_coerce(received_on, Date).label("received_on"), dimension.key().label("key"))
                    .select_from(Complaint)
                    .join(Merchant, Merchant.id == Complaint.merchant_id)
                    .where(where, waiting))
    rows = union_all(*branches).subquery("open_contribution")
    keys = [rows.c[name] for name in OPEN_KEY]
    return select(*keys, func.count().label("cases")).where(true()).group_by(*keys)


def _upsert(session: Session, model: Any, key: Sequence[str], counters: Sequence[str], contribution: Any,
            sign: int) -> None:
    """Add (sign=1) or subtract (sign=-1) a contribution (rows of `key` and `counters`) to the
    table's rows of the same key, inserting the rows it has not got."""
    connection = session.connection()
    if sign < 0:
        inner = contribution.subquery("delta")
        contribution = select(*(inner.c[n] for n in key), *((-inner.c[n]).label(n) for n in counters)).where(true())
    table = cast_table(Table, model.__table__)
    insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(table)
    statement = insert.from_select([*key, *counters], contribution)
    connection.execute(statement.on_conflict_do_update(
        index_elements=list(key), set_={name: table.c[name] + statement.excluded[name] for name in counters}))


def _apply_open(session: Session, where: ColumnElement[bool], sign: int) -> None:
    _upsert(session, OpenCaseTally, OPEN_KEY, ("cases",),
            _open_contribution(where, session.connection().dialect.name), sign)
    if sign > 0:
        # What went back to zero is a deadline no open case has any more (the case closed,
        # was decided, or moved): gone, so that the table holds only open cases' rows.
        session.connection().execute(delete(OpenCaseTally).where(OpenCaseTally.cases == literal_column("0")))


def _apply(session: Session, where: ColumnElement[bool], sign: int, grains: Iterable[str] = ("day", "month")) -> None:
    """Add (sign=1) or subtract (sign=-1) the contribution of the complaints matching `where`,
    to the tallies and to the open-case tallies."""
    _apply_open(session, where, sign)
    _upsert(session, ComplaintTally, TALLY_KEY, COUNTERS,
            _contribution(where, session.connection().dialect.name, grains), sign)


def add_complaints(session: Session, complaint_ids: Iterable[int]) -> None:
    """Count complaints written without the ORM (the filing path, a bulk load)."""
    ids = sorted(set(complaint_ids))
    if ids:
        _apply(session, Complaint.id.in_(ids), 1)


def rebuild(session: Session) -> int:
    """Empty the tallies and count every complaint again; returns the tally rows written."""
    session.execute(delete(ComplaintTally))
    session.execute(delete(OpenCaseTally))
    _apply(session, true(), 1)
    return session.scalar(select(func.count()).select_from(ComplaintTally)) or 0


def count_open(session: Session) -> int:
    """Empty the open-case tallies and count the open cases again (a bulk load that
    counted the other tallies its own way); returns the rows written."""
    session.execute(delete(OpenCaseTally))
    _apply_open(session, true(), 1)
    return session.scalar(select(func.count()).select_from(OpenCaseTally)) or 0


def recount_open(session: Session) -> dict[tuple[Any, ...], int]:
    """The open-case tallies as a fresh count would make them (for tests and checks)."""
    rows = session.execute(_open_contribution(true(), session.connection().dialect.name))
    return {tuple(row[:-1]): int(row[-1]) for row in rows}


def stored_open(session: Session) -> dict[tuple[Any, ...], int]:
    """The open-case tallies as stored."""
    t = OpenCaseTally
    rows = session.execute(select(*(getattr(t, n) for n in OPEN_KEY), t.cases))
    return {tuple(row[:-1]): int(row[-1]) for row in rows}


def recount(session: Session) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """The tallies as a fresh count would make them, without writing (for tests and checks)."""
    rows = session.execute(_contribution(true(), session.connection().dialect.name, ("day", "month")))
    return {tuple(row[:6]): tuple(int(v) for v in row[6:]) for row in rows if row.received}


def stored(session: Session) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """The tallies as stored, without the rows that went back to zero."""
    t = ComplaintTally
    rows = session.execute(select(*(getattr(t, n) for n in (*TALLY_KEY, *COUNTERS))).where(t.received != 0))
    return {tuple(row[:6]): tuple(int(v) for v in row[6:]) for row in rows}


# --- the listener ------------------------------------------------------------------------

def _changed(obj: Any, columns: frozenset[str]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in columns)


def _affected(session: Session) -> tuple[set[int], set[int]]:
    """(complaint ids, merchant ids) whose complaints this flush re-counts."""
    complaints: set[int] = set()
    merchants: set[int] = set()
    for obj in session.dirty:
        if isinstance(obj, Complaint) and _changed(obj, COMPLAINT_COLUMNS):
            complaints.add(obj.id)
        elif isinstance(obj, SurveyResponse) and _changed(obj, SURVEY_COLUMNS):
            complaints.add(obj.complaint_id)
            complaints.update(inspect(obj).attrs["complaint_id"].history.deleted)
        elif isinstance(obj, Merchant) and _changed(obj, MERCHANT_COLUMNS):
            merchants.add(obj.id)
    for obj in session.deleted:
        if isinstance(obj, Complaint):
            complaints.add(obj.id)
        elif isinstance(obj, SurveyResponse):
            complaints.add(obj.complaint_id)
    for obj in session.new:
        if isinstance(obj, SurveyResponse) and obj.complaint_id is not None:
            complaints.add(obj.complaint_id)   # a survey of a new complaint comes with it
    return {i for i in complaints if i is not None}, merchants


def _where(complaints: set[int], merchants: set[int]) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if complaints:
        parts.append(Complaint.id.in_(sorted(complaints)))
    if merchants:
        parts.append(Complaint.merchant_id.in_(sorted(merchants)))
    return or_(*parts) if parts else false()


def _before_flush(session: Session, _context: UOWTransaction, _instances: object) -> None:
    # Left by a flush that failed: its subtraction was rolled back with it, and is not to be
    # added back by this one.
    session.info.pop(_PENDING, None)
    complaints, merchants = _affected(session)
    new = [obj for obj in session.new if isinstance(obj, Complaint)]
    if complaints or merchants:
        _apply(session, _where(complaints, merchants), -1)
    if complaints or merchants or new:
        session.info[_PENDING] = (complaints, merchants, new)


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    complaints, merchants, new = pending
    complaints = complaints | {obj.id for obj in new if obj.id is not None}
    _apply(session, _where(complaints, merchants), 1)


def init_app(_app: Flask) -> None:
    """Keep the tallies in every flush of the app's session (called by create_app)."""
    from ..extensions import db

    # db.session is a scoped_session: listening on it covers every session it makes.
    if not event.contains(db.session, "before_flush", _before_flush):
        event.listen(db.session, "before_flush", _before_flush)
        event.listen(db.session, "after_flush", _after_flush)
