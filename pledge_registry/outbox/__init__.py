"""The outbox: notifications written with the change that causes them, delivered later."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import OutboxMessage


def enqueue(channel: str, recipient: str, template: str, context: dict[str, Any], dedupe_key: str) -> None:
    """Add a message to the current transaction (the caller commits). One per dedupe_key:
    a cause that happens twice (a retried request) does not notify twice."""
    if not recipient:
        return
    exists = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key))
    if exists is None:
        db.session.add(OutboxMessage(channel=channel, recipient=recipient, template=template,
                                     context=context, dedupe_key=dedupe_key))
