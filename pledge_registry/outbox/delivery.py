"""The outbox worker: claim due messages, send each, record the result.

Messages are rows written in the same transaction as the change that causes them
(outbox.enqueue), so a rolled-back change notifies nobody and a committed one is never
lost: a row stays until it is sent, and one that keeps failing ends as `failed`, kept
for `flask outbox deliver --retry-failed`.

One run:
1. claim, in a short transaction of its own: due rows (pending, next_attempt_at <= now,
   claimed_until null or past) get claimed_until = now + lease. PostgreSQL selects them
   with FOR UPDATE SKIP LOCKED, so concurrent workers take disjoint rows without waiting;
   SQLite's BEGIN IMMEDIATE (sqlite_tuning.configure_sqlite) serialises the claims.
2. for each claimed row: check it is still ours and pending, render it, end that read
   transaction (no database lock is held during the network call), send.
3. right after a successful send, mark it sent (sent_at) in a new transaction; after a
   failure, count the attempt and schedule the next one with exponential backoff.

Delivery is at least once, and exactly once except in one window: if the process dies
(or the database is unreachable) after the backend accepted the message and before step
3 commits, the row stays pending and claimed; when the lease runs out, a later run sends
it again. The window is the length of one commit. Both backends make the resend
recognisable: the SMS webhook gets the dedupe_key as `Idempotency-Key` (a gateway that
honours it drops the resend) and e-mail gets a Message-ID derived from the dedupe_key.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import ColumnElement, CursorResult, or_, select, update
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import OutboxMessage
from . import messages
from .backends import Backend, DeliveryError, Outgoing, PermanentDeliveryError, from_config, mask_recipient

log = logging.getLogger("pledge_registry.outbox")

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0     # gave up in this run: status 'failed'
    skipped: int = 0    # claim lost or lease nearly over: left for a later run


def backoff(attempts: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Wait before the next attempt after `attempts` failures: 1 min × 2^(attempts-1),
    capped at 6 hours, minus up to 25% jitter so that failed batches spread out."""
    nominal = min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    return nominal * (1 - 0.25 * rng())


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))


def claim(session: Session, now: datetime, limit: int, lease: timedelta) -> tuple[list[int], datetime]:
    """Claim up to `limit` due messages in the session's current transaction (the caller
    commits). Returns their ids and the claim's lease end, which identifies the claim."""
    until = now + lease
    query = (select(OutboxMessage.id).where(*_due(now))
             .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if ids:
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids), *_due(now))
                        .values(claimed_until=until).execution_options(synchronize_session=False))
    return ids, until


def deliver_due(backend: Backend | None = None, now: datetime | None = None,
                batch_size: int | None = None) -> DeliveryReport:
    """Claim one batch of due messages and deliver them. `now` is for tests."""
    config = current_app.config
    backend = backend or from_config(config)
    now = now or datetime.now(UTC)
    lease = timedelta(seconds=config["OUTBOX_LEASE_SECONDS"])
    max_attempts = config["OUTBOX_MAX_ATTEMPTS"]
    report = DeliveryReport()
    session = db.session()  # the request's own Session behind the scoped proxy
    ids, until = claim(session, now, batch_size or config["OUTBOX_BATCH_SIZE"], lease)
    session.commit()
    report.claimed = len(ids)
    started = time.monotonic()
    # Stop sending well before the lease ends: after it, another worker may claim the rest.
    budget = lease.total_seconds() * 0.8
    for position, message_id in enumerate(ids):
        if time.monotonic() - started > budget:
            _release(session, ids[position:], until)
            report.skipped += len(ids) - position
            break
        outgoing = _prepare(session, message_id, until, config)
        if outgoing is None:
            report.skipped += 1
            continue
        if isinstance(outgoing, Exception):
            _record_failure(session, message_id, outgoing, now, max_attempts, permanent=True)
            report.failed += 1
            continue
        try:
            backend.send(outgoing)
        except DeliveryError as err:
            gave_up = _record_failure(session, message_id, err, now, max_attempts,
                                      permanent=isinstance(err, PermanentDeliveryError))
            report.failed += gave_up
            report.retrying += not gave_up
            continue
        except Exception as err:  # noqa: BLE001  a backend bug: keep the message, keep its text out of the log
            gave_up = _record_failure(session, message_id, err, now, max_attempts)
            report.failed += gave_up
            report.retrying += not gave_up
            continue
        mark_sent(session, message_id, now)
        report.sent += 1
        log.info("outbox sent id=%s channel=%s template=%s to=%s", message_id, outgoing.channel,
                 outgoing.template, mask_recipient(outgoing.recipient))
    return report


def _prepare(session: Session, message_id: int, until: datetime,
             config: Mapping[str, Any]) -> Outgoing | Exception | None:
    """The rendered message if the row is still pending and claimed by us; None if not
    (sent meanwhile, or re-claimed by another worker after our lease ran out); the error
    if it cannot be rendered. Ends the read transaction before the network call."""
    try:
        row = session.get(OutboxMessage, message_id, populate_existing=True)
        if row is None or row.status != "pending" or row.claimed_until != until:
            return None
        try:
            rendered = messages.render(row.template, row.context or {}, row.channel,
                                       base_url=config["BASE_URL"],
                                       sender=config["BUREAU_NAME"])
        except KeyError as err:  # unknown template or missing context value: a code bug
            return PermanentDeliveryError(f"cannot render template {row.template}: missing {err}")
        return Outgoing(id=row.id, channel=row.channel, recipient=row.recipient, template=row.template,
                        subject=rendered.subject, text=rendered.text, dedupe_key=row.dedupe_key)
    finally:
        session.commit()


def mark_sent(session: Session, message_id: int, now: datetime) -> None:
    """Record a successful send at once, in its own transaction."""
    session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id,
                                                OutboxMessage.status == "pending")
                    .values(status="sent", sent_at=now, claimed_until=None, last_error="")
                    .execution_options(synchronize_session=False))
    session.commit()


def _safe_error(err: Exception) -> str:
    """What last_error keeps: our own DeliveryError texts are free of personal data by
    construction; for anything else only the exception's type."""
    if isinstance(err, DeliveryError):
        return str(err)[:500]
    return f"unexpected {type(err).__name__}"


def _record_failure(session: Session, message_id: int, err: Exception, now: datetime,
                    max_attempts: int, permanent: bool = False) -> bool:
    """Count the attempt and schedule the next; True when the message is now `failed`."""
    row = session.get(OutboxMessage, message_id, populate_existing=True)
    if row is None or row.status != "pending":
        session.commit()
        return False
    row.attempts += 1
    row.last_error = _safe_error(err)
    row.claimed_until = None
    gave_up = permanent or row.attempts >= max_attempts
    if gave_up:
        row.status = "failed"
    else:
        row.next_attempt_at = now + backoff(row.attempts)
    session.commit()
    log.warning("outbox %s id=%s channel=%s template=%s attempt=%d error=%s",
                "gave up" if gave_up else "will retry", row.id, row.channel, row.template,
                row.attempts, row.last_error)
    return gave_up


def _release(session: Session, ids: list[int], until: datetime) -> None:
    session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_until == until)
                    .values(claimed_until=None).execution_options(synchronize_session=False))
    session.commit()


def retry_failed(now: datetime | None = None) -> int:
    """Put every `failed` message back in the queue with a fresh count of attempts."""
    now = now or datetime.now(UTC)
    result = db.session.execute(update(OutboxMessage).where(OutboxMessage.status == "failed")
                                .values(status="pending", attempts=0, next_attempt_at=now, claimed_until=None)
                                .execution_options(synchronize_session=False))
    db.session.commit()
    return cast(CursorResult[Any], result).rowcount  # an UPDATE's result is a CursorResult


def counts() -> dict[str, int]:
    """Messages per status, for `flask outbox status`."""
    from sqlalchemy import func

    rows = db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    return dict(rows.tuples().all())
