"""Events that change a rating: re-rate the merchant in the same transaction.

A feature calls one of these where the change happens (a complaint closed, a pledge moved,
an inspection or penalty recorded). They only note the merchant in the session; just
before that session commits, every noted merchant is re-rated with
``services.update_merchants`` in the same transaction, after all the caller's changes.

Why at commit and not at the call: a service often makes several changes before it
commits (activating a renewal, then superseding the pledge it renews); re-rating in the
middle would flush a half-done state (one standing pledge per kind is a unique index) and
rate it. At commit the state is whole, the merchant is rated once however many events it
had, and the event and its rating are committed together or rolled back together.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db

_PENDING = "ratings_pending"


def _note(merchant_id: int | None, cause: str) -> None:
    if merchant_id is None:
        return
    pending: dict[int, str] = db.session.info.setdefault(_PENDING, {})
    pending.setdefault(merchant_id, cause)


def on_complaint_closed(merchant_id: int) -> None:
    """A complaint was closed (resolved, not resolved, withdrawn, rejected)."""
    _note(merchant_id, "complaint_closed")


def on_pledge_change(merchant_id: int) -> None:
    """A pledge changed status (approved, suspended, revoked, expired ...)."""
    _note(merchant_id, "pledge_change")


def on_compliance_change(merchant_id: int) -> None:
    """An inspection or a penalty was recorded, corrected or removed."""
    _note(merchant_id, "compliance_change")


def on_complaint_change(merchant_id: int) -> None:
    """Anything else about a complaint that the rating counts (an answer, a survey)."""
    _note(merchant_id, "complaint_change")


def _rate_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    from . import services

    by_cause: dict[str, list[int]] = {}
    for merchant_id, cause in pending.items():
        by_cause.setdefault(cause, []).append(merchant_id)
    for cause, ids in by_cause.items():
        services.update_merchants(ids, cause)


def _forget_pending(session: Session, *_args: object) -> None:
    session.info.pop(_PENDING, None)


def init_app(_app: Flask) -> None:
    """Re-rate noted merchants at commit (called by create_app)."""
    # db.session is a scoped_session: listening on it covers every session it makes.
    if not event.contains(db.session, "before_commit", _rate_pending):
        event.listen(db.session, "before_commit", _rate_pending)
        event.listen(db.session, "after_rollback", _forget_pending)
