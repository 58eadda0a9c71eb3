"""The one base of every service's refusal: services raise, views translate."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused the request; `code` says which (views map it to a message).

    `field` optionally names the form field the refusal is about, and `status` the HTTP
    status it answers; both override what the view's refusal table says for `code`
    (see refusals.refuse).
    """

    def __init__(self, code: str, field: str | None = None, status: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.field = field
        self.status = status


def commit_or_refuse(refusal: DomainError) -> None:
    """Commit the session; if the schema refuses it (a unique row someone else wrote a
    moment ago), roll back and raise `refusal` instead."""
    from sqlalchemy.exc import IntegrityError

    from .extensions import db

    try:
        db.session.commit()
    except IntegrityError as err:
        db.session.rollback()
        raise refusal from err
