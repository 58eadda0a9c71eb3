from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .. import uscc
from ..forms import BaseForm, label_choices, mobile_field
from .labels import CATEGORY_LABELS

CREDIT_CODE_MESSAGES = {
    "empty": _l("Enter the 18-character unified social credit code from the business licence."),
    "length": _l("The code has %(got)d characters; it must have 18."),
    "charset": _l("Character %(pos)d is not allowed: the code uses digits and capital letters "
                  "except I, O, S, V and Z."),
    "authority": _l("Character 1 (the registration authority) is not valid."),
    "type": _l("Character 2 (the organisation type) does not fit the registration authority."),
    "region": _l("Characters 3 to 8 are not a valid region code."),
    "check": _l("The last character does not match: check the code against the licence "
                "(the code as typed would end in %(expected)s)."),
}


def credit_code_message(err: uscc.CreditCodeError, raw: str) -> str:
    template = CREDIT_CODE_MESSAGES.get(err.kind, CREDIT_CODE_MESSAGES["empty"])
    return str(template) % {"got": len(uscc.normalize(raw)), "pos": err.position or 0,
                            "expected": err.expected or ""}


def validate_credit_code(_form: object, field: StringField) -> None:
    try:
        field.data = uscc.validate(field.data or "")
    except uscc.CreditCodeError as err:
        raise ValidationError(credit_code_message(err, field.data or "")) from err


class ShopForm(BaseForm):
    credit_code = StringField(_l("Unified social credit code"),
                              validators=[DataRequired(), Length(max=40), validate_credit_code],
                              render_kw={"autocapitalize": "characters", "spellcheck": "false"})
    legal_name = StringField(_l("Legal name (as on the business licence)"),
                             validators=[DataRequired(), Length(max=200)])
    shop_name = StringField(_l("Shop name (on the sign)"),
                            validators=[DataRequired(), Length(max=100)])
    address = StringField(_l("Shop address"), validators=[DataRequired(), Length(max=200)])
    town_id = SelectField(_l("Town or district"), coerce=int, validators=[DataRequired()])
    area_id = SelectField(_l("Commercial area (mall or street)"), coerce=int, validators=[Optional()])
    category = SelectField(_l("Industry"), choices=label_choices(CATEGORY_LABELS),
                           validators=[DataRequired()])
    contact_name = StringField(_l("Contact person"), validators=[DataRequired(), Length(max=50)])
    contact_phone = mobile_field(_l("Contact mobile"))
    opening_hours = StringField(_l("Opening hours"), validators=[Optional(), Length(max=100)],
                                render_kw={"placeholder": "09:00-21:00"})
    submit = SubmitField(_l("Submit for review"))


class ReasonForm(BaseForm):
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Confirm"))
