"""The report button's form: which month or quarter (shape checks only)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from ..forms import BaseForm
from .labels import period_label
from .period import recent_periods


class BuildReportForm(BaseForm):
    period = SelectField(_l("Month or quarter"), validators=[DataRequired()])
    submit = SubmitField(_l("Make the report"))

    def set_choices(self, today: date) -> None:
        """The months and quarters of the last three years, newest first; the last month
        that has ended is chosen by default (the report is made after its month)."""
        periods = recent_periods(today)
        self.period.choices = [SelectChoice(p.code, period_label(p)) for p in periods]
        if not self.period.data:
            finished = [p for p in periods if p.kind == "month" and p.end < today]
            self.period.data = finished[0].code if finished else periods[0].code
