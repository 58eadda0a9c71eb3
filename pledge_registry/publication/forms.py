"""Publication forms: shape checks only; the rules are in publication.services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, NumberRange

from ..forms import BaseForm, DecisionForm, reason_field, text_field
from ..models import STATEMENT_MAX_LENGTH
from .rules import PublicationRules

QUARTER_CHOICES = [SelectChoice(str(q), _l("Quarter %(q)d", q=q)) for q in (1, 2, 3, 4)]


class DraftForm(BaseForm):
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(2000, 2100)])
    quarter = SelectField(_l("Quarter"), choices=QUARTER_CHOICES, validators=[DataRequired()])
    submit = SubmitField(_l("Draft the publication"))


class RulesForm(BaseForm):
    min_accepted = IntegerField(
        _l("Include a merchant with at least this many accepted complaints in the quarter"),
        validators=[InputRequired(), NumberRange(*PublicationRules.LIMITS["min_accepted"])])
    notice_workdays = IntegerField(
        _l("Working days merchants have to add a statement before publication"),
        validators=[InputRequired(), NumberRange(*PublicationRules.LIMITS["notice_workdays"])])
    submit = SubmitField(_l("Save the rules"))


class StatementForm(BaseForm):
    statement = text_field(_l("Your statement (optional, published beside the figures)"),
                           max_length=STATEMENT_MAX_LENGTH)
    submit = SubmitField(_l("Save the statement"))


class EntryDecisionForm(DecisionForm):
    """Approve an entry, or withhold it with a reason (the merchant sees it)."""

    no = "withhold"
    choose_message = _l("Choose either approve or withhold.")
    reason = reason_field(_l("Reason (required to withhold; the merchant sees it)"), max_length=500)
    reject = None
    withhold = SubmitField(_l("Withhold"))
