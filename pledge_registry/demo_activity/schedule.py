"""The DEMO city's year of cases, planned from a seed: when each arrives, what it is about,
which shop it names, and every step of its handling up to `now`.

Pure module: no Flask, no database. The loader turns the plan into rows.

The shape, sized on the bureau's 2023 figures (21,773 requests for 8,736 pledged shops):
- volume: about 2.2 requests per shop a year, split complaints : reports : consultations
  as 15,847 : 2,491 : 1,004;
- over the year: busier on working days, a peak around 15 March (consumer rights day),
  a dip over the Spring Festival holiday, a slight growth (+9% on the year);
- one planted rising problem: a problem type in one town that climbs week by week over
  the last weeks, on top of its usual level (what a spike alert should find);
- handling: accepted within 1 working day nearly always (a few late), finished within 7
  for most (about 88%), a few stuck past their deadline; outcomes resolved, not resolved,
  rejected, withdrawn; about 93% of answered surveys satisfied.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate

import chinese_calendar

from ..localtime import LOCAL_TZ
from ..workdays import WorkCalendar

# The 2023 figures: requests by type, and the pledged shops they concerned.
REQUEST_SHARES = {"complaint": 15847, "report": 2491, "consultation": 1004}
SHOPS_2023 = 8736
REQUESTS_PER_SHOP_YEAR = sum(REQUEST_SHARES.values()) / SHOPS_2023

PROBLEM_WEIGHTS = {"quality": 26, "contract_terms": 22, "service": 11, "advertising": 10, "refused_return": 10,
                   "price": 8, "genuine_doubt": 6, "safety": 3, "other": 4}
# Some trades draw more complaints than others (prepaid cards, home decoration, e-bikes).
CATEGORY_WEIGHTS = {"prepaid": 2.5, "furniture": 2.0, "ebikes": 1.8, "appliances": 1.6, "vehicles": 1.5,
                    "education": 1.5, "telecoms": 1.3, "beauty": 1.2, "food": 1.0, "clothing": 0.9,
                    "property": 1.0, "other": 0.7}
PEAK = (3, 15)                  # consumer rights day
PEAK_HEIGHT = 2.0               # the day itself draws (1 + this) times its usual share
PEAK_WIDTH_DAYS = 4.0
DIP_FACTOR = 0.3                # a holiday day draws this share of a usual day
WEEKEND_FACTOR = 0.85
YEAR_GROWTH = 0.09
SATISFIED_SHARE = 0.93
SURVEY_ANSWER_SHARE = 0.65
STUCK_SHARE = 0.01              # complaints left open past their deadline

OPEN_STATUSES = ("received", "accepted", "with_merchant", "merchant_answered", "mediating")
OUTCOMES = ("resolved", "not_resolved", "rejected", "withdrawn")
# A complaint's way through the workflow.
PATHS = ("merchant", "mediated", "not_resolved", "rejected", "withdrawn")
PATH_WEIGHTS = (62, 14, 10, 8, 6)


@dataclass(frozen=True)
class Shop:
    """A shop cases can name: the caller's key (merchant id), town and category."""

    key: int
    town: str
    category: str
    exemplary: bool = False     # only cases resolved on time: kept eligible for nominations


@dataclass(frozen=True)
class Rise:
    """The planted rising problem: `problem_type` in `town`, climbing for `weeks` weeks."""

    town: str
    problem_type: str
    weeks: int = 4


@dataclass(frozen=True)
class Step:
    """One event of a case: its kind (the workflow's event kinds), the status it leads to,
    who acts and when (UTC)."""

    kind: str
    to_status: str
    actor: str                  # shopper | officer | merchant
    at: datetime


@dataclass(frozen=True)
class Case:
    number: int
    request_type: str
    problem_type: str
    shop: int                   # Shop.key
    received: datetime          # UTC
    path: str
    accept_days: int            # working days to acceptance (or rejection)
    close_days: int | None      # working days to closing; None: never (stuck)
    hold: str | None = None     # the handling stops after the step leading here
    planted: bool = False
    amount_paid_cents: int | None = None
    recoverable_cents: int = 0  # what a resolution by agreement recovers
    survey_answer: str | None = None   # what the shopper would answer, if asked
    steps: tuple[Step, ...] = field(default=(), compare=False)

    @property
    def status(self) -> str:
        return self.steps[-1].to_status

    @property
    def outcome(self) -> str | None:
        last = self.steps[-1]
        return last.kind if last.to_status == "closed" else None

    def step(self, kind: str) -> Step | None:
        return next((s for s in self.steps if s.kind == kind), None)


@dataclass(frozen=True)
class Plan:
    cases: list[Case]
    start: date                 # first local day of the year planned
    end: date                   # last (today)
    dip_days: frozenset[date]
    rise: Rise | None


# --- the year's shape -----------------------------------------------------------------------

# Spring Festival holidays for years the calendar package does not know yet (statutory
# days from the lunar calendar; the moved working days are not known).
_SPRING_FESTIVAL_FALLBACK = {2027: (date(2027, 2, 5), date(2027, 2, 8)),
                             2028: (date(2028, 1, 26), date(2028, 1, 29))}


def spring_festival_days(start: date, end: date) -> frozenset[date]:
    """The Spring Festival holiday days between start and end (inclusive)."""
    days = set()
    day = start
    while day <= end:
        try:
            is_holiday, name = chinese_calendar.get_holiday_detail(day)
            if is_holiday and name == chinese_calendar.Holiday.spring_festival.value:
                days.add(day)
        except NotImplementedError:
            first, last = _SPRING_FESTIVAL_FALLBACK.get(day.year, (date.max, date.max))
            if first <= day <= last:
                days.add(day)
        day += timedelta(days=1)
    return frozenset(days)


def day_weight(day: date, start: date, dip_days: frozenset[date]) -> float:
    """A day's share of the year's cases, before normalising."""
    weight = 1.0 if day.weekday() < 5 else WEEKEND_FACTOR
    peak = date(day.year, *PEAK)
    weight *= 1 + PEAK_HEIGHT * math.exp(-(((day - peak).days / PEAK_WIDTH_DAYS) ** 2))
    if day in dip_days:
        weight *= DIP_FACTOR
    return weight * (1 + YEAR_GROWTH * (day - start).days / 365)


def _shares(total: int, weights: dict[str, int]) -> dict[str, int]:
    """`total` split by `weights`, largest remainders first, summing exactly to `total`."""
    whole = sum(weights.values())
    raw = {k: total * w / whole for k, w in weights.items()}
    counts = {k: int(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: (counts[k] - raw[k], k))[:total - sum(counts.values())]:
        counts[k] += 1
    return counts


# --- planning ----------------------------------------------------------------------------

def plan_year(shops: Sequence[Shop], seed: int, now: datetime, calendar: WorkCalendar,
              rise: Rise | None = None, days: int = 365,
              dip_days: Iterable[date] | None = None) -> Plan:
    """The year of cases ending at `now`, for these shops, the same for the same seed."""
    if not shops:
        return Plan([], now.date(), now.date(), frozenset(), rise)
    rng = random.Random(seed)
    end = now.astimezone(LOCAL_TZ).date()
    start = end - timedelta(days=days - 1)
    dips = frozenset(dip_days) if dip_days is not None else spring_festival_days(start, end)
    day_list = [start + timedelta(days=i) for i in range(days)]
    day_cum = list(accumulate(day_weight(d, start, dips) for d in day_list))
    shop_cum = list(accumulate(CATEGORY_WEIGHTS.get(s.category, 1.0) * (0.3 if s.exemplary else 1.0)
                               for s in shops))
    problems = list(PROBLEM_WEIGHTS)
    problem_cum = list(accumulate(PROBLEM_WEIGHTS.values()))

    total = round(len(shops) * REQUESTS_PER_SHOP_YEAR * days / 365)
    kinds = [kind for kind, n in _shares(total, REQUEST_SHARES).items() for _ in range(n)]
    rng.shuffle(kinds)
    drafts = []
    for kind in kinds:
        day = day_list[bisect_right(day_cum, rng.random() * day_cum[-1])]
        shop = shops[bisect_right(shop_cum, rng.random() * shop_cum[-1])]
        problem = problems[bisect_right(problem_cum, rng.random() * problem_cum[-1])]
        drafts.append((kind, problem, shop, day, False))
    if rise is not None:
        drafts += _planted(rng, shops, rise, end, total / days * 7)
    drafts.sort(key=lambda d: d[3])
    cases = [_case(rng, n, kind, problem, shop, day, planted, now)
             for n, (kind, problem, shop, day, planted) in enumerate(drafts, start=1)]
    cases = _cover_every_state(cases, now, {s.key for s in shops if s.exemplary})
    cases = [replace(c, steps=timeline(c, now, calendar, random.Random(seed * 1_000_003 + c.number)))
             for c in cases]
    return Plan(cases, start, end, dips, rise)


def _planted(rng: random.Random, shops: Sequence[Shop], rise: Rise, end: date,
             weekly_mean: float) -> list[tuple[str, str, Shop, date, bool]]:
    """Complaints about the rising problem in its town: week k of the last weeks (k = 1 the
    oldest) brings k × step of them, on top of the usual cases."""
    in_town = [s for s in shops if s.town == rise.town and not s.exemplary] or \
        [s for s in shops if s.town == rise.town]
    if not in_town:
        return []
    # At least 3 more each week: in a small demo city the rise must still stand out from its
    # town's few cases within the weeks it lasts, for the spike rule (at least 5 in a week).
    step = max(3, round(weekly_mean * 0.12))
    drafts = []
    for week in range(1, rise.weeks + 1):
        first = end - timedelta(days=7 * (rise.weeks - week + 1) - 1)
        for _ in range(week * step):
            day = first + timedelta(days=rng.randrange(7))
            drafts.append(("complaint", rise.problem_type, rng.choice(in_town), day, True))
    return drafts


def _case(rng: random.Random, number: int, kind: str, problem: str, shop: Shop, day: date,
          planted: bool, now: datetime) -> Case:
    minute = rng.randrange(8 * 60, 21 * 60)
    received = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=LOCAL_TZ).astimezone(UTC)
    if received >= now:
        received = now - timedelta(minutes=rng.randrange(5, 120))
    roll = rng.random()
    accept_days = 0 if roll < 0.55 else 1 if roll < 0.985 else rng.choice((2, 3))
    paid = round(math.exp(rng.gauss(math.log(400), 1.0))) * 100
    if kind == "consultation":
        return Case(number, kind, problem, shop.key, received, "answered", accept_days,
                    accept_days + rng.choice((0, 0, 1)), planted=planted)
    if kind == "report":
        path = "reported" if rng.random() < 0.75 else "report_unresolved"
        return Case(number, kind, problem, shop.key, received, path, accept_days,
                    accept_days + rng.randint(2, 12), planted=planted)
    path = "merchant" if shop.exemplary else rng.choices(PATHS, PATH_WEIGHTS)[0]
    close_days: int | None = rng.randint(max(accept_days, 1), 7) if rng.random() < 0.88 or shop.exemplary \
        else rng.randint(8, 20)
    hold = None
    if not shop.exemplary and path in ("merchant", "mediated") and rng.random() < STUCK_SHARE:
        close_days, hold = None, rng.choice(("with_merchant", "mediating"))
    share = rng.choice((1.0, 1.0, 1.0, 0.5, 0.3))
    answer = rng.random()
    survey = None
    if rng.random() < SURVEY_ANSWER_SHARE:
        survey = "satisfied" if answer < SATISFIED_SHARE else "neutral" if answer < 0.97 else "dissatisfied"
    return Case(number, kind, problem, shop.key, received, path, accept_days, close_days, hold=hold,
                planted=planted, amount_paid_cents=paid, recoverable_cents=round(paid * share),
                survey_answer=survey)


def _cover_every_state(cases: list[Case], now: datetime, spared: set[int]) -> list[Case]:
    """Make sure a small demo still shows every status and outcome of a complaint, an
    overdue case and a late acceptance: the most recent complaints are held at each open
    status, an older one is left overdue, older ones take the missing outcomes."""
    complaints = [i for i, c in enumerate(cases) if c.request_type == "complaint" and c.shop not in spared]
    if not complaints:
        return cases
    recent = sorted(complaints, key=lambda i: cases[i].received, reverse=True)
    used: set[int] = set()

    def take(candidates: Iterable[int]) -> int | None:
        for i in candidates:
            if i not in used:
                used.add(i)
                return i
        return None

    holds = {"received": "merchant", "accepted": "merchant", "with_merchant": "merchant",
             "merchant_answered": "merchant", "mediating": "mediated"}
    for status, path in holds.items():
        i = take(recent)
        if i is not None:
            cases[i] = replace(cases[i], path=path, hold=status, close_days=None,
                               accept_days=min(cases[i].accept_days, 1))
    old = [i for i in recent if (now - cases[i].received) > timedelta(days=21)]
    i = take(old)
    if i is not None:  # past its completion deadline and still with the officer
        cases[i] = replace(cases[i], path="mediated", hold="mediating", close_days=None)
    i = take(old)
    if i is not None:
        cases[i] = replace(cases[i], path="merchant", accept_days=3, close_days=6, hold=None)
    for path in ("merchant", "not_resolved", "rejected", "withdrawn"):
        i = take(old)
        if i is not None:
            cases[i] = replace(cases[i], path=path, hold=None, close_days=max(cases[i].close_days or 1, 1))
    return cases


# --- each case's handling ------------------------------------------------------------------

def _moment(calendar: WorkCalendar, start: datetime, workdays: int, rng: random.Random) -> datetime:
    """A time during office hours `workdays` working days after `start` (0: later that day)."""
    if workdays == 0:
        return start + timedelta(minutes=rng.randint(20, 180))
    day = calendar.local_date(calendar.add_workdays(start, workdays))
    minute = rng.randrange(9 * 60, 17 * 60)
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=LOCAL_TZ).astimezone(UTC)


def _between(a: datetime, b: datetime, share: float) -> datetime:
    return a + (b - a) * share


def timeline(case: Case, now: datetime, calendar: WorkCalendar, rng: random.Random) -> tuple[Step, ...]:
    """The case's events up to `now` (or up to its hold): the same rules the workflow
    enforces, in working days of the calendar."""
    received = case.received
    steps = [Step("received", "received", "shopper", received)]
    decided = _moment(calendar, received, case.accept_days, rng)
    far = received + timedelta(days=3650)
    closing = _moment(calendar, received, max(case.close_days, case.accept_days), rng) \
        if case.close_days is not None else far
    forwarded = decided + timedelta(minutes=rng.randint(5, 90))
    if closing <= forwarded:
        closing = forwarded + timedelta(minutes=rng.randint(30, 240))
    planned: list[Step]
    if case.path == "rejected":
        planned = [Step("rejected", "closed", "officer", decided)]
    elif case.path in ("answered", "reported", "report_unresolved"):
        planned = [Step("accepted", "accepted", "officer", decided),
                   Step("not_resolved" if case.path == "report_unresolved" else "resolved", "closed", "officer",
                        closing)]
    elif case.path == "withdrawn":
        planned = [Step("accepted", "accepted", "officer", decided),
                   Step("withdrawn", "closed", "shopper", closing)]
    else:
        reply_end = closing if case.close_days is not None else \
            _moment(calendar, forwarded, 3, rng)
        replied = _between(forwarded, reply_end, 0.5)
        planned = [Step("accepted", "accepted", "officer", decided),
                   Step("forwarded", "with_merchant", "officer", forwarded),
                   Step("merchant_reply", "merchant_answered", "merchant", replied)]
        if case.path == "merchant":
            planned.append(Step("resolved", "closed", "shopper", closing))
        else:
            mediating = _between(replied, reply_end, 0.4) if case.close_days is not None else \
                replied + timedelta(hours=rng.randint(2, 30))
            planned += [Step("proposal_rejected", "mediating", "shopper", mediating),
                        Step("resolved" if case.path == "mediated" else "not_resolved", "closed", "officer",
                             closing)]
    for step in planned:
        if case.hold is not None and steps[-1].to_status == case.hold:
            break
        if step.at >= now:
            break
        steps.append(step)
    if case.hold is not None and steps[-1].to_status != case.hold:
        steps = _squeeze(steps[0], planned, case.hold, now)
    return tuple(steps)


def _squeeze(first: Step, planned: list[Step], hold: str, now: datetime) -> list[Step]:
    """A case held at a status it would not reach by `now`: its steps up to that status,
    spread between receipt and now (the most recent cases of a small demo)."""
    wanted = []
    for step in planned:
        wanted.append(step)
        if step.to_status == hold:
            break
    else:
        return [first]
    span = now - first.at
    return [first] + [replace(s, at=first.at + span * (k / (len(wanted) + 1)))
                      for k, s in enumerate(wanted, start=1)]
