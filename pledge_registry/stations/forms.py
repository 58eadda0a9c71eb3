"""Forms of the station pages; shape checks only (the rules are stations.services')."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from ..auth.services import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from ..complaints.labels import CHANNEL_LABELS
from ..forms import BaseForm, label_choices


class StationAccountForm(BaseForm):
    login = StringField(_l("Mobile number or e-mail of the station officer"),
                        validators=[DataRequired(), Length(max=254)], render_kw={"autocomplete": "off"})
    display_name = StringField(_l("Officer's name"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("First password (the officer changes it after signing in)"), validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
                               message=_l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))],
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Password again"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Create the station account"))


class PeriodForm(BaseForm):
    """The service-levels period (GET)."""

    class Meta:
        csrf = False

    start = DateField(_l("Received from"), validators=[Optional()])
    end = DateField(_l("to"), validators=[Optional()])
    channel = SelectField(_l("Channel"), choices=[SelectChoice("", _l("All channels")), *label_choices(CHANNEL_LABELS)],
                          validators=[Optional()])
