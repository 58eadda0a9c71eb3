"""Form base class and shared fields."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from babel import support
from flask import g
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import messages_path
from wtforms.validators import Length, Regexp

from .i18n import select_locale

MOBILE_RE = r"^1[3-9][0-9]{9}$"  # ASCII digits only: \d would accept full-width ones


@lru_cache(maxsize=8)
def _wtforms_messages(locale: str) -> support.Translations:
    """WTForms' own messages ("Field cannot be longer than …") in one language, read once
    per process. Flask-WTF reads the catalogue again on every request (1-2 ms)."""
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class BaseForm(FlaskForm):
    """Every form of the app. Fails validation when the CSRF token was refused, so a
    re-rendered form keeps the user's input (see errors.csrf_failure)."""

    class Meta:
        def get_translations(self, form: Any) -> support.Translations:
            return _wtforms_messages(select_locale())

    def validate(self, extra_validators: Any = None) -> bool:
        if g.get("csrf_failed"):
            super().validate(extra_validators)
            self.form_errors.append(
                str(_l("This page was open too long and has expired. Your input is kept: please submit again."))
            )
            return False
        return super().validate(extra_validators)


class EmptyForm(BaseForm):
    """A button-only action: CSRF and nothing else."""


def label_choices(labels: Mapping[Any, Any]) -> list[SelectChoice]:
    """Choices for a select, radio or check-box field from a {value: label} mapping, in its
    order. Every choice of the app is a SelectChoice (WTForms 3.4 drops (value, label) tuples)."""
    return [SelectChoice(value, label) for value, label in labels.items()]


def mobile_field(label: Any, required: bool = True, **kwargs: Any) -> StringField:
    from wtforms.validators import DataRequired, Optional

    first = DataRequired() if required else Optional()
    return StringField(
        label,
        validators=[first, Length(max=11), Regexp(MOBILE_RE, message=_l("Enter an 11-digit mainland mobile number, e.g. 13812345678."))],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        render_kw={"inputmode": "tel", "autocomplete": "tel"},
        **kwargs,
    )
