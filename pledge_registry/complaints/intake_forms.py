"""The officers' forms for other channels' requests: record one, give a case its 12315
number, edit a channel's import mapping. Shape checks only; complaints.intake decides."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

from ..forms import BaseForm, label_choices, mobile_field
from ..localtime import local_today
from .forms import MAX_ACCOUNT, ComplaintForm
from .intake import STAFF_CHANNELS
from .labels import CHANNEL_LABELS, CONSENT_METHOD_LABELS, REQUEST_TYPE_LABELS

STAFF_CONSENT_METHODS = ("oral", "written", "channel")


class IntakeForm(ComplaintForm):
    """A request another channel received, as the officer enters it. The case's details are
    the shopper's form's (same fields, same checks), without the photos and the ticked box:
    the consent is the one given on that channel."""

    idempotency_key = None   # the channel's reference makes the request unique
    photos = None
    consent = None
    channel = SelectField(_l("Channel"), choices=[SelectChoice("", _l("Choose…")),
                                                  *label_choices({c.value: CHANNEL_LABELS[c.value]
                                                                  for c in STAFF_CHANNELS})],
                          validators=[DataRequired(message=_l("Choose the channel."))])
    channel_ref = StringField(_l("The channel's reference number"),
                              validators=[DataRequired(message=_l("Enter the channel's reference number.")),
                                          Length(max=64)], render_kw={"autocomplete": "off"})
    received_at = DateTimeLocalField(_l("Received by the channel at"), format="%Y-%m-%dT%H:%M",
                                     validators=[InputRequired(message=_l("Enter the date and time it was received."))])
    request_type = RadioField(_l("Kind of request"), choices=label_choices(REQUEST_TYPE_LABELS),
                              default="complaint", validators=[InputRequired()])
    badge_code = StringField(_l("The shop's badge code"), validators=[Optional(), Length(max=40)],
                             render_kw={"autocomplete": "off", "autocapitalize": "none"})
    shop_query = StringField(_l("Find the shop (name, address or credit code)"),
                             validators=[Optional(), Length(max=50)])
    find = SubmitField(_l("Find"))
    pick = StringField(validators=[Optional(), Length(max=40)])  # set by a result's "Use this shop" button
    item = StringField(_l("What was bought (or what service)?"), validators=[DataRequired(), Length(max=200)])
    account = TextAreaField(_l("The request as received"),
                            validators=[DataRequired(message=_l("Enter the request as received.")),
                                        Length(max=MAX_ACCOUNT)],
                            render_kw={"rows": 6, "maxlength": MAX_ACCOUNT})
    shopper_name = StringField(_l("Shopper's name (optional)"), validators=[Optional(), Length(max=50)])
    shopper_phone = mobile_field(_l("Shopper's mobile number (optional)"), required=False)
    consent_method = RadioField(_l("How the shopper consented, on that channel"),
                                choices=label_choices({m: CONSENT_METHOD_LABELS[m] for m in STAFF_CONSENT_METHODS}),
                                validators=[InputRequired(message=_l("Choose how the shopper consented."))])
    submit = SubmitField(_l("Record the request"))

    def validate_received_at(self, field: DateTimeLocalField) -> None:
        if field.data and field.data.year < 2000:
            raise ValidationError(_l("Check the date."))

    def validate_purchased_on(self, field: Any) -> None:
        super().validate_purchased_on(field)
        if field.data and self.received_at.data and field.data > self.received_at.data.date() \
                and field.data <= local_today():
            raise ValidationError(_l("The purchase cannot be after the request was received."))

    @property
    def searching(self) -> bool:
        """A search or a pick: the page comes back with the input kept, nothing recorded."""
        return bool(self.find.data) or bool(self.pick.data)

    @property
    def hidden_errors(self) -> list[str]:
        return list(self.pick.errors)


class Register12315Form(BaseForm):
    ref_12315 = StringField(_l("12315 number"),
                            validators=[DataRequired(message=_l("Enter the number 12315 gave the case.")),
                                        Length(max=40)], render_kw={"autocomplete": "off"})
    register = SubmitField(_l("Save the 12315 number"))


class MappingForm(BaseForm):
    """One import mapping: its name and its lines "header in the file = our field"."""

    name = StringField(_l("Mapping name"), validators=[DataRequired(), Length(max=30), Regexp(
        r"^[0-9a-z][0-9a-z_-]{0,29}$", message=_l("Lower-case letters, digits, - and _ only, e.g. 12345."))])
    lines = TextAreaField(_l("Columns: one line per column, header = field"),
                          validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 14})
    save = SubmitField(_l("Save the mapping"))
