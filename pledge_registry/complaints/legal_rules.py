"""The legal time limits for complaints, as versioned rule sets, and their arithmetic.

The limits are law, not configuration: each rule set is the text of one SAMR order, with
the date it took effect, and a case is governed by the set in force on the day it was
received (`rules_for`). The bureau's own targets (complaints.deadlines) are stricter and
are measured beside them (`assess`): a case can be on time legally and late against the
target.

Counting, as both orders state it: day one is the day after the event; a limit in working
days counts working days of the Chinese calendar (workdays.WorkCalendar); a limit in days
is calendar days, and one that ends on a non-working day moves to the next working day.
The time a case's clock was stopped (a test or an appraisal, which the orders do not
count) is added back: a stop from day S to day E removes the days after S up to and
including E (working days for a working-day limit, calendar days for a calendar one).

Article numbers: `Limit.article` names the article only where it was checked against a
published copy of the order; None means it could not be checked here (see SOURCES).

Pure module: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from ..workdays import WorkCalendar

_END_OF_DAY = time(23, 59, 59, 999999)


class Unit(StrEnum):
    WORKDAYS = "workdays"
    DAYS = "days"  # calendar days; an end on a non-working day moves to the next working day


class Step(StrEnum):
    ACCEPTANCE = "acceptance"                  # accept or refuse, from receipt
    MEDIATION = "mediation"                    # mediation ends without agreement, from acceptance
    TERMINATION_NOTICE = "termination_notice"  # tell both sides mediation ended, from that decision
    VIOLATION_CHECK = "violation_check"        # check a violation found while mediating, from the finding


@dataclass(frozen=True)
class Limit:
    step: Step
    amount: int
    unit: Unit
    extension: int = 0         # may be extended once by this much (same unit); 0: no extension
    article: int | None = None  # the article's number (14: 第十四条); None: not checked against the published text


@dataclass(frozen=True)
class RuleSet:
    code: str
    title: str            # the order's official name
    order: str            # its number
    effective_from: date  # applies to cases received on or after this day
    limits: tuple[Limit, ...]
    source: str           # where the text was checked, and what could not be

    def limit(self, step: Step) -> Limit | None:
        return next((lim for lim in self.limits if lim.step == step), None)


SAMR_ORDER_20 = RuleSet(
    code="samr-20",
    title="市场监督管理投诉举报处理暂行办法",
    order="国家市场监督管理总局令第20号",
    effective_from=date(2020, 1, 1),
    limits=(
        Limit(Step.ACCEPTANCE, 7, Unit.WORKDAYS, article=14),
        Limit(Step.MEDIATION, 45, Unit.WORKDAYS, article=21),
        Limit(Step.TERMINATION_NOTICE, 7, Unit.WORKDAYS, article=21),
    ),
    source=("Published 2019-11-30, in force 2020-01-01. Articles 14 and 21 were checked against "
            "published quotations of the text (again in December 2026, for the admin page); the "
            "article that leaves testing and appraisal time out of the limits could not be checked here."),
)

SAMR_ORDER_121 = RuleSet(
    code="samr-121",
    title="市场监督管理投诉举报处理办法",
    order="国家市场监督管理总局令第121号",
    effective_from=date(2026, 4, 15),
    limits=(
        Limit(Step.ACCEPTANCE, 7, Unit.WORKDAYS),
        Limit(Step.MEDIATION, 60, Unit.DAYS),
        Limit(Step.TERMINATION_NOTICE, 7, Unit.WORKDAYS),
        Limit(Step.VIOLATION_CHECK, 15, Unit.WORKDAYS, extension=15),
    ),
    source=("Published 2025-12-30, in force 2026-04-15, replacing Order 20. Only articles 1 to 7 "
            "of the published text could be read here, and a second search (December 2026, for the "
            "admin page) found no copy of the articles that set these limits either: they could "
            "not be checked, so none is named. Check them against the text on samr.gov.cn."),
)

# Oldest first; each set applies until the next one takes effect.
RULE_SETS: tuple[RuleSet, ...] = (SAMR_ORDER_20, SAMR_ORDER_121)


def rules_for(received_on: date) -> RuleSet:
    """The rule set in force on the day a case was received (the oldest before the first)."""
    chosen = RULE_SETS[0]
    for rules in RULE_SETS:
        if rules.effective_from <= received_on:
            chosen = rules
    return chosen


@dataclass(frozen=True)
class Stop:
    """A stop of the clock; `end` None while it is still stopped."""

    start: datetime
    end: datetime | None = None


def _end_of(cal: WorkCalendar, day: date) -> datetime:
    return datetime.combine(day, _END_OF_DAY, tzinfo=cal.tz).astimezone(UTC)


def _stopped_days(cal: WorkCalendar, stop: Stop, unit: Unit, now: datetime) -> int:
    """Days the stop takes out of a limit: those after its first day, up to its last."""
    first = cal.local_date(stop.start)
    last = cal.local_date(stop.end or now)
    if last <= first:
        return 0
    if unit == Unit.DAYS:
        return (last - first).days
    return sum(1 for i in range(1, (last - first).days + 1) if cal.is_workday(first + timedelta(days=i)))


def _plain_due(cal: WorkCalendar, start: datetime, amount: int, unit: Unit) -> datetime:
    if unit == Unit.WORKDAYS:
        return cal.add_workdays(start, amount)
    day = cal.local_date(start) + timedelta(days=amount)
    while not cal.is_workday(day):
        day += timedelta(days=1)
    return _end_of(cal, day)


def due(cal: WorkCalendar, start: datetime, amount: int, unit: Unit, stops: Sequence[Stop] = (),
        now: datetime | None = None) -> datetime:
    """The end of "within `amount` days of `start`", with the clock's stops added back.

    A stop counts only if it began before the limit (as extended by earlier stops) ran
    out; one still open runs to `now` (needed then), so the limit moves on while it lasts.
    """
    total = amount
    result = _plain_due(cal, start, total, unit)
    for given in sorted(stops, key=lambda s: s.start):
        if given.end is not None and given.end <= start:
            continue  # over before this limit began
        # Stopped before the limit began: it counts from the start.
        stop = Stop(start, given.end) if given.start < start else given
        if stop.start > result:
            continue
        if stop.end is None and now is None:
            raise ValueError("an open stop needs `now`")
        total += _stopped_days(cal, stop, unit, now or stop.start)
        result = _plain_due(cal, start, total, unit)
    return result


def limit_due(cal: WorkCalendar, limit: Limit, start: datetime, stops: Sequence[Stop] = (),
              now: datetime | None = None, extended: bool = False) -> datetime:
    """When a step of a rule set is due, counted from `start` (its extension if `extended`)."""
    if extended and not limit.extension:
        raise ValueError(f"{limit.step} cannot be extended")
    return due(cal, start, limit.amount + (limit.extension if extended else 0), limit.unit, stops, now)


@dataclass(frozen=True)
class Targets:
    """The bureau's (or a station's) own targets, in working days from receipt."""

    acceptance_days: int
    completion_days: int


@dataclass(frozen=True)
class Measure:
    """One deadline of a case, legal or target: when it is due, and whether it was met.

    `met` is None while the step is not done and the deadline has not passed."""

    due: datetime
    done_at: datetime | None
    met: bool | None


@dataclass(frozen=True)
class CaseClock:
    rules: RuleSet
    legal_acceptance: Measure
    target_acceptance: Measure
    legal_completion: Measure | None  # the mediation limit; None before acceptance
    target_completion: Measure
    stopped: bool                     # the clock is stopped now


def _measure(due_at: datetime, done_at: datetime | None, now: datetime) -> Measure:
    if done_at is not None:
        return Measure(due_at, done_at, done_at <= due_at)
    return Measure(due_at, None, False if now > due_at else None)


def assess(cal: WorkCalendar, targets: Targets, received_at: datetime, accepted_at: datetime | None,
           decided_at: datetime | None, closed_at: datetime | None, stops: Sequence[Stop],
           now: datetime) -> CaseClock:
    """A case's legal deadlines beside its targets counted from receipt, each measured.

    `accepted_at` is when it was accepted; `decided_at` when acceptance was decided either
    way (accepted, or refused: the refusal closes it); `closed_at` when it was closed."""
    return measure_case(
        cal, due(cal, received_at, targets.acceptance_days, Unit.WORKDAYS, stops, now),
        due(cal, received_at, targets.completion_days, Unit.WORKDAYS, stops, now),
        received_at, accepted_at, decided_at, closed_at, stops, now)


def measure_case(cal: WorkCalendar, target_acceptance_due: datetime, target_completion_due: datetime,
                 received_at: datetime, accepted_at: datetime | None, decided_at: datetime | None,
                 closed_at: datetime | None, stops: Sequence[Stop], now: datetime) -> CaseClock:
    """As `assess`, with the target deadlines given (a case stores its own: a station's
    targets, a hand-over to the bureau and the stops have already moved them)."""
    rules = rules_for(cal.local_date(received_at))
    acceptance = rules.limit(Step.ACCEPTANCE)
    mediation = rules.limit(Step.MEDIATION)
    assert acceptance is not None and mediation is not None  # every rule set has both
    legal_acceptance = _measure(limit_due(cal, acceptance, received_at, stops, now), decided_at, now)
    legal_completion = None
    if accepted_at is not None:
        legal_completion = _measure(limit_due(cal, mediation, accepted_at, stops, now), closed_at, now)
    return CaseClock(rules, legal_acceptance, _measure(target_acceptance_due, decided_at, now),
                     legal_completion, _measure(target_completion_due, closed_at, now),
                     stopped=any(s.end is None for s in stops))


def stopped_workdays(cal: WorkCalendar, stop: Stop, now: datetime | None = None) -> int:
    """The working days a stop takes out of a working-day limit."""
    if stop.end is None and now is None:
        raise ValueError("an open stop needs `now`")
    return _stopped_days(cal, stop, Unit.WORKDAYS, now or stop.start)
