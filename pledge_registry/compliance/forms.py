"""Compliance forms: shape checks only; the rules are in compliance.services."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, DecimalField, SelectField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..forms import BaseForm, DecisionForm, reason_field, text_field
from .services import REPLY_MAX


class InspectionForm(BaseForm):
    inspected_on = DateField(_l("Inspection date"), validators=[InputRequired()])
    subject = text_field(_l("What was checked"), 200, required=True, area=False)
    result = SelectField(_l("Result"), validators=[DataRequired()], choices=[
        SelectChoice("passed", _l("Passed (合格)")), SelectChoice("failed", _l("Failed (不合格)"))])
    findings = text_field(_l("Findings (required when failed)"), 2000)
    submit = SubmitField(_l("Record the inspection"))


class PenaltyForm(BaseForm):
    case_number = text_field(_l("Case number (decision document number)"), 60, required=True, area=False)
    decided_on = DateField(_l("Decision date"), validators=[InputRequired()])
    reason = text_field(_l("What for"), 500, required=True)
    amount = DecimalField(_l("Amount (yuan)"), places=2,
                          validators=[InputRequired(), NumberRange(min=0, max=10**10)])
    submit = SubmitField(_l("Record the penalty"))


class ImportForm(BaseForm):
    kind = SelectField(_l("What the file holds"),
                       choices=[SelectChoice("inspections", _l("Inspections (抽查)")),
                                SelectChoice("penalties", _l("Penalties (行政处罚)"))],
                       validators=[DataRequired()])
    file = FileField(_l("Excel (.xlsx) or CSV file"))
    csv_text = TextAreaField(_l("…or paste CSV text (header row first)"),
                             validators=[Optional(), Length(max=500_000)])
    partial = BooleanField(_l("Load the good rows even if some rows have errors"))
    submit = SubmitField(_l("Check and import"))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if valid and not self.file.data and not (self.csv_text.data or "").strip():
            self.file.errors.append(str(_l("Choose a file, or paste CSV text.")))
            return False
        return valid


class ReplyForm(BaseForm):
    text = text_field(_l("Your reply (shown beside your rating)"), REPLY_MAX, required=True)
    submit = SubmitField(_l("Publish the reply"))


class AppealForm(BaseForm):
    finding = SelectField(_l("The finding you appeal against (optional)"), choices=[SelectChoice("", "—")],
                          validate_choice=True)
    grounds = text_field(_l("Grounds of the appeal"), 2000, required=True)
    submit = SubmitField(_l("Submit the appeal"))


class RemoveReplyForm(BaseForm):
    removal_reason = reason_field(_l("Why the reply is removed (the merchant sees it)"), required=True,
                                  max_length=300)
    submit = SubmitField(_l("Remove the reply"))


class AppealDecisionForm(DecisionForm):
    yes, no = "uphold", "dismiss"
    choose_message = _l("Choose either uphold or dismiss.")
    approve = reject = None
    uphold = SubmitField(_l("Uphold the appeal"))
    dismiss = SubmitField(_l("Dismiss the appeal"))


class ProposalDecisionForm(DecisionForm):
    yes, no = "accept", "decline"
    choose_message = _l("Choose either suspend or decline.")
    reason = reason_field(_l("Reason (shown to the merchant, and to shoppers if the pledge is suspended)"),
                          required=True, max_length=500)
    approve = reject = None
    accept = SubmitField(_l("Suspend the pledge"))
    decline = SubmitField(_l("Decline the proposal"))
