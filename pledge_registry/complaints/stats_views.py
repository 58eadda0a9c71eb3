"""Staff statistics: service levels for a period, filtered and broken down, as a page and
as CSV. Aggregates only: no phone number, name or complaint text ever appears here."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from flask import Response, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import Form, SelectField
from wtforms.fields import DateField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError

from ..analysis.trends import Levels
from ..extensions import db
from ..forms import label_choices
from ..labels import label
from ..localtime import local_today
from ..models import CATEGORIES, PROBLEM_TYPES, Channel, CommercialArea, SupervisionStation, Town
from ..registry.labels import CATEGORY_LABELS
from ..security import staff_required
from . import staff_bp
from .labels import complaint_label
from .stats import DIMENSIONS, MAX_PERIOD_DAYS, StatsFilter, StatsReport, service_levels

DIMENSION_LABELS = {
    "town": _l("Town"),
    "area": _l("Commercial area"),
    "category": _l("Industry"),
    "problem_type": _l("Problem type"),
    "channel": _l("Channel"),
    "station": _l("Supervision station"),
}

# Bilingual and fixed, so that a spreadsheet built on the export keeps working whatever
# the language of the person who downloaded it.
CSV_HEADER = (
    "维度 dimension", "名称 name", "件数 count",
    "按时受理率 accepted on time (%)", "按时办结率 finished on time (%)", "办结数 closed", "调解成功 resolved",
    "满意率 satisfied (%)", "回访数 surveys answered", "挽回金额（元）amount recovered (yuan)",
)


def _int_or_none(value: Any) -> int | None:
    return int(value) if value not in (None, "", "None") else None


class StatsFilterForm(Form):
    """The filter, read from the query string (GET: nothing changes, no CSRF)."""

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    town = SelectField(_l("Town"), coerce=_int_or_none, validators=[Optional()])

    def validate_end(self, field: DateField) -> None:
        if self.start.data and field.data:
            if field.data < self.start.data:
                raise ValidationError(_l("The end date is before the start date."))
            if (field.data - self.start.data).days > MAX_PERIOD_DAYS:
                raise ValidationError(_l("Choose a period of at most three years."))


def _filter_form() -> tuple[StatsFilterForm, dict[str, dict[Any, str]]]:
    towns = list(db.session.scalars(select(Town).order_by(Town.sort_order, Town.id)))
    areas = list(db.session.scalars(select(CommercialArea).order_by(CommercialArea.town_id,
                                                                     CommercialArea.sort_order)))
    english = str(get_locale()) == "en"
    stations = db.session.execute(select(SupervisionStation.id, SupervisionStation.name)).all()
    names: dict[str, dict[Any, str]] = {
        "town": {str(t.id): t.name_en if english else t.name for t in towns},
        "area": {str(a.id): a.name_en if english else a.name for a in areas},
        "category": {c: label(CATEGORY_LABELS, c) for c in CATEGORIES},
        "problem_type": {p: complaint_label("problem", p) for p in PROBLEM_TYPES},
        "channel": {c.value: complaint_label("channel", c.value) for c in Channel},
        "station": {str(i): name for i, name in stations},
    }
    form = StatsFilterForm(request.args)
    form.town.choices = [SelectChoice(None, _("All")), *label_choices({t.id: names["town"][str(t.id)] for t in towns})]
    return form, names


def _default_period(today: date) -> tuple[date, date]:
    return today.replace(day=1), today


def _report(form: StatsFilterForm) -> StatsReport:
    today = local_today()
    first, last = _default_period(today)
    f = StatsFilter(start=form.start.data or first, end=form.end.data or last, town_id=form.town.data)
    return service_levels(f)


def _percent(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@staff_bp.route("/stats")
@staff_required
def stats():
    form, names = _filter_form()
    if request.args and not form.validate():
        return render_template("complaints/stats/index.html", form=form, report=None, names=names,
                               dimension_labels=DIMENSION_LABELS), 400
    report = _report(form)
    return render_template("complaints/stats/index.html", form=form, report=report, names=names,
                           dimension_labels=DIMENSION_LABELS, percent=_percent, number=_number)


@staff_bp.route("/stats.csv")
@staff_required
def stats_csv():
    form, names = _filter_form()
    if request.args and not form.validate():
        return Response(_("Invalid filter."), status=400, mimetype="text/plain")
    report = _report(form)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    writer.writerow(_csv_row("total", _("All"), report.totals))
    for dimension in DIMENSIONS:
        for row in report.breakdowns[dimension]:
            name = names[dimension].get(row.key, "") if row.key else _("None")
            writer.writerow(_csv_row(dimension, name, row.levels))
    f = report.filter
    filename = f"complaint-stats-{f.start.isoformat()}-{f.end.isoformat()}.csv"
    # The BOM makes Excel read the file as UTF-8: without it Chinese names come out garbled.
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv",  # werkzeug adds "; charset=utf-8"
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _csv_row(dimension: str, name: str, levels: Levels) -> list[str]:
    return [dimension, _safe_cell(str(name)), str(levels.received),
            _percent(levels.share_accepted_on_time), _percent(levels.share_finished_on_time),
            str(levels.closed), str(levels.resolved), _percent(levels.satisfaction_rate), str(levels.surveys_answered),
            f"{levels.amount_recovered_cents / 100:.2f}"]


def _safe_cell(value: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection) in names staff or merchants typed."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
