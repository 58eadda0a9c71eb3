"""What goes into an analysis report: the figures of a month or quarter, read from the
complaint statistics, worded in the current language (the caller sets it with force_locale).

Nothing here counts complaints itself: the figures come from the statistics module the
staff pages use, and the alerts from the spike alerts staff acknowledge. This module only
chooses, compares and words them, into a plain ``Report`` that the renderers draw.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select

from ..analysis import alerts as spike_alerts
from ..analysis.trends import Levels as ServiceLevels
from ..complaints.labels import complaint_label
from ..complaints.stats import StatsFilter, service_levels
from ..extensions import db
from ..labels import label
from ..localtime import LOCAL_TZ
from ..models import CATEGORIES, PROBLEM_TYPES, REQUEST_TYPES, Town, User
from ..registry.labels import CATEGORY_LABELS
from .labels import period_label
from .model import AlertLine, Chart, KeyFigure, Report, Series, Table, Texts
from .period import ReportPeriod

TOP_ROWS = 10          # rows of a breakdown chart (the tables hold every row)


@dataclass(frozen=True)
class _Figures:
    """One period's statistics: the totals and the breakdowns, per request type."""

    by_type: dict[str, ServiceLevels]
    breakdowns: dict[str, dict[Any, ServiceLevels]]   # complaints only, per dimension


def _figures(period: ReportPeriod, now: datetime) -> _Figures:
    by_type: dict[str, ServiceLevels] = {}
    breakdowns: dict[str, dict[Any, ServiceLevels]] = {}
    for request_type in REQUEST_TYPES:
        stats = service_levels(StatsFilter(start=period.start, end=period.end, request_type=request_type), now)
        by_type[request_type] = stats.totals
        if request_type == "complaint":
            breakdowns = {d: {row.key: row.levels for row in rows} for d, rows in stats.breakdowns.items()}
    return _Figures(by_type, breakdowns)


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def _yuan(cents: int) -> float:
    return round(cents / 100, 2)


def gather(period: ReportPeriod, language: str, made_by: User | None, made_at: datetime) -> Report:
    """The report of `period`, worded in the current language."""
    now = made_at
    current = _figures(period, now)
    previous = _figures(period.previous(), now)
    year_before = _figures(period.year_before(), now)
    english = language == "en"
    towns = {t.id: (t.name_en if english else t.name) for t in db.session.scalars(select(Town))}
    names: dict[str, Callable[[Any], str]] = {
        "town": lambda key: towns.get(key, _("None")) if key is not None else _("None"),
        "category": lambda key: label(CATEGORY_LABELS, key) if key in CATEGORIES else _("None"),
        "problem_type": lambda key: complaint_label("problem", key) if key in PROBLEM_TYPES else _("None"),
        "channel": lambda key: complaint_label("channel", key) if key else _("None"),
    }
    label_of_period = period_label(period)
    local = made_at.astimezone(LOCAL_TZ)
    maker = made_by.display_name if made_by is not None else _("the command line")
    return Report(
        language=language,
        title=_("Consumer complaints analysis report, %(period)s", period=label_of_period),
        period_code=period.code,
        period_label=label_of_period,
        bureau=current_app.config["BUREAU_NAME_EN" if english else "BUREAU_NAME"],
        made_line=_("Made by %(name)s on %(time)s (Beijing time). Counted by the day a request was received.",
                    name=maker, time=format_datetime(local.replace(tzinfo=None), "yyyy-MM-dd HH:mm")),
        texts=_texts(),
        key_figures=_key_figures(current, previous, year_before),
        charts=_charts(period, current, previous, names),
        tables=tuple(_breakdown_table(d, title, heading, current, previous, year_before, names[d])
                     for d, (title, heading) in _breakdowns().items()),
        alerts=_alerts(period, made_at),
    )


def _texts() -> Texts:
    return Texts(
        key_figures=_("Key figures"), measure=_("Measure"), this_period=_("This period"),
        previous_period=_("Period before"), year_before=_("A year earlier"), change=_("Change"),
        charts=_("Where the complaints came from"), tables=_("Breakdowns"), alerts=_("Spike alerts"),
        no_alerts=_("No spike alert was raised in this period."),
        alert_columns=(_("What"), _("Town"), _("Weeks"), _("Complaints"), _("Usual"), _("p-value"),
                       _("Outcome")),
        page=_("Page {page}"),
        method=_("Accepted on time: accepted, or rejected with a reason, within the acceptance deadline "
                 "in working days of the Chinese calendar; finished on time: closed within the "
                 "completion deadline. Satisfaction: satisfied answers among the surveys answered. "
                 "Changes compare with the period just before and the same period a year earlier."),
    )


def _key_figures(current: _Figures, previous: _Figures, year_before: _Figures) -> tuple[KeyFigure, ...]:
    def figure(text: str, measure: Callable[[_Figures], float | int | None], unit: str = "",
               decimals: int = 0) -> KeyFigure:
        return KeyFigure(text, measure(current), measure(previous), measure(year_before), unit, decimals)

    def complaints(f: _Figures) -> ServiceLevels:
        return f.by_type["complaint"]

    return (
        figure(_("Complaints received"), lambda f: complaints(f).received),
        figure(_("Reports received"), lambda f: f.by_type["report"].received),
        figure(_("Consultations received"), lambda f: f.by_type["consultation"].received),
        figure(_("Complaints accepted on time"), lambda f: _percent(complaints(f).share_accepted_on_time), "%", 1),
        figure(_("Complaints finished on time"), lambda f: _percent(complaints(f).share_finished_on_time), "%", 1),
        figure(_("Shoppers satisfied"), lambda f: _percent(complaints(f).satisfaction_rate), "%", 1),
        figure(_("Surveys answered"), lambda f: complaints(f).surveys_answered),
        figure(_("Amount recovered"), lambda f: _yuan(complaints(f).amount_recovered_cents), _("yuan"), 2),
    )


def _top(rows: Mapping[Any, ServiceLevels], limit: int) -> list[Any]:
    return sorted(rows, key=lambda key: (-rows[key].received, str(key)))[:limit]


def _charts(period: ReportPeriod, current: _Figures, previous: _Figures,
            names: dict[str, Callable[[Any], str]]) -> tuple[Chart, ...]:
    charts = []
    for dimension, title in (("category", _("Complaints by industry")),
                             ("problem_type", _("Complaints by problem")),
                             ("town", _("Complaints by town"))):
        rows = current.breakdowns.get(dimension, {})
        before = previous.breakdowns.get(dimension, {})
        keys = _top(rows, TOP_ROWS)
        if not keys:
            continue
        charts.append(Chart(
            title=title,
            categories=tuple(names[dimension](k) for k in keys),
            series=(Series(_("This period"), tuple(rows[k].received for k in keys)),
                    Series(_("Period before"), tuple(before[k].received if k in before else 0 for k in keys))),
        ))
    return tuple(charts)


def _breakdowns() -> dict[str, tuple[str, str]]:
    """Each breakdown table's title and the heading of its first column."""
    return {"category": (_("By industry"), _("Industry")),
            "problem_type": (_("By problem"), _("Problem type")),
            "town": (_("By town"), _("Town")),
            "channel": (_("By channel"), _("Channel"))}


def _breakdown_table(dimension: str, title: str, heading: str, current: _Figures, previous: _Figures,
                     year_before: _Figures, name: Callable[[Any], str]) -> Table:
    rows = current.breakdowns.get(dimension, {})
    before = previous.breakdowns.get(dimension, {})
    year = year_before.breakdowns.get(dimension, {})
    columns = (heading, _("Complaints"), _("Period before"),
               _("A year earlier"), _("Accepted on time (%)"), _("Finished on time (%)"), _("Satisfied (%)"),
               _("Recovered (yuan)"))
    body = tuple(
        (name(key), rows[key].received, before[key].received if key in before else 0,
         year[key].received if key in year else 0,
         _percent(rows[key].share_accepted_on_time), _percent(rows[key].share_finished_on_time),
         _percent(rows[key].satisfaction_rate), _yuan(rows[key].amount_recovered_cents))
        for key in _top(rows, len(rows))
    )
    return Table(title=title, columns=columns, rows=body,
                 note="" if body else _("No complaint in this period."))


def _alerts(period: ReportPeriod, made_at: datetime) -> tuple[AlertLine, ...]:
    """The spike alerts whose weeks touched the period, with their outcome when the report
    was made (an acknowledgement after that time is not yet known to the report)."""
    lines = []
    for alert in spike_alerts.in_period(period.start, period.end):
        key = spike_alerts.key_label(alert.dimension, alert.key)
        acknowledged = alert.acknowledged_at is not None and alert.acknowledged_at <= made_at
        if acknowledged:
            local = alert.acknowledged_at.astimezone(LOCAL_TZ) if alert.acknowledged_at else made_at
            outcome = _("Acknowledged by %(name)s on %(day)s: %(note)s",
                        name=alert.acknowledged_by.display_name if alert.acknowledged_by else "",
                        day=local.date().isoformat(), note=alert.note)
        else:
            outcome = _("Open")
        lines.append(AlertLine(
            subject=_("%(dimension)s: %(key)s", dimension=spike_alerts.dimension_label(alert.dimension), key=key),
            town=spike_alerts.town_label(alert.town),
            weeks=f"{alert.week_start.isoformat()} – {(alert.last_week + timedelta(days=6)).isoformat()}",
            observed=alert.observed, baseline=round(alert.baseline_mean, 2), p_value=alert.p_value,
            outcome=outcome))
    return tuple(lines)
