"""Service levels (研判): how fast complaints are accepted and finished, how satisfied
shoppers are and how much was recovered, for a period, in total and by town, area, category,
problem type, channel and supervision station.

Read from the complaint tallies (analysis/trends.py), never from the complaint table as a
whole: a province's year answers as fast as a city's day. The measures are defined there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ..analysis import trends
from ..analysis.trends import Levels, Row
from . import deadlines

DIMENSIONS = ("town", "area", "category", "problem_type", "channel", "station")
MAX_PERIOD_DAYS = trends.MAX_PERIOD_DAYS


@dataclass(frozen=True)
class StatsFilter:
    start: date                       # local dates (Asia/Shanghai), both inclusive, on received_at
    end: date
    town_id: int | None = None
    request_type: str = "complaint"

    def trend_filter(self) -> trends.TrendFilter:
        return trends.TrendFilter(self.start, self.end, self.request_type, self.town_id)


@dataclass
class StatsReport:
    filter: StatsFilter
    acceptance_days: int
    completion_days: int
    totals: Levels
    breakdowns: dict[str, list[Row]]


def service_levels(f: StatsFilter, now: datetime | None = None) -> StatsReport:
    """The service levels for the filter, in total and broken down by each dimension."""
    limits = deadlines.current_deadlines()
    tf = f.trend_filter()
    return StatsReport(filter=f, acceptance_days=limits.acceptance_days, completion_days=limits.completion_days,
                       totals=trends.totals(tf, now),
                       breakdowns={d: trends.breakdown(tf, d, now).rows for d in DIMENSIONS})
