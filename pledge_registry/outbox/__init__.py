"""The outbox: notifications written with the change that causes them, delivered later."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, bindparam, text

from ..database import UTCDateTime, utcnow
from ..extensions import db

# SQLAlchemy does not cache the compiled form of its dialects' on_conflict_do_nothing()
# (no cache key), and compiling it anew costs more than the rest of a complaint's INSERTs
# together, inside SQLite's write lock. This text is cached, and both engines (SQLite 3.24+,
# PostgreSQL 9.5+) take the same ON CONFLICT clause. The columns left out are NULL, the
# ones written here carry OutboxMessage's defaults (pending, 0 attempts, due now).
_INSERT = text(
    "INSERT INTO outbox_message (channel, recipient, template, context, dedupe_key, status, attempts, "
    "next_attempt_at, last_error, created_at) "
    "VALUES (:channel, :recipient, :template, :context, :dedupe_key, 'pending', 0, :now, '', :now) "
    "ON CONFLICT (dedupe_key) DO NOTHING",
).bindparams(bindparam("context", type_=JSON), bindparam("now", type_=UTCDateTime()))


def enqueue(channel: str, recipient: str, template: str, context: dict[str, Any], dedupe_key: str) -> None:
    """Add a message to the current transaction (the caller commits). One per dedupe_key:
    a cause that happens twice (a retried request) does not notify twice. The unique
    dedupe_key decides, in the INSERT itself (ON CONFLICT DO NOTHING), so two requests
    racing on the same cause cannot both write one, nor fail on the constraint."""
    if not recipient:
        return
    db.session.execute(_INSERT, {"channel": channel, "recipient": recipient, "template": template,
                                 "context": context, "dedupe_key": dedupe_key, "now": utcnow()})
