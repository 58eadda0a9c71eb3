"""Trends (研判) read from the complaint tallies: counts by week and month for any period up
to three years, cut by any dimension, set against the period before and the same period a
year earlier; service levels over time; merchants by complaints relative to their size.

Every function takes a TrendFilter and returns plain dataclasses (no ORM rows), so that the
staff pages, the CSV and Excel downloads and the monthly report share one reading.

A period is read from the monthly rows for its whole months and from the daily rows for the
part-months at either end, so a three-year query reads at most 36 rows per key plus two
months of days. The one measure that changes with the clock rather than with a transaction,
open cases already past their deadline, is read from the open-case tallies by deadline day,
and counted live only for the cases due on the day itself.

Measures (the bureau's own; deadlines are those each case was given when it was filed):
- accepted on time: accepted, or rejected with a reason, by its acceptance deadline. Cases
  still waiting past it count as late; cases within it and cases withdrawn before a
  decision are not measured.
- finished on time: closed (not withdrawn) by its completion deadline. Open cases past it
  count as late.
- satisfaction: satisfied answers / answered surveys.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, String, and_, cast, column, event, func, select, true, union_all
from sqlalchemy import values as values_list
from sqlalchemy.orm import Session

from ..extensions import db
from ..localtime import local_midnight, local_today
from ..models import ALL_TOWNS, Complaint, ComplaintTally, Merchant, MerchantStatus, OpenCaseTally
from ..models.complaints import IS_OPEN, NEXT_DUE
from . import tally

BUCKETS = ("week", "month")
DIMENSIONS = tally.DIMENSION_NAMES
MAX_PERIOD_DAYS = 3 * 366


@dataclass(frozen=True)
class TrendFilter:
    """Requests received from `start` to `end` (local dates, both inclusive)."""

    start: date
    end: date
    request_type: str = "complaint"
    town_id: int | None = None        # None: every town

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")
        if (self.end - self.start).days > MAX_PERIOD_DAYS:
            raise ValueError("a period of at most three years")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> TrendFilter:
        """The period of the same length just before (whole months for whole months)."""
        if self.start.day == 1 and (self.end + timedelta(days=1)).day == 1:
            months = _month_index(self.end) - _month_index(self.start) + 1
            start = _month_start(_month_index(self.start) - months)
            return replace(self, start=start, end=self.start - timedelta(days=1))
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))

    def year_earlier(self) -> TrendFilter:
        return replace(self, start=_minus_year(self.start), end=_minus_year(self.end))


@dataclass(frozen=True)
class Levels:
    """What the tallies count for a period and key, plus the open cases now past their
    deadlines (waiting_late: not yet accepted; open_late: not yet finished)."""

    received: int = 0
    accepted_on_time: int = 0
    accepted_late: int = 0
    finished_on_time: int = 0
    finished_late: int = 0
    closed: int = 0
    resolved: int = 0
    surveys_answered: int = 0
    surveys_satisfied: int = 0
    amount_recovered_cents: int = 0
    waiting_late: int = 0
    open_late: int = 0

    def __add__(self, other: Levels) -> Levels:
        return Levels(*map(operator.add, _LEVELS(self), _LEVELS(other)))

    @property
    def acceptance_measured(self) -> int:
        return self.accepted_on_time + self.accepted_late + self.waiting_late

    @property
    def completion_measured(self) -> int:
        return self.finished_on_time + self.finished_late + self.open_late

    @property
    def share_accepted_on_time(self) -> float | None:
        return self.accepted_on_time / self.acceptance_measured if self.acceptance_measured else None

    @property
    def share_finished_on_time(self) -> float | None:
        return self.finished_on_time / self.completion_measured if self.completion_measured else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self.surveys_satisfied / self.surveys_answered if self.surveys_answered else None


_LEVELS = operator.attrgetter(*(f.name for f in fields(Levels)))  # every count, in field order
ZERO = Levels()


@dataclass(frozen=True)
class Point:
    period: date            # the Monday of the week, or the first of the month
    levels: Levels


@dataclass(frozen=True)
class Row:
    key: str                # the dimension's key: a code ("food"), an id as text, "" for none
    levels: Levels


@dataclass(frozen=True)
class Change:
    """A figure against the period before and the same period a year earlier."""

    current: int
    previous: int
    year_ago: int

    @property
    def vs_previous(self) -> float | None:
        return (self.current - self.previous) / self.previous if self.previous else None

    @property
    def vs_year_ago(self) -> float | None:
        return (self.current - self.year_ago) / self.year_ago if self.year_ago else None


@dataclass(frozen=True)
class ComparedRow:
    key: str
    levels: Levels
    change: Change


@dataclass(frozen=True)
class Comparison:
    filter: TrendFilter
    current: Levels
    previous: Levels
    year_ago: Levels

    @property
    def received(self) -> Change:
        return Change(self.current.received, self.previous.received, self.year_ago.received)


@dataclass(frozen=True)
class MerchantRate:
    """A business (one credit code) by complaints per shop."""

    credit_code: str
    name: str               # the shop name of its first shop
    merchant_id: int        # that shop
    complaints: int
    shops: int              # its approved shops: the size the rate divides by

    @property
    def per_shop(self) -> float:
        return self.complaints / self.shops if self.shops else float(self.complaints)


@dataclass(frozen=True)
class PeriodChange:
    """One bucket's count against the bucket before it and the same bucket a year earlier
    (the same month; for weeks, the week 52 weeks earlier, so weekdays line up)."""

    period: date
    levels: Levels
    change: Change


@dataclass
class Page:
    rows: list[Any] = field(default_factory=list)
    total: int | None = 0   # rows in the whole breakdown (for the pager); None: not counted


# --- periods -----------------------------------------------------------------------------

def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def _minus_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:          # 29 February
        return day.replace(year=day.year - 1, day=28)


def bucket_start(day: date, bucket: str) -> date:
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    raise ValueError(bucket)


def buckets(f: TrendFilter, bucket: str) -> list[date]:
    """Every bucket the period touches, in order."""
    found: list[date] = []
    current = bucket_start(f.start, bucket)
    while current <= f.end:
        found.append(current)
        current = (current + timedelta(days=7) if bucket == "week"
                   else _month_start(_month_index(current) + 1))
    return found


def _pieces(start: date, end: date) -> Iterator[tuple[str, date, date]]:
    """(grain, first, last): the whole months as months, the part-months as days."""
    first_whole = start if start.day == 1 else _month_start(_month_index(start) + 1)
    after_whole = _month_start(_month_index(end + timedelta(days=1)))
    if first_whole >= after_whole:
        yield "day", start, end
        return
    if start < first_whole:
        yield "day", start, first_whole - timedelta(days=1)
    yield "month", first_whole, after_whole - timedelta(days=1)
    if after_whole <= end:
        yield "day", after_whole, end


# --- reading the tallies -----------------------------------------------------------------

_SUMS = [func.coalesce(func.sum(getattr(ComplaintTally, name)), 0) for name in tally.COUNTERS]


def _scope(town_id: int | None, dimension: str, scope_town_id: Any = ComplaintTally.scope_town_id) -> Any:
    """The condition on a tally's scope column for a town (None: every town) and dimension."""
    if town_id is not None:
        return scope_town_id == town_id
    if dimension in tally.CROSS_TOWN:
        return scope_town_id == ALL_TOWNS
    return None   # nested in towns: each key is stored once, under its own town


def _where(f: TrendFilter, dimension: str, grain: str, first: date, last: date,
           keys: Iterable[str] | None = None) -> list[Any]:
    t = ComplaintTally
    conditions = [t.grain == grain, t.dimension == dimension, t.request_type == f.request_type,
                  t.period >= first, t.period <= last]
    scope = _scope(f.town_id, dimension)
    if scope is not None:
        conditions.append(scope)
    if keys is not None:
        conditions.append(t.key.in_(sorted(set(keys))))
    return conditions


def _levels(values: Iterable[Any]) -> Levels:
    return Levels(*(int(v) for v in values))


KEYS_PER_STATEMENT = 500  # a ranking may ask for thousands of keys: bound each statement's parameters


def _key_chunks(keys: Iterable[str] | None) -> list[list[str] | None]:
    """The keys asked for, KEYS_PER_STATEMENT to a statement; [None] (one statement, no key
    filter) for every key."""
    if keys is None:
        return [None]
    wanted = sorted(set(keys))
    return [wanted[i:i + KEYS_PER_STATEMENT] for i in range(0, len(wanted), KEYS_PER_STATEMENT)]


def _by_key(f: TrendFilter, dimension: str, keys: Iterable[str] | None = None) -> dict[str, Levels]:
    found: dict[str, Levels] = defaultdict(Levels)
    for chunk in _key_chunks(keys):
        for grain, first, last in _pieces(f.start, f.end):
            query = (select(ComplaintTally.key, *_SUMS).where(*_where(f, dimension, grain, first, last, chunk))
                     .group_by(ComplaintTally.key))
            for key, *values in db.session.execute(query):
                found[key] = found[key] + _levels(values)
    return dict(found)


def _series(f: TrendFilter, bucket: str, dimension: str, keys: list[str]) -> dict[str, dict[date, Levels]]:
    found: dict[str, dict[date, Levels]] = {key: defaultdict(Levels) for key in keys}
    t = ComplaintTally
    dialect = db.session.get_bind().dialect.name
    # Weeks straddle months: a week series reads days; a month series reads whole months as
    # months and the part-months at either end as days.
    pieces = [("day", f.start, f.end)] if bucket == "week" else list(_pieces(f.start, f.end))
    for grain, first, last in pieces:
        period: Any = t.period if grain == "month" else tally.period_of(t.period, bucket, dialect)
        label = period.label("bucket")
        query = (select(t.key, label, *_SUMS).where(*_where(f, dimension, grain, first, last, keys))
                 .group_by(t.key, label))
        for key, start, *values in db.session.execute(query):
            day = start if isinstance(start, date) else date.fromisoformat(start)
            found[key][day] = found[key][day] + _levels(values)
    return found


# --- open cases past their deadlines: the tallies by deadline day, and today's live --------

_KEYS = {d.name: d.key for d in tally.DIMENSIONS}


_LATE = "trends.late_cases"   # db.session.info: the late open cases counted for this session's moment


def _late_cases(request_type: str, town_id: int | None, now: datetime | None, dimension: str,
                keys: frozenset[str] | None = None) -> dict[tuple[date, str, str], int]:
    """Open cases of the request type (in the town) already past a deadline, counted per
    local day of receipt, key of the dimension (all keys, or the `keys` asked for) and
    deadline ("waiting_late", "open_late").

    The cases due before the moment's local day are in the open-case tallies (kept by every
    transaction); only those due on that day itself are counted live, through the indexes
    on the open cases' deadlines. A page asks for late counts a dozen times (each figure,
    the period before, a year earlier); each dimension (and set of keys) is read once per
    session and moment, the moment of the first ask (`now` None) or the `now` given. Any
    flush or commit drops the counts."""
    db.session.flush()   # what this session has pending counts (and drops what was kept)
    cache: dict[tuple[Any, ...], dict[tuple[date, str, str], int]] = db.session.info.setdefault(_LATE, {})
    cached = (request_type, town_id, now, dimension, keys)
    if cached in cache:
        return cache[cached]
    if keys is not None:   # read before for these keys and more (all of them, a ranking's candidates)?
        for (*asked, wider), counts in list(cache.items()):
            if tuple(asked) == cached[:4] and (wider is None or keys <= wider):
                cache[cached] = result = {k: n for k, n in counts.items() if k[1] in keys}
                return result
    moment = now or datetime.now(UTC)
    today = local_today(moment)
    found: dict[tuple[date, str, str], int] = defaultdict(int)
    t = OpenCaseTally
    # A dimension of many keys (merchants) is read for the keys a page shows, not whole.
    for chunk in _key_chunks(keys):
        query = (select(t.received_on, t.key, t.deadline, func.sum(t.cases))
                 .where(t.dimension == dimension, t.request_type == request_type, t.due_on < today)
                 .group_by(t.received_on, t.key, t.deadline))
        scope = _scope(town_id, dimension, t.scope_town_id)
        if scope is not None:
            query = query.where(scope)
        if chunk is not None:
            query = query.where(t.key.in_(chunk))
        for received, value, deadline, n in db.session.execute(query):
            found[(received, value, _LATE_COUNTER[deadline])] += int(n)
    for (received, value, counter), n in _late_today(request_type, town_id, moment, today, dimension).items():
        if keys is None or value in keys:
            found[(received, value, counter)] += n
    cache[cached] = result = {k: n for k, n in found.items() if n}
    return result


_LATE_COUNTER = {"acceptance": "waiting_late", "completion": "open_late"}


def _late_today(request_type: str, town_id: int | None, moment: datetime, today: date,
                dimension: str) -> dict[tuple[date, str, str], int]:
    """The open cases due earlier on the moment's local day: a range of the deadline indexes
    (the acceptance deadline is the next deadline of a case still waiting on it)."""
    dialect = db.session.get_bind().dialect.name
    day = tally.local_day(Complaint.received_at, dialect).label("day")
    key = _KEYS[dimension]().label("key")
    since = local_midnight(today)
    accepting, _ = tally.waiting_on("acceptance")
    completing, completion_due = tally.waiting_on("completion")
    due_today = {
        # The acceptance deadline as the next deadline (NEXT_DUE, of the open cases' index).
        "waiting_late": and_(IS_OPEN, accepting, since <= NEXT_DUE, moment > NEXT_DUE),
        "open_late": and_(completing, completion_due >= since, completion_due < moment),
    }
    found: dict[tuple[date, str, str], int] = {}
    for counter, condition in due_today.items():
        query = (select(day, key, func.count()).select_from(Complaint)
                 .where(condition, Complaint.request_type == request_type).group_by(day, key))
        if town_id is not None or dimension in tally.FROM_SHOP:
            query = query.join(Merchant, Merchant.id == Complaint.merchant_id)
        if town_id is not None:
            query = query.where(Merchant.town_id == town_id)
        for received, value, n in db.session.execute(query):
            found[(received if isinstance(received, date) else date.fromisoformat(received), value, counter)] = int(n)
    return found


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_session_reads(session: Session, *_: Any) -> None:
    """What a session kept of its reads (the late counts, the rankings' walks) is not kept
    past a flush, a commit or a rollback."""
    session.info.pop(_LATE, None)
    session.info.pop(_WALKS, None)


def _late_counts(f: TrendFilter, now: datetime | None, dimension: str, bucket: str | None = None,
                 keys: Iterable[str] | None = None) -> dict[tuple[str, date | None], Levels]:
    """Open cases of the period already past a deadline per key of the dimension and, with
    `bucket`, per bucket (from _late_cases)."""
    wanted = frozenset(keys) if keys is not None else None
    counts: dict[tuple[str, date | None, str], int] = defaultdict(int)
    for (day, key, counter), n in _late_cases(f.request_type, f.town_id, now, dimension, wanted).items():
        if f.start <= day <= f.end:
            counts[(key, bucket_start(day, bucket) if bucket else None, counter)] += n
    found: dict[tuple[str, date | None], Levels] = {}
    for (key, start, counter), n in counts.items():
        found[(key, start)] = found.get((key, start), ZERO) + Levels(**{counter: n})
    return found


# --- the query API -----------------------------------------------------------------------

def totals(f: TrendFilter, now: datetime | None = None) -> Levels:
    """Everything received in the period."""
    levels = _by_key(f, "all").get("", ZERO)
    for late in _late_counts(f, now, "all").values():
        levels = levels + late
    return levels


def compare(f: TrendFilter, now: datetime | None = None) -> Comparison:
    """The period against the period before and the same period a year earlier."""
    return Comparison(f, totals(f, now), totals(f.previous(), now), totals(f.year_earlier(), now))


def breakdown(f: TrendFilter, dimension: str, now: datetime | None = None,
              limit: int | None = None, offset: int = 0) -> Page:
    """One row per key of the dimension with requests in the period, most first (ties: by
    key). The total is None where it was not counted: the first rows of a dimension with
    too many keys to group whole (RANKED) are found by the ranked walk instead."""
    if dimension not in DIMENSIONS:
        raise ValueError(dimension)
    if limit is not None and limit <= 0:
        return Page([], None)
    if dimension in RANKED and limit is not None:
        keys = _ranked_keys_of(f, dimension, offset + limit)
        levels = _by_key(f, dimension, keys)
        total: int | None = None
    else:
        levels = _by_key(f, dimension)
        keys = None
    for (key, _), late in _late_counts(f, now, dimension, keys=keys).items():
        levels[key] = levels.get(key, ZERO) + late
    rows = sorted((Row(key, value) for key, value in levels.items() if value.received),
                  key=lambda r: (-r.levels.received, r.key))
    if keys is None:
        total = len(rows)
    end = None if limit is None else offset + limit
    return Page(rows[offset:end], total)


def compared_breakdown(f: TrendFilter, dimension: str, now: datetime | None = None,
                       limit: int | None = None, offset: int = 0) -> Page:
    """The breakdown, each row with its count in the period before and a year earlier."""
    page = breakdown(f, dimension, now, limit, offset)
    keys = [row.key for row in page.rows]
    before = _by_key(f.previous(), dimension, keys) if keys else {}
    year_ago = _by_key(f.year_earlier(), dimension, keys) if keys else {}
    rows = [ComparedRow(row.key, row.levels, Change(row.levels.received, before.get(row.key, ZERO).received,
                                                    year_ago.get(row.key, ZERO).received))
            for row in page.rows]
    return Page(rows, page.total)


def series(f: TrendFilter, bucket: str, dimension: str = "all", keys: Iterable[str] | None = None,
           now: datetime | None = None) -> dict[str, list[Point]]:
    """Per key (the dimension's top ten in the period when `keys` is None), one point per
    bucket of the period, zeros included. The first and last buckets may be part-buckets:
    they count only the days inside the period."""
    if bucket not in BUCKETS:
        raise ValueError(bucket)
    if dimension not in DIMENSIONS:
        raise ValueError(dimension)
    chosen = [r.key for r in breakdown(f, dimension, now, limit=10).rows] if keys is None else list(keys)
    found = _series(f, bucket, dimension, chosen) if chosen else {}
    if chosen:
        for (key, start), late in _late_counts(f, now, dimension, bucket, chosen).items():
            if key in found and start is not None:
                found[key][start] = found[key][start] + late
    periods = buckets(f, bucket)
    return {key: [Point(p, found.get(key, {}).get(p, ZERO)) for p in periods] for key in chosen}


def service_levels_over_time(f: TrendFilter, bucket: str, now: datetime | None = None) -> list[Point]:
    """Every bucket's totals (the service levels are properties of each point's Levels)."""
    return series(f, bucket, "all", [""], now)[""]


def year_earlier(f: TrendFilter, bucket: str) -> TrendFilter:
    """The same period a year earlier for a series by `bucket`: by calendar date for months,
    52 weeks (364 days) back for weeks, so that each week is set against a whole week."""
    if bucket == "week":
        return replace(f, start=f.start - timedelta(days=364), end=f.end - timedelta(days=364))
    return f.year_earlier()


def compared_series(f: TrendFilter, bucket: str, dimension: str = "all", key: str = "",
                    now: datetime | None = None) -> list[PeriodChange]:
    """For one key of a dimension (every request: "all", ""), each bucket of the period with
    its count, the count of the bucket before it and of the same bucket a year earlier. The
    bucket before the first is read whole; part-buckets at either end of the period are set
    against the same part a year earlier."""
    current = series(f, bucket, dimension, [key], now)[key]
    year_ago = series(year_earlier(f, bucket), bucket, dimension, [key], now)[key]
    first = current[0].period
    before_start = first - timedelta(days=7) if bucket == "week" else _month_start(_month_index(first) - 1)
    before = series(replace(f, start=before_start, end=first - timedelta(days=1)), bucket, dimension, [key],
                    now)[key]
    previous = [before[-1].levels.received if before else 0] + [p.levels.received for p in current[:-1]]
    # Both periods have as many buckets (same length, same weekday or day of the month).
    ago = [p.levels.received for p in year_ago] + [0] * max(0, len(current) - len(year_ago))
    return [PeriodChange(p.period, p.levels, Change(p.levels.received, previous[i], ago[i]))
            for i, p in enumerate(current)]


def weekly_counts(dimension: str, key: str, town_id: int | None, last_week: date, weeks: int,
                  request_type: str = "complaint") -> list[int]:
    """Complaints per week for `weeks` weeks ending with the week starting `last_week`
    (a Monday), oldest first: the spike scan's input."""
    start = last_week - timedelta(days=7 * (weeks - 1))
    f = TrendFilter(start, last_week + timedelta(days=6), request_type, town_id)
    points = series(f, "week", dimension, [key])[key]
    return [p.levels.received for p in points]


# Dimensions with too many keys to group whole for their first rows (a province has about
# 100,000 merchants with a complaint in a year): their ranking walks the ranked index.
RANKED = frozenset({"merchant"})
# A walk finds at least this many first rows: a page's chart of the ten first and its table
# of the twenty first then share one walk.
WALK_AT_LEAST = 20
_WALKS = "trends.ranked_walks"   # db.session.info: (filter, dimension, rows) -> the keys walked to


def _ranked_keys_of(f: TrendFilter, dimension: str, wanted: int) -> frozenset[str]:
    """The keys that can be among the first `wanted` rows of the dimension's breakdown,
    walked once per session for a filter (dropped at any flush or commit, as the late
    counts are)."""
    rows = max(wanted, WALK_AT_LEAST)
    db.session.flush()   # what this session has pending counts (and drops what was kept)
    walks: dict[tuple[Any, ...], frozenset[str]] = db.session.info.setdefault(_WALKS, {})
    found = walks.get((f, dimension, rows))
    if found is None:
        found = walks[(f, dimension, rows)] = frozenset(_ranked_walk(
            f, dimension, rows, lambda keys: _received(f, dimension, keys),
            lambda counts: counts[rows - 1] if len(counts) >= rows else 0))
    return found


def top_merchants(f: TrendFilter, limit: int = 20, min_complaints: int = 3) -> list[MerchantRate]:
    """Businesses by complaints per approved shop in the period, highest first (ties: more
    complaints first, then the credit code); only those with at least `min_complaints`
    complaints, so that one complaint at a one-shop business does not top the list. A rate
    is complaints / max(1, approved shops): never above the complaints themselves, which is
    what lets the ranked walk find the list without rating every business of the period."""
    if limit <= 0:
        return []
    floor = max(1, min_complaints)
    rated: dict[str, tuple[int, int]] = {}

    def rate(codes: set[str]) -> dict[str, int]:
        complaints = _received(f, "business", codes)
        shops = _approved_shops(sorted(complaints))
        rated.update({code: (n, shops.get(code, 0)) for code, n in complaints.items()})
        return complaints

    def bound(_: list[int]) -> int:
        rates = sorted((n / max(1, shops) for n, shops in rated.values() if n >= floor), reverse=True)
        # The limit-th rate, rounded down: every business on the list has at least that many complaints.
        return max(floor, int(rates[limit - 1]) if len(rates) >= limit else 0)

    _ranked_walk(f, "business", limit, rate, bound)
    chosen = sorted(((n, shops, code) for code, (n, shops) in rated.items() if n >= floor),
                    key=lambda r: (-r[0] / max(1, r[1]), -r[0], r[2]))[:limit]
    firsts = _first_shops(f, [code for _, _, code in chosen])
    return [MerchantRate(code, *firsts[code], n, shops) for n, shops, code in chosen]


def _ranked_walk(f: TrendFilter, dimension: str, top: int, exact: Callable[[set[str]], dict[str, int]],
                 bound: Callable[[list[int]], int]) -> set[str]:
    """The keys that can be among the `top` of a ranking over the period, found without
    reading every key's rows, for a ranking where a key's place needs at least `bound`
    requests received.

    A key's requests in the period are at most the sum of its P month rows covering it (the
    whole months, and the months of the part-months at either end), so one of those rows
    holds at least a P-th of them (a nested key's rows are all under its own town). The
    walk:

    1. `exact`ly counts the keys with one of the `top` largest rows of some covering month;
    2. asks `bound` (given those counts, largest first) how many requests the last key of
       the ranking has at least;
    3. `exact`ly counts every other key with a row of at least bound / P in some covering
       month.

    Each step reads one range of the ranked index per month. Where the counts are flat
    (a bound near P) step 3 reads about as much as grouping every key would.
    """
    periods = _covering_months(f)
    counted = exact(_ranked_keys(f, dimension, periods, top=top))
    needed = bound(sorted(counted.values(), reverse=True))
    # P integers summing to at least `needed` have one of at least ceil(needed / P).
    row_floor = max(1, -(-needed // len(periods)))
    rest = _ranked_keys(f, dimension, periods, at_least=row_floor) - counted.keys()
    counted.update(exact(rest))
    return set(counted)


def _covering_months(f: TrendFilter) -> list[tuple[str, date]]:
    """The (grain, period) of the month rows that cover the period: its whole months and
    the months of its part-months, whose rows hold at least the part's requests."""
    return [("month", _month_start(index))
            for index in range(_month_index(f.start), _month_index(f.end) + 1)]


def _ranked_keys(f: TrendFilter, dimension: str, periods: list[tuple[str, date]], top: int | None = None,
                 at_least: int | None = None) -> set[str]:
    """The keys with one of the `top` largest rows of some period, or with a row of at least
    `at_least` there: one range of the ranked index per period, all in one statement."""
    t = ComplaintTally
    scope = _scope(f.town_id, dimension)

    def range_of(grain: str, period: Any) -> Any:
        query = select(t.key).where(t.grain == grain, t.dimension == dimension, t.request_type == f.request_type,
                                    t.period == period, t.received >= (at_least or 1))
        if scope is not None:
            query = query.where(scope)
        return query if top is None else query.order_by(t.received.desc()).limit(top)

    if not periods:
        return set()
    grains = {grain for grain, _ in periods}
    if db.session.get_bind().dialect.name == "postgresql" and len(grains) == 1:
        # A UNION of the ranges is planned as a parallel append there, whose workers take
        # longer to start (5-20 ms) than the ranges take to read; a LATERAL join over the
        # periods reads the same ranges, one index scan each, in one plain statement.
        months = values_list(column("period", Date), name="periods").data([(period,) for _, period in periods])
        ranged = range_of(grains.pop(), months.c.period).lateral("ranged")
        return set(db.session.scalars(select(ranged.c.key).select_from(months).join(ranged, true())))
    # SQLite reads them fastest as a UNION; each range is a subquery of its own (a member of
    # a UNION takes no ORDER BY or LIMIT there).
    ranges = [range_of(grain, period).subquery() for grain, period in periods]
    return set(db.session.scalars(union_all(*(select(r.c.key) for r in ranges))))


def _received(f: TrendFilter, dimension: str, keys: Iterable[str]) -> dict[str, int]:
    """Requests received in the period per key."""
    return {key: levels.received for key, levels in _by_key(f, dimension, keys).items()}


def _approved_shops(codes: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(codes), KEYS_PER_STATEMENT):
        query = (select(Merchant.credit_code, func.count()).where(
            Merchant.credit_code.in_(codes[start:start + KEYS_PER_STATEMENT]),
            Merchant.status == MerchantStatus.APPROVED.value).group_by(Merchant.credit_code))
        found.update({code: int(n) for code, n in db.session.execute(query)})
    return found


def _first_shops(f: TrendFilter, codes: list[str]) -> dict[str, tuple[str, int]]:
    """(shop name, id) of each business's first shop with a complaint in the period (its
    first shop at all, should none have one: the tallies moved with a changed credit code)."""
    if not codes:
        return {}
    t = ComplaintTally
    first: dict[str, int] = {}
    for grain, start, end in _pieces(f.start, f.end):
        query = (select(Merchant.credit_code, func.min(Merchant.id))
                 .join(t, t.key == cast(Merchant.id, String))
                 .where(Merchant.credit_code.in_(codes), *_where(f, "merchant", grain, start, end), t.received > 0)
                 .group_by(Merchant.credit_code))
        for code, merchant_id in db.session.execute(query):
            first[code] = min(first.get(code, merchant_id), merchant_id)
    for code, merchant_id in db.session.execute(
            select(Merchant.credit_code, func.min(Merchant.id)).where(
                Merchant.credit_code.in_([c for c in codes if c not in first])).group_by(Merchant.credit_code)):
        first[code] = merchant_id
    names = dict(db.session.execute(
        select(Merchant.id, Merchant.shop_name).where(Merchant.id.in_(first.values()))).tuples().all())
    return {code: (names[merchant_id], merchant_id) for code, merchant_id in first.items()}
