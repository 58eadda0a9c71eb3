"""Forms of the admin's partner page; shape checks only (the rules are partners.services')."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from ..forms import BaseForm


class PartnerForm(BaseForm):
    code = StringField(_l("Code (lower-case letters, digits and '-', such as hotline-12345)"),
                       validators=[DataRequired(), Length(max=31)], render_kw={"autocomplete": "off"})
    name = StringField(_l("Name of the partner system"), validators=[DataRequired(), Length(max=100)])
    submit = SubmitField(_l("Add the partner"))
