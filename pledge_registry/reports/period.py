"""The period an analysis report covers: a calendar month ("2026-11") or quarter ("2026Q4").

Pure (no Flask): parsing, the dates it spans, and the periods it is compared with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

KINDS = ("month", "quarter")
FIRST_YEAR, LAST_YEAR = 2000, 2099
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})[Qq]([1-4])")


class PeriodError(ValueError):
    """Text that names no month or quarter."""


@dataclass(frozen=True, order=True)
class ReportPeriod:
    """A month or a quarter, both local calendar dates (Asia/Shanghai)."""

    kind: str       # "month" or "quarter"
    start: date     # the first day
    end: date       # the last day (inclusive)

    @classmethod
    def month(cls, year: int, month: int) -> ReportPeriod:
        if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
            raise PeriodError(f"no such month: {year}-{month:02d}")
        start = date(year, month, 1)
        return cls("month", start, _add_months(start, 1) - timedelta(days=1))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> ReportPeriod:
        if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= quarter <= 4):
            raise PeriodError(f"no such quarter: {year}Q{quarter}")
        start = date(year, 3 * quarter - 2, 1)
        return cls("quarter", start, _add_months(start, 3) - timedelta(days=1))

    @classmethod
    def parse(cls, text: str) -> ReportPeriod:
        """ "2026-11" → November 2026, "2026Q4" → its fourth quarter."""
        text = text.strip()
        if match := _MONTH.fullmatch(text):
            return cls.month(int(match[1]), int(match[2]))
        if match := _QUARTER.fullmatch(text):
            return cls.quarter(int(match[1]), int(match[2]))
        raise PeriodError(f"not a month (2026-11) or a quarter (2026Q4): {text!r}")

    @classmethod
    def of(cls, kind: str, start: date) -> ReportPeriod:
        """The period of `kind` that begins on `start` (as stored in the archive)."""
        if kind == "month":
            return cls.month(start.year, start.month)
        if kind == "quarter" and start.month % 3 == 1:
            return cls.quarter(start.year, start.month // 3 + 1)
        raise PeriodError(f"no {kind} starts on {start}")

    @property
    def code(self) -> str:
        """The machine name: 2026-11 or 2026Q4 (file names, the command line)."""
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        return f"{self.start.year}Q{(self.start.month - 1) // 3 + 1}"

    @property
    def months(self) -> int:
        return 1 if self.kind == "month" else 3

    def shifted(self, months: int) -> ReportPeriod:
        """The period of the same kind `months` months later (negative: earlier)."""
        return ReportPeriod.of(self.kind, _add_months(self.start, months))

    def previous(self) -> ReportPeriod:
        """The period just before (October for November, Q3 for Q4)."""
        return self.shifted(-self.months)

    def year_before(self) -> ReportPeriod:
        return self.shifted(-12)

    def weeks(self) -> list[date]:
        """The Mondays of the weeks that overlap the period, oldest first."""
        monday = self.start - timedelta(days=self.start.weekday())
        weeks = []
        while monday <= self.end:
            weeks.append(monday)
            monday += timedelta(days=7)
        return weeks


def recent_periods(today: date, *, months: int = 36) -> list[ReportPeriod]:
    """Months and quarters that have begun, newest first, reaching `months` months back."""
    current = ReportPeriod.month(today.year, today.month)
    found = [current.shifted(-n) for n in range(months)]
    quarter = ReportPeriod.quarter(today.year, (today.month - 1) // 3 + 1)
    found += [quarter.shifted(-3 * n) for n in range(months // 3)]
    return sorted(found, key=lambda p: (p.start, p.kind == "month"), reverse=True)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
