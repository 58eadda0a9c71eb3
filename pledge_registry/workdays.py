"""Working days of the Chinese calendar, for complaint deadlines.

Public holidays in China move weekends (调休): a Saturday or Sunday can be a working day
and a weekday a holiday. The ``chinese_calendar`` package knows the State Council
schedules it was released with (2004-2026 in v1.11.0) and raises NotImplementedError
outside them. Staff keep a holiday table for later years; the caller loads its rows and
passes them in as ``DayOverride`` values. A year with neither source falls back to
Monday-Friday, and says so: ``missing_data_warning`` for the staff banner, and a logged
WARNING once per year per process.

Pure module: no Flask, no database.
"""

from __future__ import annotations

import logging
import threading
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import chinese_calendar

from .localtime import LOCAL_TZ

logger = logging.getLogger(__name__)

_END_OF_DAY = time(23, 59, 59, 999999)

# Years already reported as falling back to Monday-Friday in this process.
_warned_years: set[int] = set()
_warned_lock = threading.Lock()


@dataclass(frozen=True)
class DayOverride:
    """A staff-entered calendar row: this day is (or is not) a working day."""

    day: date
    is_workday: bool
    name: str = ""


@cache
def _package_workdays(year: int) -> frozenset[date] | None:
    """The working days of `year` according to chinese_calendar, or None if it has no data."""
    first = date(year, 1, 1)
    try:
        chinese_calendar.is_workday(first)
    except NotImplementedError:
        return None
    days = (first + timedelta(days=i) for i in range(_days_in_year(year)))
    return frozenset(d for d in days if chinese_calendar.is_workday(d))


def _days_in_year(year: int) -> int:
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days


def _day_of_year(day: date) -> int:
    """1 for January 1st."""
    return day.toordinal() - date(day.year, 1, 1).toordinal() + 1


def _warn_fallback(year: int) -> None:
    with _warned_lock:
        if year in _warned_years:
            return
        _warned_years.add(year)
    logger.warning(
        "No holiday data for %d (chinese_calendar has none and no staff-entered rows): "
        "counting Monday-Friday as working days. Enter the State Council schedule "
        "for %d in the holiday table.",
        year,
        year,
    )


class WorkCalendar:
    """Working-day arithmetic: staff overrides, then chinese_calendar, then Monday-Friday."""

    def __init__(self, overrides: Iterable[DayOverride] = (), tz: str = LOCAL_TZ.key):
        self.tz = ZoneInfo(tz)
        self._overrides: dict[date, bool] = {}
        for override in overrides:
            day = override.day
            if isinstance(day, datetime):
                raise TypeError(f"DayOverride.day must be a date, not a datetime: {day!r}")
            previous = self._overrides.get(day)
            if previous is not None and previous != override.is_workday:
                raise ValueError(f"conflicting holiday-table rows for {day.isoformat()}")
            self._overrides[day] = bool(override.is_workday)
        self._override_years = frozenset(day.year for day in self._overrides)
        # Per-date answers, filled one whole year at a time on first use.
        self._flags: dict[date, bool] = {}
        # Per year: cumulative[i] = number of working days among the first i days of the year.
        self._cumulative: dict[int, list[int]] = {}

    # --- single days -------------------------------------------------------------------

    def is_workday(self, day: date) -> bool:
        """Whether `day` is a working day."""
        try:
            return self._flags[day]
        except KeyError:
            if isinstance(day, datetime) or not isinstance(day, date):
                raise TypeError(
                    f"is_workday() takes a date, not {type(day).__name__}; "
                    "convert datetimes to the local date first"
                ) from None
            self._load_year(day.year)
            return self._flags[day]

    def has_data(self, year: int) -> bool:
        """Whether `year` is covered by chinese_calendar or by at least one staff-entered row."""
        return year in self._override_years or _package_workdays(year) is not None

    def years_without_data(self, start: date, end: date) -> list[int]:
        """The years from start's to end's (inclusive) that would fall back to Monday-Friday."""
        return [y for y in range(start.year, end.year + 1) if not self.has_data(y)]

    def missing_data_warning(self, today: date) -> list[int]:
        """This year and next, if lacking data: the caller shows a banner and logs them."""
        return self.years_without_data(today, date(today.year + 1, 1, 1))

    # --- deadlines and elapsed time ----------------------------------------------------

    def add_workdays(self, start: datetime, n: int) -> datetime:
        """The deadline (UTC) for "within n working days" of an event at `start`.

        The end of the n-th working day after the local date of `start`; for n=0, the end of
        that day if it is a working day, else of the next working day.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        local_day = self.local_date(start)
        if n == 0:
            due = local_day if self.is_workday(local_day) else self._nth_workday_after(local_day, 1)
        else:
            due = self._nth_workday_after(local_day, n)
        return datetime.combine(due, _END_OF_DAY, tzinfo=self.tz).astimezone(UTC)

    def workdays_between(self, start: datetime, end: datetime) -> int:
        """Working days taken: the least n with ``end <= add_workdays(start, n)``.

        This is the number of working days d with local_date(start) < d <= local_date(end)
        whenever both dates are working days (same day 0, next working day 1). Two edges
        follow from the deadline rule rather than from a plain count:
        - an end on a non-working day counts as the next working day (acting on Saturday
          after a Friday deadline is late);
        - a start on a non-working day with an end no later than the first working day
          after it counts 0 (add_workdays(start, 0) already reaches that day).
        0 if end <= start.
        """
        first = self.local_date(start)
        last = self.local_date(end)
        if end <= start or last <= first:
            return 0
        # Working days strictly between the two dates; the end date itself then counts one.
        n = self._count_workdays(first, last - timedelta(days=1)) + 1
        if n == 1 and not self.is_workday(first):
            return 0
        return n

    def local_date(self, moment: datetime) -> date:
        """The calendar date of a tz-aware `moment` in this calendar's time zone."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"naive datetime {moment!r}: pass a time-zone-aware datetime")
        return moment.astimezone(self.tz).date()

    # --- internals ---------------------------------------------------------------------

    def _load_year(self, year: int) -> None:
        if year in self._cumulative:
            return
        first = date(year, 1, 1)
        days = [first + timedelta(days=i) for i in range(_days_in_year(year))]
        package = _package_workdays(year)
        if package is not None:
            flags = [d in package for d in days]
        else:
            if year not in self._override_years:
                _warn_fallback(year)
            flags = [d.weekday() < 5 for d in days]
        if year in self._override_years:
            flags = [self._overrides.get(d, flag) for d, flag in zip(days, flags, strict=True)]
        cumulative = [0] * (len(days) + 1)
        for i, flag in enumerate(flags):
            cumulative[i + 1] = cumulative[i] + flag
        self._flags.update(zip(days, flags, strict=True))
        self._cumulative[year] = cumulative

    def _year_cumulative(self, year: int) -> list[int]:
        if year not in self._cumulative:
            self._load_year(year)
        return self._cumulative[year]

    def _count_workdays(self, first: date, last: date) -> int:
        """Working days d with first < d <= last (0 if last <= first)."""
        if last <= first:
            return 0
        total = 0
        for year in range(first.year, last.year + 1):
            cumulative = self._year_cumulative(year)
            low = _day_of_year(first) if year == first.year else 0
            high = _day_of_year(last) if year == last.year else len(cumulative) - 1
            total += cumulative[high] - cumulative[low]
        return total

    def _nth_workday_after(self, day: date, n: int) -> date:
        """The n-th working day strictly after `day` (n >= 1)."""
        year = day.year
        cumulative = self._year_cumulative(year)
        base = cumulative[_day_of_year(day)]
        while True:
            target = base + n
            if target <= cumulative[-1]:
                # cumulative[i] counts the first i days, so day index i - 1 is the n-th one.
                index = bisect_left(cumulative, target)
                return date(year, 1, 1) + timedelta(days=index - 1)
            n -= cumulative[-1] - base
            year += 1
            cumulative = self._year_cumulative(year)
            base = 0
