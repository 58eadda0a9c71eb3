"""Staff forms: shape checks only; whether a reason is required is the services' rule."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..forms import BaseForm

# The buttons of the pledge page, in the order they are shown.
PLEDGE_ACTIONS = ("approve", "reject", "suspend", "reinstate", "revoke")


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _no_control_chars(_form: object, field: TextAreaField) -> None:
    if field.data and any(ord(c) < 32 and c not in "\r\n\t" for c in field.data):
        raise ValidationError(_l("Remove the control characters from this field."))


def _reason_field(label: Any, required: bool = False) -> TextAreaField:
    first = DataRequired() if required else Optional()
    return TextAreaField(label, validators=[first, Length(max=500), _no_control_chars], filters=[_strip])


class ShopReviewForm(BaseForm):
    """Approve or reject a registration: one reason box, two buttons."""

    reason = _reason_field(_l("Reason (the merchant sees it; required to reject)"))
    approve = SubmitField(_l("Approve registration"))
    reject = SubmitField(_l("Reject registration"))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if valid and bool(self.approve.data) == bool(self.reject.data):
            self.form_errors.append(str(_l("Choose either approve or reject.")))
            return False
        return valid


class CloseShopForm(BaseForm):
    close_reason = _reason_field(_l("Why the shop is recorded as closed"), required=True)
    submit = SubmitField(_l("Record the shop as closed"))


class PledgeDecisionForm(BaseForm):
    """One reason box; the button pressed (name="action") says which decision."""

    reason = _reason_field(
        _l("Reason (shown to the merchant, and to shoppers for a suspension or revocation)"))
    action = SelectField(choices=[SelectChoice(a) for a in PLEDGE_ACTIONS], validators=[DataRequired()],
                         validate_choice=True)
