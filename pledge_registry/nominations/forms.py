"""Nomination forms: shape checks only; the rules are in nominations.services and rules."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..forms import BaseForm


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _no_control_chars(_form: object, field: Any) -> None:
    if field.data and any(ord(c) < 32 and c not in "\r\n\t" for c in field.data):
        raise ValidationError(_l("Remove the control characters from this field."))


LEVEL_CHOICES = [SelectChoice("participant", _l("Participating list (参创名单)")),
                 SelectChoice("demonstration", _l("Demonstration unit (示范单位)"))]


class ApplyForm(BaseForm):
    level = SelectField(_l("Apply for"), choices=LEVEL_CHOICES, validators=[DataRequired()])
    statement = TextAreaField(_l("What the shop does for safe consumption (optional)"),
                              validators=[Optional(), Length(max=2000), _no_control_chars], filters=[_strip])
    submit = SubmitField(_l("Apply"))


class DecisionForm(BaseForm):
    """One reason box, two buttons: every step is decided with a reason."""

    reason = TextAreaField(_l("Reason (the merchant sees it)"),
                           validators=[DataRequired(), Length(max=1000), _no_control_chars], filters=[_strip])
    approve = SubmitField(_l("Approve"))
    reject = SubmitField(_l("Reject"))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if valid and bool(self.approve.data) == bool(self.reject.data):
            self.form_errors.append(str(_l("Choose either approve or reject.")))
            return False
        return valid


class ReasonForm(BaseForm):
    """Delist or renew a title: a reason and one button."""

    reason = TextAreaField(_l("Reason (the merchant sees it)"),
                           validators=[DataRequired(), Length(max=300), _no_control_chars], filters=[_strip])
    submit = SubmitField(_l("Confirm"))
