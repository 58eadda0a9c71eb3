from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import BaseForm, label_choices
from ..models import MIN_RETURN_DAYS
from .labels import REFUND_METHOD_LABELS, STANDARD_EXCLUSIONS
from .terms import unknown_placeholders


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SigningForm(BaseForm):
    """How every pledge's form ends: saving a draft needs nothing, signing needs the box."""

    agree = BooleanField(_l("I have read these terms and sign this pledge on behalf of the shop"))
    save_draft = SubmitField(_l("Save as draft"))
    submit = SubmitField(_l("Sign and submit for review"))

    def validate_agree(self, field: BooleanField) -> None:
        if self.submit.data and not field.data:
            raise ValidationError(_l("Tick the box to sign the pledge."))


class GenuineTermsForm(SigningForm):
    """Signing the genuine-goods pledge: its terms are fixed, so only the signature."""


class ReturnsTermsForm(SigningForm):
    """Signing the no-reason-returns pledge: the merchant sets the window, exclusions and refund."""

    return_days = IntegerField(_l("Return window (days after purchase)"), default=15, validators=[
        InputRequired(), NumberRange(min=MIN_RETURN_DAYS, max=365,
                                     message=_l("At least %(min)d days, at most %(max)d."))],
        render_kw={"inputmode": "numeric"})
    conditions = TextAreaField(_l("Conditions for a return"), default="", validators=[Optional(), Length(max=1000)],
                               render_kw={"placeholder": _l("e.g. goods intact, tags on, receipt shown")})
    excluded = MultiCheckboxField(_l("Goods excluded from no-reason returns"),
                                  choices=label_choices(STANDARD_EXCLUSIONS), default=[])
    other_exclusions = TextAreaField(_l("Other excluded goods (one per line)"),
                                     validators=[Optional(), Length(max=500)])
    refund_method = SelectField(_l("How the refund is paid"), choices=label_choices(REFUND_METHOD_LABELS),
                                validators=[DataRequired()])
    refund_days = IntegerField(_l("Refund paid within (days)"), default=3, validators=[
        InputRequired(), NumberRange(min=0, max=30, message=_l("Between %(min)d and %(max)d days."))],
        render_kw={"inputmode": "numeric"})

    def exclusions(self) -> tuple[str, ...]:
        own = [line.strip()[:50] for line in (self.other_exclusions.data or "").splitlines() if line.strip()]
        return tuple(self.excluded.data or []) + tuple(own[:20])


def _known_placeholders(_form: object, field: TextAreaField) -> None:
    unknown = unknown_placeholders(field.data or "")
    if unknown:
        raise ValidationError(_l("Unknown placeholders: %(names)s", names=", ".join(unknown)))


class TemplateForm(BaseForm):
    title_zh = StringField(_l("Title (Chinese)"), validators=[DataRequired(), Length(max=100)])
    body_zh = TextAreaField(_l("Terms (Chinese)"), validators=[DataRequired(), Length(max=5000), _known_placeholders])
    title_en = StringField(_l("Title (English)"), validators=[DataRequired(), Length(max=150)])
    body_en = TextAreaField(_l("Terms (English)"), validators=[DataRequired(), Length(max=5000), _known_placeholders])
    submit = SubmitField(_l("Save as the next version"))
