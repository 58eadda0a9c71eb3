"""Staff forms: shape checks only; whether a reason is required is the services' rule."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

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
