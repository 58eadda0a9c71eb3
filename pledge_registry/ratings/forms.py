"""The rating model form (admins): shape checks only; services.save_config validates the model."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..forms import BaseForm


class ModelForm(BaseForm):
    version = StringField(_l("New version"), validators=[DataRequired(), Length(max=20)])
    model = TextAreaField(_l("Weights, thresholds and caps (JSON)"), validators=[DataRequired(), Length(max=20000)],
                          render_kw={"rows": 32, "spellcheck": "false"})
