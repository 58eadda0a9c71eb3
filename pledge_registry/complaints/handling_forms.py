"""Forms for merchants answering complaints and officers handling them; shape checks only.

Which move is legal, who may make it and when a note is required are the workflow's rules
(complaints.workflow); these forms only bound and type what arrives.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, DecimalField, IntegerField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, StopValidation

from ..forms import BaseForm, text_field
from ..models import PAUSE_REASONS, PROPOSAL_KINDS, REJECT_REASONS
from .labels import OUTCOME_LABELS, PAUSE_REASON_LABELS, PROPOSAL_LABELS, REJECT_REASON_LABELS

MAX_YUAN = Decimal("10000000")  # ten million yuan: far above any consumer complaint

# --- shared fields -------------------------------------------------------------------------

def _finite_yuan(_form: object, field: DecimalField) -> None:
    """Refuse NaN, infinities and fractions of a fen before NumberRange compares them."""
    value = field.data
    if value is None:
        return
    if not isinstance(value, Decimal) or not value.is_finite():
        raise StopValidation(_l("Enter an amount in yuan, e.g. 128.50."))
    if value != value.quantize(Decimal("0.01")):
        raise StopValidation(_l("Enter at most two decimals (fen)."))


def yuan_field(label: Any, required: bool = False) -> DecimalField:
    first = InputRequired() if required else Optional()
    return DecimalField(label, places=2, validators=[
        first, _finite_yuan,
        NumberRange(min=0, max=MAX_YUAN, message=_l("Enter an amount between 0 and 10,000,000 yuan.")),
    ], render_kw={"inputmode": "decimal"})


# --- the merchant ----------------------------------------------------------------------------

class MerchantReplyForm(BaseForm):
    reply = text_field(_l("Your answer to the shopper"), max_length=2000, required=True)
    proposal_kind = SelectField(
        _l("What you propose"),
        choices=[SelectChoice("", _l("No proposal"))]
        + [SelectChoice(k, PROPOSAL_LABELS[k]) for k in PROPOSAL_KINDS],
        validate_choice=True, default="")
    proposal_amount = yuan_field(_l("Refund amount (yuan)"))
    submit = SubmitField(_l("Send the answer"))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if valid and self.proposal_kind.data == "refund" and self.proposal_amount.data is None:
            self.proposal_amount.errors.append(str(_l("Enter the amount you will refund.")))
            return False
        return valid


# --- officers --------------------------------------------------------------------------------

class NoteForm(BaseForm):
    """Accept, forward or mediate: an optional note for the timeline."""

    note = text_field(_l("Note (optional; the shopper sees it on the timeline)"))


class HandOverForm(BaseForm):
    """A station hands a case to the bureau; the reason is required (internal)."""

    handover_reason = text_field(_l("Why the station cannot settle it (the bureau reads this)"),
                                 max_length=500, required=True)


class PauseForm(BaseForm):
    """Stop the case's clock while something the rules do not count is done."""

    pause_reason = SelectField(_l("Why the clock stops"),
                               choices=[SelectChoice(r, PAUSE_REASON_LABELS[r]) for r in PAUSE_REASONS],
                               validators=[DataRequired()], validate_choice=True)
    pause_note = text_field(_l("Details (required for “other”; the shopper sees them)"), max_length=500)


class RejectForm(BaseForm):
    reason = SelectField(_l("Reason for not accepting"),
                         choices=[SelectChoice(r, REJECT_REASON_LABELS[r]) for r in REJECT_REASONS],
                         validators=[DataRequired()], validate_choice=True)
    reject_note = text_field(_l("Explanation for the shopper (optional)"))


class CloseForm(BaseForm):
    outcome = SelectField(_l("Outcome"), choices=[
        SelectChoice("resolved", OUTCOME_LABELS["resolved"]),
        SelectChoice("not_resolved", OUTCOME_LABELS["not_resolved"])],
        validators=[DataRequired()], validate_choice=True)
    amount_recovered = yuan_field(_l("Amount recovered for the shopper (yuan)"))
    upheld = SelectField(_l("Was the complaint upheld against the merchant?"), choices=[
        SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))],
        validators=[DataRequired()], validate_choice=True)
    close_note = text_field(_l("Summary; for “not resolved”, the advice given (arbitration or court)"))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if valid and self.outcome.data == "not_resolved" and not self.close_note.data:
            self.close_note.errors.append(str(_l("Give the advice: arbitration or court.")))
            return False
        return valid


class ReassignForm(BaseForm):
    officer_id = SelectField(_l("Officer"), coerce=int, validators=[DataRequired()], validate_choice=True)


class LinkDuplicateForm(BaseForm):
    original_id = SelectField(_l("Duplicate of"), coerce=int, validators=[DataRequired()],
                              validate_choice=True)


# --- settings (admin_views) ------------------------------------------------------------------

def _days(label: Any, low: int, high: int) -> IntegerField:
    return IntegerField(label, validators=[InputRequired(), NumberRange(min=low, max=high)])


class DeadlinesForm(BaseForm):
    acceptance_days = _days(_l("Accept or reject within (working days)"), 0, 60)
    completion_days = _days(_l("Finish within (working days)"), 0, 365)
    merchant_reply_days = _days(_l("Merchant answers within (working days)"), 0, 60)
    reminder_hours_before = _days(_l("Remind officers this many hours before a deadline"), 0, 24 * 30)
    retention_days = _days(_l("Anonymise closed cases after (days)"), 30, 365 * 30)
    submit = SubmitField(_l("Save deadlines"))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if valid and self.completion_days.data < self.acceptance_days.data:
            self.completion_days.errors.append(
                str(_l("The completion deadline cannot be shorter than the acceptance deadline.")))
            return False
        return valid


class HolidayForm(BaseForm):
    day = DateField(_l("Date"), validators=[InputRequired()])
    is_workday = SelectField(_l("This day is"), choices=[
        SelectChoice("0", _l("a holiday (no work)")), SelectChoice("1", _l("a working day (moved weekend)"))],
        validators=[DataRequired()], validate_choice=True)
    name = StringField(_l("Name, e.g. National Day"),
                       validators=[Optional(), Length(max=50)])
    submit = SubmitField(_l("Add to the calendar"))


class StationForm(BaseForm):
    name = StringField(_l("Station name"), validators=[DataRequired(), Length(max=100)])
    area_id = SelectField(_l("Commercial area"), coerce=int, validate_choice=True)
    active = SelectField(_l("Status"),
                         choices=[SelectChoice("1", _l("Active")), SelectChoice("0", _l("Inactive"))],
                         validators=[DataRequired()], validate_choice=True, default="1")
    # The station's own targets; empty: the bureau's (the legal limits are never changed here).
    acceptance_days = IntegerField(_l("Accept within (working days; empty: the bureau's target)"),
                                   validators=[Optional(), NumberRange(min=0, max=7)])
    completion_days = IntegerField(_l("Finish within (working days; empty: the bureau's target)"),
                                   validators=[Optional(), NumberRange(min=0, max=60)])
    submit = SubmitField(_l("Save the station"))
