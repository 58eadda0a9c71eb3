"""Staff forms: shape checks only; whether a reason is required is the services' rule."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Optional, Regexp, ValidationError

from ..forms import BaseForm, DecisionForm, reason_field

# The buttons of the pledge page, in the order they are shown.
PLEDGE_ACTIONS = ("approve", "reject", "suspend", "reinstate", "revoke")


class ShopReviewForm(DecisionForm):
    """Approve or reject a registration: one reason box, two buttons."""

    reason = reason_field(_l("Reason (the merchant sees it; required to reject)"))
    approve = SubmitField(_l("Approve registration"))
    reject = SubmitField(_l("Reject registration"))


class CloseShopForm(BaseForm):
    close_reason = reason_field(_l("Why the shop is recorded as closed"), required=True)
    submit = SubmitField(_l("Record the shop as closed"))


class PledgeDecisionForm(BaseForm):
    """One reason box; the button pressed (name="action") says which of five decisions."""

    reason = reason_field(
        _l("Reason (shown to the merchant, and to shoppers for a suspension or revocation)"))
    action = SelectField(choices=[SelectChoice(a) for a in PLEDGE_ACTIONS], validators=[DataRequired()],
                         validate_choice=True)


class MerchantImportForm(BaseForm):
    """A town's merchant file, checked first (nothing is written until it is confirmed)."""

    town = SelectField(_l("Town"), coerce=int, validators=[DataRequired()])
    file = FileField(_l("Excel (.xlsx) or CSV file"))
    invite = BooleanField(_l("Send each new owner a sign-in link by SMS"))
    submit = SubmitField(_l("Check the file"))

    def validate_file(self, field: FileField) -> None:
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Choose a file."))


class MerchantImportConfirmForm(BaseForm):
    token = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{32}$")])
    invite = HiddenField(validators=[Optional(), AnyOf(("", "1"))])
    submit = SubmitField(_l("Import these shops"))
