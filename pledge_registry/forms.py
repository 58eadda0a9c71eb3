"""Form base class and shared fields.

Every text field of every form (a StringField or one of its kinds: TextAreaField,
HiddenField, ...) is stripped and refuses control characters, added by BaseForm when the
field is bound: no form can forget it. Password fields are left exactly as typed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from babel import support
from flask import g, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import messages_path
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from .i18n import select_locale

MOBILE_RE = r"^1[3-9][0-9]{9}$"  # ASCII digits only: \d would accept full-width ones
_INT_RE = re.compile(r"^-?[0-9]{1,20}$")


@lru_cache(maxsize=8)
def _wtforms_messages(locale: str) -> support.NullTranslations:
    """WTForms' own messages ("Field cannot be longer than …") in one language, read once
    per process. Flask-WTF reads the catalogue again on every request (1-2 ms)."""
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def strip(value: object) -> object:
    """The filter of every text field: surrounding spaces are never meant."""
    return value.strip() if isinstance(value, str) else value


def is_control_char(c: str) -> bool:
    """C0 controls but tab and line breaks, DEL, and the C1 controls (U+0080-U+009F)."""
    return (ord(c) < 32 and c not in "\r\n\t") or 0x7F <= ord(c) <= 0x9F


def no_control_chars(_form: object, field: Any) -> None:
    """The validator of every text field: NUL and other control characters are never typed
    by a person, and PostgreSQL refuses NUL in text (a 500 if it got that far)."""
    if isinstance(field.data, str) and any(is_control_char(c) for c in field.data):
        raise ValidationError(_l("Remove the control characters from this field."))


def _is_text(field: Any) -> bool:
    return isinstance(field, StringField) and not isinstance(field, PasswordField)


class BaseForm(FlaskForm):
    """Every form of the app. Fails validation when the CSRF token was refused, so a
    re-rendered form keeps the user's input (see errors.csrf_failure)."""

    class Meta:
        def get_translations(self, form: Any) -> support.NullTranslations:
            return _wtforms_messages(select_locale())

        def bind_field(self, form: Any, unbound_field: Any, options: Any) -> Any:
            field = super().bind_field(form, unbound_field, options)  # type: ignore[misc]
            if _is_text(field):
                field.filters = (strip, *field.filters)
                field.validators = [*field.validators, no_control_chars]
            return field

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
    first = DataRequired() if required else Optional()
    return StringField(
        label,
        validators=[first, Length(max=11), Regexp(
            MOBILE_RE, message=_l("Enter an 11-digit mainland mobile number, e.g. 13812345678."))],
        render_kw={"inputmode": "tel", "autocomplete": "tel"},
        **kwargs,
    )


def text_field(label: Any, max_length: int = 1000, required: bool = False, area: bool = True) -> Any:
    """A free-text field with its length bound: a box (`area`) or a single line."""
    kind = TextAreaField if area else StringField
    first = DataRequired() if required else Optional()
    return kind(label, validators=[first, Length(max=max_length)])


def reason_field(label: Any, required: bool = False, max_length: int = 500) -> TextAreaField:
    """The reason box of a decision (the merchant, sometimes shoppers, read it)."""
    return text_field(label, max_length, required)


class DecisionForm(BaseForm):
    """A reason and two buttons, of which exactly one was pressed.

    A decision with other buttons subclasses this: it names its buttons in `yes`/`no`,
    sets `approve`/`reject` to None (WTForms then drops them) and declares its own."""

    yes = "approve"
    no = "reject"
    choose_message: Any = _l("Choose either approve or reject.")
    reason = reason_field(_l("Reason (the merchant sees it)"), required=True, max_length=1000)
    approve = SubmitField(_l("Approve"))
    reject = SubmitField(_l("Reject"))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if valid and bool(self[self.yes].data) == bool(self[self.no].data):
            self.form_errors.append(str(self.choose_message))
            return False
        return valid

    @property
    def approved(self) -> bool:
        """Whether the "yes" button was the one pressed."""
        return bool(self[self.yes].data)


def query_int(name: str, default: int | None = None, minimum: int = 0, maximum: int = 10**9,
              clamp: bool = False) -> int | None:
    """An integer from the query string, within [minimum, maximum]. Missing, not a number
    or out of range: `default` (or, with `clamp`, the nearest bound for a number out of
    range). The one place a view reads a number from the query string, so that no huge
    value ever reaches the database."""
    raw = request.args.get(name, "")
    if not _INT_RE.match(raw):
        return default
    value = int(raw)
    if minimum <= value <= maximum:
        return value
    return max(minimum, min(value, maximum)) if clamp else default


def query_text(name: str, max_length: int = 50) -> str:
    """A search text from the query string: control characters dropped (PostgreSQL refuses
    NUL), surrounding spaces stripped, at most `max_length` characters. The one place a view
    reads free text from the query string."""
    raw = request.args.get(name, "")
    return "".join(c for c in raw if not is_control_char(c)).strip()[:max_length]


def query_page(maximum: int = 10_000) -> int:
    """The `page` query argument of a paginated list (1 when missing)."""
    return query_int("page", 1, 1, maximum, clamp=True) or 1
