"""The legal time limits (SAMR Orders 20 and 121) beside the bureau's targets: pure arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from pledge_registry.complaints.legal_rules import (
    RULE_SETS,
    SAMR_ORDER_20,
    SAMR_ORDER_121,
    Step,
    Stop,
    Targets,
    Unit,
    assess,
    due,
    limit_due,
    rules_for,
)
from pledge_registry.workdays import DayOverride, WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
BUREAU = Targets(acceptance_days=1, completion_days=7)


def at(y: int, m: int, d: int, hour: int = 10) -> datetime:
    return datetime(y, m, d, hour, tzinfo=TZ)


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime.combine(date(y, m, d), time(23, 59, 59, 999999), tzinfo=TZ).astimezone(UTC)


def nth_workday_after(day: date, n: int) -> date:
    """An oracle apart from WorkCalendar: walk the package's calendar one day at a time."""
    while n:
        day += timedelta(days=1)
        n -= chinese_calendar.is_workday(day)
    return day


def test_a_case_is_governed_by_the_rules_in_force_on_the_day_it_was_received() -> None:
    assert rules_for(date(2026, 4, 14)) is SAMR_ORDER_20
    assert rules_for(date(2026, 4, 15)) is SAMR_ORDER_121
    assert rules_for(date(2019, 6, 1)) is SAMR_ORDER_20  # before the first known set: the oldest
    assert [r.effective_from for r in RULE_SETS] == sorted(r.effective_from for r in RULE_SETS)


def test_no_article_number_is_named_that_was_not_checked() -> None:
    """Order 121's limits could not be checked against its text here: none names an article."""
    assert all(limit.article is None for limit in SAMR_ORDER_121.limits)
    assert "could not be checked" in SAMR_ORDER_121.source


# --- Order 20 (cases received before 2026-04-15) -----------------------------------------

def test_order_20_acceptance_across_the_2026_spring_festival() -> None:
    """Received Friday 13 Feb 2026: Saturday 14th is a moved working day (1), 15-23 Feb the
    festival, then 24, 25, 26, 27, Saturday 28 (moved), Monday 2 March (7)."""
    received = at(2026, 2, 13)
    limit = SAMR_ORDER_20.limit(Step.ACCEPTANCE)
    assert limit is not None and (limit.amount, limit.unit) == (7, Unit.WORKDAYS)
    assert limit_due(CAL, limit, received) == end_of(2026, 3, 2)
    assert due(CAL, received, BUREAU.acceptance_days, Unit.WORKDAYS) == end_of(2026, 2, 14)


def test_order_20_mediation_counts_45_working_days_over_the_2026_holidays() -> None:
    accepted = at(2026, 3, 20)
    limit = SAMR_ORDER_20.limit(Step.MEDIATION)
    assert limit is not None
    expected = nth_workday_after(date(2026, 3, 20), 45)  # over Qingming and May Day
    assert limit_due(CAL, limit, accepted) == end_of(expected.year, expected.month, expected.day)
    assert expected == date(2026, 5, 27)


def test_order_20_mediation_with_a_paused_clock() -> None:
    """A stop for a test from 1 April to 10 April takes out the working days after the 1st up
    to the 10th: 2, 3, 7, 8, 9, 10 (4-6 April is Qingming), six of them."""
    accepted = at(2026, 3, 20)
    limit = SAMR_ORDER_20.limit(Step.MEDIATION)
    assert limit is not None
    stops = [Stop(at(2026, 4, 1, 9), at(2026, 4, 10, 17))]
    expected = nth_workday_after(date(2026, 3, 20), 45 + 6)
    assert limit_due(CAL, limit, accepted, stops) == end_of(expected.year, expected.month, expected.day)


# --- Order 121 (cases received from 2026-04-15) ------------------------------------------

def test_order_121_acceptance_across_may_day_2026() -> None:
    """Received Thursday 30 April; 1-5 May off; 6, 7, 8, Saturday 9 (moved), 11, 12, 13."""
    received = at(2026, 4, 30)
    clock = assess(CAL, BUREAU, received, None, None, None, (), now=received)
    assert clock.rules is SAMR_ORDER_121
    assert clock.legal_acceptance.due == end_of(2026, 5, 13)
    assert clock.target_acceptance.due == end_of(2026, 5, 6)


def test_order_121_acceptance_across_national_day_2026() -> None:
    """Received Wednesday 30 September; 1-7 October off; 8, 9, Saturday 10 (moved), 12-15."""
    received = at(2026, 9, 30, 15)
    clock = assess(CAL, BUREAU, received, None, None, None, (), now=received)
    assert clock.legal_acceptance.due == end_of(2026, 10, 15)
    assert clock.target_acceptance.due == end_of(2026, 10, 8)
    assert clock.target_completion.due == end_of(2026, 10, 15)


def test_sixty_calendar_days_across_the_2026_spring_festival() -> None:
    """The festival's days count (calendar days); the 60th day, 18 February 2026, is inside it,
    so the limit moves to the first working day after it: Tuesday 24 February."""
    limit = SAMR_ORDER_121.limit(Step.MEDIATION)
    assert limit is not None and (limit.amount, limit.unit) == (60, Unit.DAYS)
    assert limit_due(CAL, limit, at(2025, 12, 20)) == end_of(2026, 2, 24)
    assert limit_due(CAL, limit, at(2025, 12, 1)) == end_of(2026, 1, 30)  # a working Friday: kept


def test_sixty_calendar_days_across_the_2027_spring_festival_as_staff_entered_it() -> None:
    """No package has 2027: staff enter 5-8 February 2027 as holidays. Accepted 7 December
    2026, the 60th day is Friday 5 February, a holiday; the weekend and Monday 8th too."""
    limit = SAMR_ORDER_121.limit(Step.MEDIATION)
    assert limit is not None
    festival = WorkCalendar(DayOverride(date(2027, 2, d), False, "春节") for d in (5, 6, 7, 8))
    assert limit_due(festival, limit, at(2026, 12, 7)) == end_of(2027, 2, 9)
    assert limit_due(festival, limit, at(2026, 12, 20)) == end_of(2027, 2, 18)  # after it: unchanged


def test_order_121_acceptance_with_a_paused_clock_over_dragon_boat() -> None:
    """Received Monday 15 June: 16, 17, 18, (19 off), 22, 23, 24, 25. A stop from the 17th to
    the 23rd takes out the 18th, 22nd and 23rd: three more working days, to 30 June."""
    received = at(2026, 6, 15)
    limit = SAMR_ORDER_121.limit(Step.ACCEPTANCE)
    assert limit is not None
    assert limit_due(CAL, limit, received) == end_of(2026, 6, 25)
    stops = [Stop(at(2026, 6, 17, 9), at(2026, 6, 23, 16))]
    assert limit_due(CAL, limit, received, stops) == end_of(2026, 6, 30)


def test_an_open_stop_moves_the_limit_on_while_it_lasts() -> None:
    received = at(2026, 6, 15)
    limit = SAMR_ORDER_121.limit(Step.ACCEPTANCE)
    assert limit is not None
    stops = [Stop(at(2026, 6, 17, 9))]
    assert limit_due(CAL, limit, received, stops, now=at(2026, 6, 22, 12)) == end_of(2026, 6, 29)
    with pytest.raises(ValueError):
        limit_due(CAL, limit, received, stops)  # an open stop needs the time now
    clock = assess(CAL, BUREAU, received, None, None, None, stops, now=at(2026, 6, 26, 12))
    assert clock.stopped and clock.legal_acceptance.met is None  # not late while the clock is stopped


def test_sixty_calendar_days_with_a_paused_clock() -> None:
    """Accepted 10 May: day 60 is 9 July. A ten-day stop (20 to 30 May) makes it Sunday 19
    July, which moves to Monday 20 July."""
    limit = SAMR_ORDER_121.limit(Step.MEDIATION)
    assert limit is not None
    accepted = at(2026, 5, 10)
    assert limit_due(CAL, limit, accepted) == end_of(2026, 7, 9)
    stops = [Stop(at(2026, 5, 20), at(2026, 5, 30))]
    assert limit_due(CAL, limit, accepted, stops) == end_of(2026, 7, 20)


def test_a_stop_after_the_limit_ran_out_does_not_revive_it() -> None:
    received = at(2026, 6, 15)
    limit = SAMR_ORDER_121.limit(Step.ACCEPTANCE)
    assert limit is not None
    late_stop = [Stop(at(2026, 6, 29), at(2026, 7, 10))]
    assert limit_due(CAL, limit, received, late_stop) == end_of(2026, 6, 25)


def test_a_violation_check_is_15_working_days_extendable_once_by_15() -> None:
    limit = SAMR_ORDER_121.limit(Step.VIOLATION_CHECK)
    assert limit is not None
    found = at(2026, 9, 21)
    once = nth_workday_after(date(2026, 9, 21), 15)
    twice = nth_workday_after(date(2026, 9, 21), 30)
    assert limit_due(CAL, limit, found) == end_of(once.year, once.month, once.day)
    assert limit_due(CAL, limit, found, extended=True) == end_of(twice.year, twice.month, twice.day)
    acceptance = SAMR_ORDER_121.limit(Step.ACCEPTANCE)
    assert acceptance is not None
    with pytest.raises(ValueError):
        limit_due(CAL, acceptance, found, extended=True)


def test_on_time_legally_and_late_against_the_target_are_both_measured() -> None:
    """Accepted on the third working day (target 1, law 7) and closed after 3 weeks (target 7
    working days from receipt, law 60 days of mediation)."""
    received = at(2026, 6, 1)
    accepted = at(2026, 6, 4)
    closed = at(2026, 6, 22)
    clock = assess(CAL, BUREAU, received, accepted, accepted, closed, (), now=at(2026, 7, 1))
    assert clock.target_acceptance.met is False and clock.legal_acceptance.met is True
    assert clock.target_completion.met is False
    assert clock.legal_completion is not None and clock.legal_completion.met is True
    assert clock.legal_completion.due == end_of(2026, 8, 3)  # 60 days: Sunday 2 August → Monday


def test_an_open_case_past_a_deadline_is_late_and_before_it_undecided() -> None:
    received = at(2026, 6, 1)
    before = assess(CAL, BUREAU, received, None, None, None, (), now=at(2026, 6, 2))
    assert before.target_acceptance.met is None and before.legal_completion is None
    after = assess(CAL, BUREAU, received, None, None, None, (), now=at(2026, 6, 11))
    assert after.target_acceptance.met is False and after.legal_acceptance.met is False
