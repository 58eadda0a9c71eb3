"""Staff analysis pages (研判): the dashboard, the trends page, each chart's data as CSV and
Excel, and the charts' stylesheet. Bureau staff only: a supervision station's officer gets
403 (its own service levels are on the station pages). Aggregates only: no shopper appears.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional, ValidationError

from .. import spreadsheets
from ..complaints.labels import complaint_label
from ..extensions import db
from ..forms import BaseForm, label_choices
from ..localtime import local_today
from ..models import REQUEST_TYPES, Town
from ..security import staff_required
from . import alerts, charts, dashboard, tally
from .trends import BUCKETS, MAX_PERIOD_DAYS, TrendFilter

bp = Blueprint("analysis", __name__, url_prefix="/staff/analysis")

EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
FORMATS = {"csv": spreadsheets.CSV_MIMETYPE, "xlsx": spreadsheets.XLSX_MIMETYPE}


def _town_or_none(value: Any) -> int | None:
    if value in (None, "", "None"):
        return None
    text = str(value)
    return int(text) if text.isdigit() and len(text) < 10 else -1   # -1: not a choice, refused


class TrendForm(BaseForm):
    """The trends filter, read from the query string (GET: nothing changes, no CSRF)."""

    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    bucket = SelectField(_l("Count"), validators=[DataRequired()], default="month")
    dimension = SelectField(_l("Cut by"), validators=[DataRequired()], default="category")
    request_type = SelectField(_l("Request type"), validators=[DataRequired()], default="complaint")
    town = SelectField(_l("Town"), coerce=_town_or_none, validators=[Optional()])

    def validate_start(self, field: DateField) -> None:
        if field.data and not EARLIEST <= field.data <= LATEST:
            raise ValidationError(_l("Choose a date from 2000 to 2099."))

    def validate_end(self, field: DateField) -> None:
        if field.data and not EARLIEST <= field.data <= LATEST:
            raise ValidationError(_l("Choose a date from 2000 to 2099."))
        start, end = self.period()
        if end < start:
            raise ValidationError(_l("The end date is before the start date."))
        if (end - start).days > MAX_PERIOD_DAYS:
            raise ValidationError(_l("Choose a period of at most three years."))

    def period(self) -> tuple[date, date]:
        default = dashboard.default_query(local_today()).filter
        return self.start.data or default.start, self.end.data or default.end

    def query(self) -> dashboard.Query:
        start, end = self.period()
        return dashboard.Query(TrendFilter(start, end, self.request_type.data, self.town.data),
                               self.bucket.data, self.dimension.data)


def _form() -> TrendForm:
    form = TrendForm(request.args)
    towns = [str(t) for t in db.session.scalars(select(Town.id).order_by(Town.sort_order, Town.id))]
    town_names = dashboard.key_names("town", towns)
    form.bucket.choices = label_choices({b: dashboard.BUCKET_LABELS[b] for b in BUCKETS})
    form.dimension.choices = label_choices({d: dashboard.DIMENSION_LABELS.get(d, d)
                                            for d in tally.DIMENSION_NAMES if d != "all"})
    form.request_type.choices = label_choices({t: complaint_label("request_type", t) for t in REQUEST_TYPES})
    form.town.choices = [SelectChoice(None, _("All")),
                         *label_choices({int(t): town_names[t] for t in towns})]
    return form


def _render(template: str, form: TrendForm | None, q: dashboard.Query, names: tuple[str, ...],
            status: int = 200, **extra: Any) -> Any:
    figures = [dashboard.figure(name, q) for name in names]
    svgs = {f.name: Markup(dashboard.svg(f)) for f in figures}   # built by charts.py from numbers and labels
    args = _args(q)
    return render_template(template, form=form, query=q, figures=figures, svgs=svgs, args=args,
                           comparison=dashboard.comparison(q), period=dashboard.period_text(q.filter),
                           compared=dashboard.previous_text(q.filter),
                           dimension_label=dashboard.DIMENSION_LABELS[q.dimension], **extra), status


def _args(q: dashboard.Query) -> dict[str, str]:
    """The query as URL arguments: the downloads' links carry the page's filter."""
    args = {"start": q.filter.start.isoformat(), "end": q.filter.end.isoformat(), "bucket": q.bucket,
            "dimension": q.dimension, "request_type": q.filter.request_type}
    if q.filter.town_id is not None:
        args["town"] = str(q.filter.town_id)
    return args


@bp.route("/")
@staff_required
def index() -> Any:
    q = dashboard.default_query(local_today())
    return _render("analysis/dashboard.html", None, q, dashboard.DASHBOARD,
                   open_alerts=alerts.open_alerts(getattr(current_user, "town_id", None)))


@bp.route("/trends")
@staff_required
def trends() -> Any:
    form = _form()
    if request.args and not form.validate():
        return render_template("analysis/trends.html", form=form, figures=[], query=None), 400
    return _render("analysis/trends.html", form, form.query(), dashboard.TRENDS)


@bp.route("/data/<name>.<fmt>")
@staff_required
def download(name: str, fmt: str) -> Response:
    if name not in dashboard.FIGURES or fmt not in FORMATS:
        abort(404)
    form = _form()
    if request.args and not form.validate():
        return Response(_("Invalid filter."), status=400, mimetype="text/plain")
    q = form.query()
    fig = dashboard.figure(name, q)
    preamble = dashboard.download_preamble(fig, q)
    if fmt == "csv":
        body = spreadsheets.write_csv(fig.columns, fig.rows, preamble)
    else:
        body = spreadsheets.write_xlsx(fig.columns, fig.rows, title=name, preamble=preamble)
    filename = f"analysis-{name}-{q.filter.start.isoformat()}-{q.filter.end.isoformat()}.{fmt}"
    return Response(body, content_type=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/charts.css")
@staff_required
def chart_css() -> Response:
    """The charts' rules, served from the site (the CSP refuses inline styles)."""
    response = Response(charts.stylesheet(), mimetype="text/css")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
