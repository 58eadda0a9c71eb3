"""Demo reports: the last finished month's analysis report, in Chinese and in English,
made by the demo staff login, so that the archive page has something to download."""

from __future__ import annotations

from datetime import UTC, datetime

from ..auth.services import find_by_login
from ..localtime import local_today
from .period import ReportPeriod
from .services import build

DEMO_STAFF_LOGIN = "staff@demo.invalid"


def load_reports(now: datetime | None = None) -> int:
    """Make the demo's reports (after its cases are loaded); returns how many were made."""
    now = now or datetime.now(UTC)
    today = local_today(now)
    this_month = ReportPeriod.month(today.year, today.month)
    staff = find_by_login(DEMO_STAFF_LOGIN)
    for language in ("zh", "en"):
        build(this_month.previous(), language, staff, now)
    return 2
