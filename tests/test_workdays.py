"""Working days of the Chinese calendar (pledge_registry.workdays).

Dates below are the State Council schedules as shipped in chinese_calendar 1.11.0;
2027 and later have no package data.
"""

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pledge_registry import workdays
from pledge_registry.workdays import DayOverride, WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Staff-entered rows for 2027 (the real schedule is not in chinese_calendar 1.11.0).
STAFF_2027 = (
    DayOverride(date(2027, 1, 1), False, "New Year's Day"),
    DayOverride(date(2027, 2, 6), True, "Spring Festival (moved working Saturday)"),
    DayOverride(date(2027, 2, 8), False, "Spring Festival"),
)


@pytest.fixture(autouse=True)
def fresh_fallback_warnings(monkeypatch):
    """Each test sees the once-per-process fallback warning as not yet given."""
    monkeypatch.setattr(workdays, "_warned_years", set())


@pytest.fixture
def calendar():
    return WorkCalendar()


def shanghai(*args):
    return datetime(*args, tzinfo=SHANGHAI)


def end_of_day_utc(day):
    """23:59:59.999999 Shanghai time on `day`, expressed in UTC."""
    return datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=SHANGHAI).astimezone(UTC)


# --- single days against the real calendar ---------------------------------------------


@pytest.mark.parametrize(
    "day, expected",
    [
        # Mid-Autumn 2026: Fri 25 Sep - Sun 27 Sep.
        (date(2026, 9, 24), True),
        (date(2026, 9, 25), False),  # a Friday, holiday
        (date(2026, 9, 27), False),
        (date(2026, 9, 28), True),
        # National Day 2026: Thu 1 Oct - Wed 7 Oct, with moved working days around it.
        (date(2026, 9, 20), True),  # Sunday worked
        (date(2026, 9, 30), True),
        (date(2026, 10, 1), False),
        (date(2026, 10, 5), False),  # a Monday, holiday
        (date(2026, 10, 7), False),  # a Wednesday, holiday
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # Saturday worked
        (date(2026, 10, 11), False),  # plain Sunday
        # Spring Festival 2026: Sun 15 Feb - Mon 23 Feb.
        (date(2026, 2, 13), True),
        (date(2026, 2, 14), True),  # Saturday worked
        (date(2026, 2, 15), False),
        (date(2026, 2, 16), False),
        (date(2026, 2, 20), False),
        (date(2026, 2, 23), False),  # a Monday, holiday
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday worked
        # Labour Day 2026: Saturday 9 May worked.
        (date(2026, 5, 5), False),
        (date(2026, 5, 9), True),
        # New Year 2026: Sunday 4 January worked.
        (date(2026, 1, 2), False),
        (date(2026, 1, 4), True),
    ],
)
def test_is_workday_2026(calendar, day, expected):
    assert calendar.is_workday(day) is expected


def test_is_workday_rejects_datetime(calendar):
    with pytest.raises(TypeError):
        calendar.is_workday(datetime(2026, 10, 8, 9, 0, tzinfo=UTC))


# --- deadlines -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "received, n, due",
    [
        # Received on Mid-Autumn Friday: the weekend is part of the holiday.
        (shanghai(2026, 9, 25, 10, 0), 1, date(2026, 9, 28)),
        # Received before National Day: the whole week off, then Thursday.
        (shanghai(2026, 9, 30, 10, 0), 1, date(2026, 10, 8)),
        (shanghai(2026, 9, 30, 10, 0), 3, date(2026, 10, 10)),  # the working Saturday
        (shanghai(2026, 9, 30, 10, 0), 4, date(2026, 10, 12)),
        # Friday 18 Sep: Sunday 20 Sep is worked, so it is the next working day.
        (shanghai(2026, 9, 18, 16, 0), 1, date(2026, 9, 20)),
        # Received on a holiday.
        (shanghai(2026, 10, 3, 11, 0), 0, date(2026, 10, 8)),
        (shanghai(2026, 10, 3, 11, 0), 1, date(2026, 10, 8)),
        (shanghai(2026, 10, 3, 11, 0), 2, date(2026, 10, 9)),
        (shanghai(2026, 10, 1, 9, 0), 7, date(2026, 10, 15)),
        # Spring Festival: the working Saturday before it, the week off, the one after.
        (shanghai(2026, 2, 13, 17, 0), 1, date(2026, 2, 14)),
        (shanghai(2026, 2, 14, 17, 0), 1, date(2026, 2, 24)),
        (shanghai(2026, 2, 14, 17, 0), 5, date(2026, 2, 28)),
        (shanghai(2026, 2, 14, 17, 0), 7, date(2026, 3, 3)),
        # n = 0: the same day if it is a working day.
        (shanghai(2026, 9, 30, 10, 0), 0, date(2026, 9, 30)),
        (shanghai(2026, 10, 10, 10, 0), 0, date(2026, 10, 10)),
        # Across New Year 2025 -> 2026: 1-3 Jan off, Sunday 4 Jan worked.
        (shanghai(2025, 12, 31, 10, 0), 1, date(2026, 1, 4)),
        (shanghai(2025, 12, 26, 10, 0), 7, date(2026, 1, 7)),
    ],
)
def test_add_workdays(calendar, received, n, due):
    deadline = calendar.add_workdays(received, n)
    assert deadline == end_of_day_utc(due)
    assert deadline.tzinfo == UTC


def test_add_workdays_rejects_negative(calendar):
    with pytest.raises(ValueError):
        calendar.add_workdays(shanghai(2026, 9, 30, 10, 0), -1)


@pytest.mark.parametrize(
    "overrides, received, n, due",
    [
        # No 2027 data: 1 Jan 2027 (a Friday) falls back to a working day.
        ((), shanghai(2026, 12, 31, 10, 0), 1, date(2027, 1, 1)),
        ((), shanghai(2026, 12, 25, 10, 0), 7, date(2027, 1, 5)),
        # With the staff's 2027 rows, 1 Jan 2027 is a holiday.
        (STAFF_2027, shanghai(2026, 12, 31, 10, 0), 1, date(2027, 1, 4)),
        (STAFF_2027, shanghai(2026, 12, 25, 10, 0), 7, date(2027, 1, 6)),
    ],
)
def test_deadline_across_2026_2027(overrides, received, n, due):
    assert WorkCalendar(overrides).add_workdays(received, n) == end_of_day_utc(due)


# --- elapsed working days --------------------------------------------------------------


@pytest.mark.parametrize(
    "received, handled, elapsed",
    [
        (shanghai(2026, 9, 30, 9, 0), shanghai(2026, 9, 30, 18, 0), 0),  # same day
        (shanghai(2026, 9, 29, 9, 0), shanghai(2026, 9, 30, 9, 0), 1),  # next working day
        (shanghai(2026, 9, 30, 9, 0), shanghai(2026, 10, 8, 9, 0), 1),  # over National Day
        (shanghai(2026, 9, 30, 9, 0), shanghai(2026, 10, 10, 9, 0), 3),  # working Saturday
        (shanghai(2026, 9, 30, 9, 0), shanghai(2026, 9, 29, 9, 0), 0),  # end before start
        # Handled on a non-working day: counts as the next working day, so a Saturday
        # after a working Friday is late for a 1-day deadline...
        (shanghai(2026, 9, 17, 9, 0), shanghai(2026, 9, 19, 9, 0), 2),
        # ...but not after the Mid-Autumn Friday, when the next working day is Monday.
        (shanghai(2026, 9, 24, 9, 0), shanghai(2026, 9, 26, 9, 0), 1),
        (shanghai(2026, 10, 9, 9, 0), shanghai(2026, 10, 11, 9, 0), 2),
        # Received on a holiday: handled on the first working day counts 0, then as usual.
        (shanghai(2026, 10, 3, 9, 0), shanghai(2026, 10, 8, 9, 0), 0),
        (shanghai(2026, 10, 3, 9, 0), shanghai(2026, 10, 9, 9, 0), 2),
        # Across New Year 2025 -> 2026.
        (shanghai(2025, 12, 31, 9, 0), shanghai(2026, 1, 5, 9, 0), 2),
    ],
)
def test_workdays_between(calendar, received, handled, elapsed):
    assert calendar.workdays_between(received, handled) == elapsed


# --- time zones ------------------------------------------------------------------------


def test_late_evening_counts_as_the_local_date(calendar):
    event = datetime(2026, 9, 30, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    assert calendar.local_date(event) == date(2026, 9, 30)
    assert calendar.add_workdays(event, 0) == datetime(2026, 9, 30, 15, 59, 59, 999999, tzinfo=UTC)
    assert calendar.add_workdays(event, 1) == end_of_day_utc(date(2026, 10, 8))
    assert calendar.workdays_between(event, shanghai(2026, 10, 8, 9, 0)) == 1


def test_just_after_local_midnight_is_the_next_day(calendar):
    event = datetime(2026, 9, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 October in Shanghai
    assert calendar.local_date(event) == date(2026, 10, 1)
    assert calendar.add_workdays(event, 0) == end_of_day_utc(date(2026, 10, 8))


def test_other_time_zone_offsets_are_converted(calendar):
    event = datetime(2026, 9, 30, 11, 30, tzinfo=ZoneInfo("America/New_York"))  # 23:30 Shanghai
    assert calendar.local_date(event) == date(2026, 9, 30)


@pytest.mark.parametrize("method", ["add_workdays", "workdays_between"])
def test_naive_datetime_is_rejected(calendar, method):
    naive = datetime(2026, 9, 30, 10, 0)
    aware = shanghai(2026, 9, 30, 10, 0)
    with pytest.raises(ValueError, match="naive"):
        if method == "add_workdays":
            calendar.add_workdays(naive, 1)
        else:
            calendar.workdays_between(aware, naive)


# --- years without package data ---------------------------------------------------------


def test_2027_without_data_falls_back_to_monday_to_friday(calendar, caplog):
    caplog.set_level(logging.WARNING, logger=workdays.logger.name)
    assert calendar.has_data(2027) is False
    assert calendar.is_workday(date(2027, 1, 1)) is True  # a Friday; really New Year's Day
    assert calendar.is_workday(date(2027, 1, 2)) is False  # Saturday
    assert calendar.is_workday(date(2027, 2, 8)) is True  # Monday
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2027" in warnings[0].getMessage()


def test_fallback_warning_is_logged_once_per_year_per_process(caplog):
    caplog.set_level(logging.WARNING, logger=workdays.logger.name)
    WorkCalendar().is_workday(date(2027, 3, 1))
    WorkCalendar().is_workday(date(2027, 3, 2))
    WorkCalendar().is_workday(date(2028, 3, 1))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "2027" in warnings[0] and "2028" in warnings[1]


def test_2027_with_staff_rows_honours_them(caplog):
    caplog.set_level(logging.WARNING, logger=workdays.logger.name)
    calendar = WorkCalendar(STAFF_2027)
    assert calendar.has_data(2027) is True
    assert calendar.is_workday(date(2027, 1, 1)) is False
    assert calendar.is_workday(date(2027, 2, 6)) is True  # Saturday worked
    assert calendar.is_workday(date(2027, 2, 8)) is False  # Monday off
    assert calendar.is_workday(date(2027, 2, 9)) is True  # no row: Monday-Friday
    assert calendar.is_workday(date(2027, 2, 13)) is False
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize(
    "override, expected",
    [
        (DayOverride(date(2026, 10, 5), True, "extra working day"), True),  # package: holiday
        (DayOverride(date(2026, 9, 28), False, "local holiday"), False),  # package: workday
        (DayOverride(date(2026, 10, 11), True, "working Sunday"), True),  # package: weekend
    ],
)
def test_override_wins_over_package(override, expected):
    assert WorkCalendar([override]).is_workday(override.day) is expected


def test_override_moves_deadlines():
    calendar = WorkCalendar([DayOverride(date(2026, 10, 5), True, "extra working day")])
    assert calendar.add_workdays(shanghai(2026, 9, 30, 10, 0), 1) == end_of_day_utc(date(2026, 10, 5))


def test_conflicting_overrides_are_rejected():
    with pytest.raises(ValueError):
        WorkCalendar([DayOverride(date(2027, 1, 1), False), DayOverride(date(2027, 1, 1), True)])


@pytest.mark.parametrize(
    "overrides, start, end, expected",
    [
        ((), date(2025, 6, 1), date(2028, 1, 1), [2027, 2028]),
        (STAFF_2027, date(2025, 6, 1), date(2028, 1, 1), [2028]),
        ((), date(2004, 1, 1), date(2026, 12, 31), []),
        ((), date(2003, 12, 31), date(2004, 1, 1), [2003]),
        ((), date(2028, 1, 1), date(2027, 1, 1), []),
    ],
)
def test_years_without_data(overrides, start, end, expected):
    assert WorkCalendar(overrides).years_without_data(start, end) == expected


@pytest.mark.parametrize(
    "overrides, today, expected",
    [
        ((), date(2025, 12, 1), []),
        ((), date(2026, 3, 1), [2027]),
        ((), date(2027, 3, 1), [2027, 2028]),
        (STAFF_2027, date(2026, 3, 1), []),
        (STAFF_2027, date(2027, 3, 1), [2028]),
    ],
)
def test_missing_data_warning(overrides, today, expected):
    assert WorkCalendar(overrides).missing_data_warning(today) == expected


# --- properties ------------------------------------------------------------------------

_CALENDARS = (WorkCalendar(), WorkCalendar(STAFF_2027))

moments = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2028, 12, 31, 23, 59),
    timezones=st.sampled_from([UTC, SHANGHAI, ZoneInfo("America/New_York")]),
)


@settings(max_examples=300, deadline=None)
@given(
    calendar=st.sampled_from(_CALENDARS),
    start=moments,
    end=moments,
    n=st.integers(min_value=0, max_value=40),
)
def test_deadline_and_elapsed_agree(calendar, start, end, n):
    assert (end <= calendar.add_workdays(start, n)) == (calendar.workdays_between(start, end) <= n)


@settings(max_examples=300, deadline=None)
@given(calendar=st.sampled_from(_CALENDARS), start=moments, n=st.integers(min_value=1, max_value=400))
def test_add_workdays_matches_a_day_by_day_walk(calendar, start, n):
    day = calendar.local_date(start)
    remaining = n
    while remaining:
        day += timedelta(days=1)
        remaining -= calendar.is_workday(day)
    assert calendar.add_workdays(start, n) == end_of_day_utc(day)


@settings(max_examples=300, deadline=None)
@given(calendar=st.sampled_from(_CALENDARS), start=moments, end=moments)
def test_elapsed_is_a_plain_count_between_working_days(calendar, start, end):
    first, last = calendar.local_date(start), calendar.local_date(end)
    if not (calendar.is_workday(first) and calendar.is_workday(last)):
        return
    count = sum(
        calendar.is_workday(first + timedelta(days=i)) for i in range(1, (last - first).days + 1)
    )
    expected = count if end > start else 0
    assert calendar.workdays_between(start, end) == expected
