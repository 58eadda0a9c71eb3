"""The shopper's forms: filing, tracking, answering a proposal, the survey. Shape checks
only; the workflow decides what a case may do next."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import MOBILE_RE, BaseForm, label_choices, mobile_field
from ..localtime import local_today
from ..models.complaints import TRACKING_ALPHABET, TRACKING_LENGTH
from ..money import yuan_to_cents
from .labels import PROBLEM_TYPE_LABELS, SHOPPER_REQUEST_TYPE_LABELS, SURVEY_LABELS, WANT_LABELS
from .uploads import MAX_PHOTOS, chosen_files

MAX_ACCOUNT = 2000
MAX_AMOUNT_YUAN = 10_000_000  # ten million yuan: more is a typing slip
_AMOUNT_RE = re.compile(r"^\d{1,8}(\.\d{1,2})?$", re.ASCII)
_KEY_RE = re.compile(r"^[0-9a-f]{32}$")
_ASCII_MOBILE_RE = re.compile(MOBILE_RE, re.ASCII)



def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def normalise_tracking_code(text: str | None) -> str | None:
    """The 14 symbols of a tracking code as typed in any case, with or without dashes and
    spaces; None when it cannot be one (no database look-up for those)."""
    if not text or len(text) > 40:
        return None
    code = text.replace("-", "").replace(" ", "").upper()
    if len(code) != TRACKING_LENGTH or any(c not in TRACKING_ALPHABET for c in code):
        return None
    return code


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ComplaintForm(BaseForm):
    # Made when the form is first shown and posted back unchanged: a retried or double-clicked
    # submission carries the same key and files one case.
    idempotency_key = HiddenField()
    request_type = RadioField(_l("What do you want to do?"), choices=label_choices(SHOPPER_REQUEST_TYPE_LABELS),
                              default="complaint", validators=[InputRequired()])
    item = StringField(_l("What did you buy (or what service)?"),
                       validators=[DataRequired(), Length(max=200)])
    purchased_on = DateField(_l("When?"), validators=[Optional()])
    amount = StringField(_l("Amount paid, in yuan (optional)"),
                         validators=[Optional(), Length(max=12)],
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    problem_type = SelectField(_l("What kind of problem?"),
                               choices=[SelectChoice("", _l("Choose…")), *label_choices(PROBLEM_TYPE_LABELS)],
                               validators=[DataRequired(message=_l("Choose the kind of problem."))])
    account = TextAreaField(_l("What happened?"),
                            validators=[DataRequired(message=_l("Tell us what happened.")),
                                        Length(max=MAX_ACCOUNT)],
                            render_kw={"rows": 6, "maxlength": MAX_ACCOUNT})
    wants = MultiCheckboxField(_l("What do you want? (choose any)"), choices=label_choices(WANT_LABELS),
                               validators=[Optional()])
    photos = MultipleFileField(_l("Photos (up to 3, optional)"),
                               render_kw={"accept": "image/jpeg,image/png,image/webp"})
    shopper_name = StringField(_l("Your name (optional)"),
                               validators=[Optional(), Length(max=50)],
                               render_kw={"autocomplete": "name"})
    shopper_phone = mobile_field(_l("Your mobile number"))
    consent = BooleanField(_l("I have read the notice above and agree that my data is used this way."),
                           validators=[DataRequired(
                               message=_l("Tick the box to agree, or we cannot handle your complaint."))])
    submit = SubmitField(_l("Send complaint"))

    def validate_idempotency_key(self, field: HiddenField) -> None:
        if not isinstance(field.data, str) or not _KEY_RE.match(field.data):
            # Only a tampered or truncated page gets here: give it a fresh key and ask again.
            field.data = new_idempotency_key()
            raise ValidationError(_l("Please submit again."))

    def validate_shopper_phone(self, field: StringField) -> None:
        # mobile_field's pattern lets full-width and other Unicode digits through (\d).
        if field.data and not field.errors and not _ASCII_MOBILE_RE.match(field.data):
            raise ValidationError(_l("Enter an 11-digit mainland mobile number, e.g. 13812345678."))

    def validate_purchased_on(self, field: DateField) -> None:
        if field.data and field.data > local_today():
            raise ValidationError(_l("The date cannot be in the future."))
        if field.data and field.data.year < 1990:
            raise ValidationError(_l("Check the date."))

    def validate_amount(self, field: StringField) -> None:
        if not field.data:
            return
        if not _AMOUNT_RE.match(field.data) or (yuan_to_cents(field.data) or 0) >= MAX_AMOUNT_YUAN * 100:
            raise ValidationError(_l("Enter the amount in yuan, e.g. 199 or 199.50."))

    def validate_photos(self, field: MultipleFileField) -> None:
        if len(chosen_files(field.data or [])) > MAX_PHOTOS:
            raise ValidationError(_l("Attach at most %(n)d photos.", n=MAX_PHOTOS))

    @property
    def amount_cents(self) -> int | None:
        return yuan_to_cents(self.amount.data) if self.amount.data else None

    @property
    def hidden_errors(self) -> list[str]:
        return list(self.idempotency_key.errors)


class TrackForm(BaseForm):
    tracking_code = StringField(_l("Tracking code"), validators=[DataRequired(), Length(max=40)],
                                render_kw={"autocomplete": "off", "autocapitalize": "characters",
                                           "placeholder": "XXXX-XXXX-XXXX-XX"})
    phone_last4 = StringField(_l("Last 4 digits of your mobile number"),
                              validators=[DataRequired(), Length(min=4, max=4)],
                              render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 4})
    submit = SubmitField(_l("Show my case"))

    def validate_phone_last4(self, field: StringField) -> None:
        if not (isinstance(field.data, str) and len(field.data) == 4 and field.data.isascii() and field.data.isdigit()):
            raise ValidationError(_l("Enter the last 4 digits of the mobile number you gave."))


class AddInfoForm(BaseForm):
    text = TextAreaField(_l("Add information"),
                         validators=[DataRequired(), Length(max=MAX_ACCOUNT)],
                         render_kw={"rows": 4, "maxlength": MAX_ACCOUNT})
    submit = SubmitField(_l("Send"))


class RespondForm(BaseForm):
    """Accept or reject the merchant's proposal: one optional note, two buttons."""

    note = TextAreaField(_l("Note (optional)"),
                         validators=[Optional(), Length(max=500)], render_kw={"rows": 2})
    accept = SubmitField(_l("Accept the proposal"))
    reject = SubmitField(_l("Reject: ask the bureau to mediate"))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if valid and bool(self.accept.data) == bool(self.reject.data):
            self.form_errors.append(str(_l("Choose accept or reject.")))
            return False
        return valid


class WithdrawForm(BaseForm):
    note = TextAreaField(_l("Why do you withdraw? (optional)"),
                         validators=[Optional(), Length(max=500)], render_kw={"rows": 2})
    confirm = BooleanField(_l("Yes, withdraw my complaint. It will be closed and cannot be reopened."),
                           validators=[DataRequired(message=_l("Tick the box to confirm."))])
    submit = SubmitField(_l("Withdraw the complaint"))


class SurveyForm(BaseForm):
    answer = RadioField(_l("How satisfied are you with how your case was handled?"),
                        choices=label_choices(SURVEY_LABELS),
                        validators=[InputRequired(message=_l("Choose one answer."))])
    comment = TextAreaField(_l("Comment (optional)"),
                            validators=[Optional(), Length(max=500)], render_kw={"rows": 3})
    submit = SubmitField(_l("Send"))

