"""The figures of the staff analysis pages: one `Query` (a period, a bucket, a cut), and for
each chart one `Figure`: its title, its series for the chart and its table, which the page
shows, and the CSV and Excel downloads write as they are. The page and its downloads build
the same Figure from the same query, so they always agree.

Everything is read through trends.py (the complaint tallies): no page scans the complaint
table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..complaints.labels import complaint_label
from ..extensions import db
from ..labels import label
from ..models import CommercialArea, Merchant, SupervisionStation, Town
from ..registry.labels import CATEGORY_LABELS
from . import charts, trends
from .trends import Levels, TrendFilter

if TYPE_CHECKING:
    from .alerts import EvidenceRow

DIMENSION_LABELS = {
    "all": _l("All requests"),
    "category": _l("Industry"),
    "problem_type": _l("Problem type"),
    "town": _l("Town"),
    "area": _l("Commercial area"),
    "station": _l("Supervision station"),
    "channel": _l("Channel"),
    "merchant": _l("Merchant"),
}
BUCKET_LABELS = {"week": _l("By week"), "month": _l("By month")}
BREAKDOWN_ROWS = 20
TOP_MERCHANTS = 10


@dataclass(frozen=True)
class Query:
    filter: TrendFilter
    bucket: str = "month"
    dimension: str = "category"


@dataclass
class Figure:
    """A chart and its table. `columns`/`rows` are the table (and the download); `x_labels`
    and `series` the chart; kind "line", "bar", or "" for a table without a chart."""

    name: str
    title: str
    description: str
    columns: list[str]
    rows: list[list[Any]]
    kind: str = "line"
    horizontal: bool = False
    x_labels: list[str] = field(default_factory=list)
    series: list[tuple[str, list[float | None]]] = field(default_factory=list)


def default_query(today: date) -> Query:
    """The dashboard: the last twelve whole months and this month so far, by month."""
    first = date(today.year - 1, today.month, 1)
    return Query(TrendFilter(first, today))


# --- names of keys -------------------------------------------------------------------------

def key_names(dimension: str, keys: Sequence[str]) -> dict[str, str]:
    """Display names of a dimension's keys (only those asked for: a merchant cut reads
    the shops shown, not the registry)."""
    english = str(get_locale()) == "en"
    wanted = [k for k in keys if k]
    names: dict[str, str] = {}
    ids = [int(k) for k in wanted if k.isdigit()]
    if dimension == "category":
        names = {k: label(CATEGORY_LABELS, k) for k in wanted}
    elif dimension == "problem_type":
        names = {k: complaint_label("problem", k) for k in wanted}
    elif dimension == "channel":
        names = {k: complaint_label("channel", k) for k in wanted}
    elif dimension == "town" and ids:
        names = {str(t.id): (t.name_en if english else t.name) for t in
                 db.session.scalars(select(Town).where(Town.id.in_(ids)))}
    elif dimension == "area" and ids:
        names = {str(a.id): (a.name_en if english else a.name) for a in
                 db.session.scalars(select(CommercialArea).where(CommercialArea.id.in_(ids)))}
    elif dimension == "station" and ids:
        names = {str(i): n for i, n in db.session.execute(
            select(SupervisionStation.id, SupervisionStation.name).where(SupervisionStation.id.in_(ids)))}
    elif dimension == "merchant" and ids:
        names = {str(i): n for i, n in db.session.execute(
            select(Merchant.id, Merchant.shop_name).where(Merchant.id.in_(ids)))}
    out = {k: names.get(k, k) for k in wanted}
    if "" in keys:
        out[""] = _("All") if dimension == "all" else _("None")
    return out


# --- helpers -------------------------------------------------------------------------------

def _period_label(day: date, bucket: str) -> str:
    return day.strftime("%Y-%m") if bucket == "month" else day.isoformat()


def _share(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _change(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _yuan(cents: int) -> float:
    return round(cents / 100, 2)


def period_text(f: TrendFilter) -> str:
    return _("%(start)s to %(end)s", start=f.start.isoformat(), end=f.end.isoformat())


# --- the figures ---------------------------------------------------------------------------

def received_figure(q: Query, now: datetime | None = None) -> Figure:
    """Requests per bucket, against the bucket before and the same bucket a year earlier."""
    points = trends.compared_series(q.filter, q.bucket, now=now)
    labels = [_period_label(p.period, q.bucket) for p in points]
    rows = [[label_, p.change.current, p.change.previous, _change(p.change.vs_previous), p.change.year_ago,
             _change(p.change.vs_year_ago)] for label_, p in zip(labels, points, strict=True)]
    return Figure(
        "received", _("Requests received, %(bucket)s", bucket=str(BUCKET_LABELS[q.bucket]).lower()),
        _("Each period's count, the period before it and the same period a year earlier."),
        [_("Period"), _("Cases received"), _("Period before"), _("Change (%)"), _("A year earlier"),
         _("Change on a year earlier (%)")],
        rows, "line", False, labels,
        [(_("This period"), [float(p.change.current) for p in points]),
         (_("A year earlier"), [float(p.change.year_ago) for p in points])])


def cut_figure(q: Query, now: datetime | None = None) -> Figure:
    """Per bucket, the cut's ten keys with most requests in the period."""
    found = trends.series(q.filter, q.bucket, q.dimension, now=now)
    names = key_names(q.dimension, list(found))
    points = next(iter(found.values()), [])
    labels = [_period_label(p.period, q.bucket) for p in points]
    dimension = str(DIMENSION_LABELS[q.dimension])
    columns = [_("Period"), *(names.get(k, k) for k in found)]
    rows = [[labels[i], *(found[k][i].levels.received for k in found)] for i in range(len(points))]
    return Figure(
        "cut", _("Requests by %(dimension)s, %(bucket)s", dimension=dimension,
                 bucket=str(BUCKET_LABELS[q.bucket]).lower()),
        _("The ten with most requests in the period, one line each."),
        columns, rows, "line", False, labels,
        [(names.get(k, k), [float(p.levels.received) for p in pts]) for k, pts in found.items()])


def breakdown_figure(q: Query, now: datetime | None = None) -> Figure:
    """The cut's keys in the period, against the period before and a year earlier."""
    page = trends.compared_breakdown(q.filter, q.dimension, now, limit=BREAKDOWN_ROWS)
    names = key_names(q.dimension, [r.key for r in page.rows])
    dimension = str(DIMENSION_LABELS[q.dimension])
    rows = []
    for r in page.rows:
        rows.append([names.get(r.key, r.key), r.key, r.change.current, r.change.previous,
                     _change(r.change.vs_previous), r.change.year_ago, _change(r.change.vs_year_ago),
                     _share(r.levels.share_accepted_on_time), _share(r.levels.share_finished_on_time),
                     _share(r.levels.satisfaction_rate), _yuan(r.levels.amount_recovered_cents)])
    shown = page.rows[:10]
    return Figure(
        "breakdown", _("By %(dimension)s: the period, the period before and a year earlier", dimension=dimension),
        (_("The %(n)d with most requests.", n=len(page.rows)) if page.total is None
         else _("The %(n)d with most requests of %(total)d.", n=len(page.rows), total=page.total)),
        [dimension, _("Stored code"), _("Cases received"), _("Period before"), _("Change (%)"), _("A year earlier"),
         _("Change on a year earlier (%)"), _("Accepted on time (%)"), _("Finished on time (%)"),
         _("Satisfied (%)"), _("Amount recovered (yuan)")],
        rows, "bar", True, [names.get(r.key, r.key) for r in shown],
        [(_("This period"), [float(r.change.current) for r in shown]),
         (_("Period before"), [float(r.change.previous) for r in shown]),
         (_("A year earlier"), [float(r.change.year_ago) for r in shown])])


def service_figure(q: Query, now: datetime | None = None) -> Figure:
    """Service levels per bucket: on-time acceptance and completion, satisfaction, money."""
    points = trends.service_levels_over_time(q.filter, q.bucket, now)
    labels = [_period_label(p.period, q.bucket) for p in points]
    rows = []
    for label_, p in zip(labels, points, strict=True):
        v: Levels = p.levels
        rows.append([label_, v.received, _share(v.share_accepted_on_time), v.accepted_on_time,
                     v.acceptance_measured, _share(v.share_finished_on_time), v.finished_on_time,
                     v.completion_measured, _share(v.satisfaction_rate), v.surveys_answered,
                     _yuan(v.amount_recovered_cents)])
    return Figure(
        "service", _("Service levels, %(bucket)s", bucket=str(BUCKET_LABELS[q.bucket]).lower()),
        _("Accepted within 1 working day, finished within 7 (each against the deadlines the case was given), "
          "and satisfied answers of the surveys, in per cent."),
        [_("Period"), _("Cases received"), _("Accepted on time (%)"), _("Accepted on time"), _("Acceptance measured"),
         _("Finished on time (%)"), _("Finished on time"), _("Completion measured"), _("Satisfied (%)"),
         _("Surveys answered"), _("Amount recovered (yuan)")],
        rows, "line", False, labels,
        [(_("Accepted on time (%)"), [_share(p.levels.share_accepted_on_time) for p in points]),
         (_("Finished on time (%)"), [_share(p.levels.share_finished_on_time) for p in points]),
         (_("Satisfied (%)"), [_share(p.levels.satisfaction_rate) for p in points])])


def recovered_figure(q: Query, now: datetime | None = None) -> Figure:
    """Amount recovered for shoppers per bucket."""
    points = trends.service_levels_over_time(q.filter, q.bucket, now)
    labels = [_period_label(p.period, q.bucket) for p in points]
    rows = [[label_, _yuan(p.levels.amount_recovered_cents), p.levels.resolved]
            for label_, p in zip(labels, points, strict=True)]
    return Figure(
        "recovered", _("Amount recovered for shoppers (yuan), %(bucket)s", bucket=str(BUCKET_LABELS[q.bucket]).lower()),
        _("Money returned to shoppers through the bureau, by when the case was received."),
        [_("Period"), _("Amount recovered (yuan)"), _("Resolved")], rows, "bar", False, labels,
        [(_("Amount recovered (yuan)"), [_yuan(p.levels.amount_recovered_cents) for p in points])])


def merchants_figure(q: Query, now: datetime | None = None) -> Figure:
    """Businesses by complaints per approved shop (the size of the business)."""
    rates = trends.top_merchants(q.filter, limit=TOP_MERCHANTS)
    rows = [[r.name, r.credit_code, r.complaints, r.shops, round(r.per_shop, 2)] for r in rates]
    return Figure(
        "merchants", _("Merchants with most complaints for their size"),
        _("Complaints in the period per approved shop of the business (one credit code); "
          "only businesses with at least %(n)d complaints.", n=3),
        [_("Shop"), _("Credit code"), _("Complaints"), _("Approved shops"), _("Complaints per shop")],
        rows, "bar", True, [r.name for r in rates], [(_("Complaints per shop"), [round(r.per_shop, 2) for r in rates])])


FIGURES: dict[str, Callable[[Query, datetime | None], Figure]] = {
    "received": received_figure,
    "cut": cut_figure,
    "breakdown": breakdown_figure,
    "service": service_figure,
    "recovered": recovered_figure,
    "merchants": merchants_figure,
}
DASHBOARD = ("received", "service", "breakdown", "recovered", "merchants")
TRENDS = ("received", "cut", "breakdown", "service", "recovered", "merchants")


def comparison(q: Query, now: datetime | None = None) -> trends.Comparison:
    return trends.compare(q.filter, now)


def figure(name: str, q: Query, now: datetime | None = None) -> Figure:
    return FIGURES[name](q, now)


def svg(fig: Figure) -> str:
    """The figure's chart as inline SVG."""
    if fig.kind == "bar":
        return charts.bar_chart(fig.title, fig.x_labels, fig.series, fig.description, horizontal=fig.horizontal,
                                no_data=_("No data"))
    return charts.line_chart(fig.title, fig.x_labels, fig.series, fig.description, no_data=_("No data"))


def evidence_svg(rows: Sequence[EvidenceRow]) -> str:
    """A spike alert's evidence (alerts.evidence) as a line chart: the weekly complaints and,
    over the high weeks, the usual number they were held against. Its data is the evidence
    table beside it."""
    return charts.line_chart(
        _("Complaints per week"), [r.week.isoformat() for r in rows],
        [(_("Complaints"), [r.count for r in rows]),
         (_("Usual number"), [r.baseline for r in rows])],
        description=_("Complaints per week: the weeks the usual number is taken from, then the weeks of the rise."),
        no_data=_("No data"))


def download_preamble(fig: Figure, q: Query) -> list[list[str]]:
    """The lines above a download's header: what it is and for which period."""
    return [[fig.title], [period_text(q.filter)], [fig.description]]


def previous_text(f: TrendFilter) -> tuple[str, str]:
    """The period before and the same period a year earlier, as text."""
    return period_text(f.previous()), period_text(f.year_earlier())
