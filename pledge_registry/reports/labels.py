"""How a report period reads, in the current language."""

from __future__ import annotations

from flask_babel import gettext as _

from .period import ReportPeriod


def period_label(period: ReportPeriod) -> str:
    """ "2026年11月" / "November 2026"; "2026年第4季度" / "Q4 2026"."""
    if period.kind == "month":
        return _("%(month)s %(year)d", month=_month_name(period.start.month), year=period.start.year)
    return _("Q%(quarter)d %(year)d", quarter=(period.start.month - 1) // 3 + 1, year=period.start.year)


def _month_name(month: int) -> str:
    return (_("January"), _("February"), _("March"), _("April"), _("May"), _("June"), _("July"),
            _("August"), _("September"), _("October"), _("November"), _("December"))[month - 1]
