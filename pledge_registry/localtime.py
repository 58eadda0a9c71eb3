"""The bureau's clock: times are stored in UTC and read in Asia/Shanghai (no Flask here).

Every "today", every calendar day of a timestamp and every local midnight in the package
comes from here, so that a filing late in the evening and the page a shopper scans agree
on which day it is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local_today(now: datetime | None = None) -> date:
    """The bureau's calendar day now (or at `now`, a time-zone aware moment)."""
    return (now or datetime.now(UTC)).astimezone(LOCAL_TZ).date()


def local_date(moment: datetime) -> date:
    """The bureau's calendar day of a time-zone aware moment."""
    return moment.astimezone(LOCAL_TZ).date()


def local_midnight(day: date) -> datetime:
    """The moment the bureau's calendar day begins (time-zone aware)."""
    return datetime.combine(day, time.min, LOCAL_TZ)


def parse_day(raw: str) -> date | None:
    """A calendar day written YYYY-MM-DD (a date box, a query argument); anything else None."""
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        return None
