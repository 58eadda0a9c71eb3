"""Nomination forms: shape checks only; the rules are in nominations.services and rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..forms import BaseForm, DecisionForm, reason_field

LEVEL_CHOICES = [SelectChoice("participant", _l("Participating list (参创名单)")),
                 SelectChoice("demonstration", _l("Demonstration unit (示范单位)"))]

__all__ = ["ApplyForm", "DecisionForm", "ReasonForm"]  # DecisionForm: each step is decided with a reason


class ApplyForm(BaseForm):
    level = SelectField(_l("Apply for"), choices=LEVEL_CHOICES, validators=[DataRequired()])
    statement = TextAreaField(_l("What the shop does for safe consumption (optional)"),
                              validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Apply"))


class ReasonForm(BaseForm):
    """Delist or renew a title: a reason and one button."""

    reason = reason_field(_l("Reason (the merchant sees it)"), required=True, max_length=300)
    submit = SubmitField(_l("Confirm"))
