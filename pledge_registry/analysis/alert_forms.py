"""The spike alert's acknowledgement form (shape checks only)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SubmitField

from ..forms import BaseForm, reason_field


class AcknowledgeForm(BaseForm):
    note = reason_field(_l("What is done about it"), required=True, max_length=500)
    submit = SubmitField(_l("Acknowledge the alert"))
