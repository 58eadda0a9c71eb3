"""Turning a service's refusal (domain.DomainError) into a form error and a status.

Every feature declares its refusals in one shape, a {code: Refusal} table built with
`bad_input`, `conflict` and `forbidden`, and every view answers a refusal with `refuse`.
The status says what kind of refusal it is:

- 400 `bad_input`: what was entered is wrong or missing (the same request would fail again);
- 403 `forbidden`: this user may not do this (who is asking);
- 409 `conflict`: the record's current state does not allow it (reload and look again).

A code missing from the table answers 409 with a plain "cannot be done now" sentence (the
code is logged, so that the table can be completed).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l

from .domain import DomainError
from .extensions import db
from .security import security_event

log = logging.getLogger(__name__)

BAD_INPUT, FORBIDDEN, CONFLICT = 400, 403, 409


@dataclass(frozen=True)
class Refusal:
    """How one refusal code reads: its message, its status, and the form field it is about."""

    message: Any  # a lazy string (_l), translated when shown
    status: int = CONFLICT
    field: str | None = None


def bad_input(message: Any, field: str | None = None) -> Refusal:
    return Refusal(message, BAD_INPUT, field)


def forbidden(message: Any) -> Refusal:
    return Refusal(message, FORBIDDEN)


def conflict(message: Any, field: str | None = None) -> Refusal:
    return Refusal(message, CONFLICT, field)


Table = Mapping[str, Refusal]


def lookup(code: str, table: Table) -> Refusal:
    found = table.get(code)
    if found is None:
        # The code is internal wording: the user gets a plain sentence, the log the code.
        log.warning("refusal code %r has no entry in its table", code)
        return Refusal(_l("This cannot be done now. Reload the page and try again."))
    return found


def message(err: DomainError | str, table: Table) -> str:
    """The sentence for a refusal (for a flash message); a RatingError's detail follows it."""
    code = err if isinstance(err, str) else err.code
    text = str(lookup(code, table).message)
    detail = getattr(err, "detail", "")
    return f"{text} {detail}".strip() if detail else text


def status_of(err: DomainError, table: Table) -> int:
    return err.status or lookup(err.code, table).status


def refuse(err: DomainError, form: Any, table: Table, event: str, *,
           fields: Mapping[str, Any] | None = None, default_field: Any = None, **log_fields: Any) -> int:
    """Undo what the refused call left in the session, log the security event, put the
    message on the field the refusal is about (else `default_field`, else the top of the
    form) and return the status to answer with.

    `fields` maps a field name of the table to the form's field when they differ (the
    table says "date", this form's field is `inspected_on`)."""
    db.session.rollback()
    security_event(event, code=err.code, endpoint=request.endpoint, **log_fields)
    name = err.field or lookup(err.code, table).field
    field = None
    if name is not None:
        field = (fields or {}).get(name) or getattr(form, name, None)
    field = field if field is not None else default_field
    (field.errors if field is not None else form.form_errors).append(message(err, table))
    return status_of(err, table)
