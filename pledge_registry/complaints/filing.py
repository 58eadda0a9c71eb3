"""Filing a new complaint in two steps, on SQL built once at import.

`plan_complaint` works out the whole case from reads alone (a view runs it in its read
phase, before SQLite's write lock is taken); `record_complaint` writes it in one short
transaction of plain INSERTs. The rules a new case must meet are the workflow's
(`workflow.validate_new`); this module is how it is stored fast.

Every statement here is Core on the tables, built once: no ORM entity to load and no
statement to compile per request (tests/test_insert_statements.py pins the INSERTs to
their tables).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from ..analysis import tally
from ..extensions import db
from ..models import (
    Complaint,
    ComplaintEvent,
    ComplaintPhoto,
    ComplaintStatus,
    Merchant,
    SupervisionStation,
    new_tracking_code,
)
from ..outbox import enqueue
from . import deadlines
from .uploads import StoredPhoto
from .workflow import CONSENT_VERSION, DUPLICATE_WINDOW, NewComplaint, WorkflowError, validate_new

# The mapped classes' tables (typed as Table: mapped on one table each, never a join).
_M, _S, _C = (cast(Table, m.__table__) for m in (Merchant, SupervisionStation, Complaint))

# The complaint page's shop, and the confirmation page: just what those pages show.
COMPLAIN_PAGE_MERCHANT = select(_M.c.id, _M.c.status, _M.c.badge_code, _M.c.shop_name, _M.c.legal_name,
                                _M.c.address).where(_M.c.badge_code == bindparam("code"))
CONFIRMATION = select(_C.c.tracking_code, _C.c.shopper_phone, _C.c.acceptance_due_at).where(
    _C.c.id == bindparam("complaint_id"))
# The shop of a new case and the supervision station of its commercial area.
SHOP_AND_STATION = (
    select(_M.c.shop_name, _S.c.id.label("station_id"), _S.c.acceptance_days, _S.c.completion_days)
    .select_from(_M.outerjoin(_S, (_S.c.area_id == _M.c.area_id) & _S.c.active.is_(True)))
    .where(_M.c.id == bindparam("merchant_id")))
# The possible-duplicate flag (same phone and shop within DUPLICATE_WINDOW) is an EXISTS
# inside the INSERT, so it is decided under the same lock as the row itself.
INSERT_COMPLAINT = insert(_C).values(possible_duplicate=select(_C.c.id).where(
    _C.c.merchant_id == bindparam("dup_merchant_id"), _C.c.shopper_phone == bindparam("dup_phone"),
    _C.c.received_at >= bindparam("dup_since", type_=_C.c.received_at.type)).exists())
INSERT_PHOTO = insert(cast(Table, ComplaintPhoto.__table__))
INSERT_EVENT = insert(cast(Table, ComplaintEvent.__table__))
EXISTING = select(_C.c.id, _C.c.tracking_code).where(_C.c.idempotency_key == bindparam("idempotency_key"))


@dataclass(frozen=True)
class ComplaintPlan:
    """A new case worked out from reads alone, ready to be written in one short transaction."""

    complaint: NewComplaint  # what the shopper gave, its texts trimmed
    tracking_code: str
    shop_name: str
    station_id: int | None
    received_at: datetime  # also when the shopper consented (on the channel that received it)
    acceptance_due_at: datetime
    completion_due_at: datetime


@dataclass(frozen=True)
class Filed:
    """A recorded case: what the shopper is shown. created=False for a retried submission."""

    id: int
    tracking_code: str
    created: bool


def existing(idempotency_key: str) -> Filed | None:
    """The case an earlier submission with this key filed, if any."""
    row = db.session.execute(EXISTING, {"idempotency_key": idempotency_key}).first()
    return Filed(row.id, row.tracking_code, created=False) if row else None


def plan_complaint(data: NewComplaint, now: datetime | None = None) -> ComplaintPlan:
    """Check a new case and work out all it needs: its shop and station, its deadlines, its
    tracking code. Only reads, so a view can run it before it takes SQLite's write lock.
    Whether the idempotency key was used before is left to the INSERT (record_complaint):
    a retry is rare, and the unique key decides it without a race."""
    now = now or datetime.now(UTC)
    cal = deadlines.calendar()
    validate_new(data, cal.local_date(now))
    # Another channel's request counts from when it reached that channel (checked by intake).
    received = data.received_at or now
    shop = db.session.execute(SHOP_AND_STATION, {"merchant_id": data.merchant_id}).first()
    if shop is None:
        raise WorkflowError("no_merchant")
    limits = deadlines.current_deadlines()
    # A station's own targets where it set them; the bureau's otherwise.
    acceptance_days = limits.acceptance_days if shop.acceptance_days is None else shop.acceptance_days
    completion_days = limits.completion_days if shop.completion_days is None else shop.completion_days
    trimmed = replace(data, item=data.item.strip(), account=data.account.strip(), wants=tuple(data.wants),
                      shopper_name=(data.shopper_name or "").strip() or None)
    return ComplaintPlan(
        complaint=trimmed, tracking_code=new_tracking_code(),
        shop_name=shop.shop_name, station_id=shop.station_id, received_at=received,
        acceptance_due_at=cal.add_workdays(received, acceptance_days),
        completion_due_at=cal.add_workdays(received, completion_days),
    )


def complaint_row(plan: ComplaintPlan) -> dict[str, Any]:
    """INSERT_COMPLAINT's parameters for a planned case."""
    c = plan.complaint
    return {
        "tracking_code": plan.tracking_code, "idempotency_key": c.idempotency_key,
        "request_type": c.request_type, "merchant_id": c.merchant_id, "station_id": plan.station_id,
        "item": c.item, "purchased_on": c.purchased_on, "amount_paid_cents": c.amount_paid_cents,
        "problem_type": c.problem_type, "account": c.account, "wants": list(c.wants),
        "shopper_name": c.shopper_name, "shopper_phone": c.shopper_phone,
        "consent_version": CONSENT_VERSION, "consent_at": plan.received_at,
        "consent_method": c.consent_method, "channel": c.channel, "channel_ref": c.channel_ref,
        "partner_id": c.partner_id, "recorded_by_id": c.recorded_by_id,
        "status": ComplaintStatus.RECEIVED, "received_at": plan.received_at,
        "acceptance_due_at": plan.acceptance_due_at, "completion_due_at": plan.completion_due_at,
        "dup_merchant_id": c.merchant_id, "dup_phone": c.shopper_phone,
        "dup_since": plan.received_at - DUPLICATE_WINDOW,
    }


def photo_row(complaint_id: int, photo: StoredPhoto) -> dict[str, Any]:
    """INSERT_PHOTO's parameters for one stored photo of a case."""
    return {"complaint_id": complaint_id, "stored_name": photo.stored_name, "width": photo.width,
            "height": photo.height, "size_bytes": photo.size_bytes}


def first_event_row(complaint_id: int, plan: ComplaintPlan) -> dict[str, Any]:
    """INSERT_EVENT's parameters for a new case's first event: the shopper filed it, or the
    officer who entered another channel's request did (dated when the channel received it)."""
    c = plan.complaint
    if c.received_at is None:
        return {"complaint_id": complaint_id, "kind": "received", "from_status": None,
                "to_status": ComplaintStatus.RECEIVED, "actor_role": "shopper", "created_at": plan.received_at}
    return {"complaint_id": complaint_id, "kind": "recorded", "from_status": None,
            "to_status": ComplaintStatus.RECEIVED, "actor_role": c.recorded_by_role, "actor_id": c.recorded_by_id,
            "note": f"{c.channel} {c.channel_ref or ''}".strip(), "created_at": plan.received_at}


def record_complaint(plan: ComplaintPlan, photos: Sequence[StoredPhoto] = ()) -> Filed:
    """Write a planned case, its photos, its first event and the shopper's notification,
    and commit: three or four plain INSERTs, so SQLite's write lock is held for as short
    a time as it can be.

    The possible-duplicate flag is decided inside the INSERT: on SQLite under the write
    lock, so two cases filed at once still see each other; on PostgreSQL (read committed)
    two filed in the same instant may both go unflagged. A submission whose idempotency
    key is taken (a retry, a double click) writes nothing and returns the first case,
    created=False."""
    try:
        inserted = cast(CursorResult[Any], db.session.execute(INSERT_COMPLAINT, complaint_row(plan)))
        complaint_id = inserted.inserted_primary_key[0]
    except IntegrityError:  # the key was used: by an earlier or a concurrent submission
        db.session.rollback()
        found = existing(plan.complaint.idempotency_key)
        if found is None:
            raise
        return found
    if photos:
        db.session.execute(INSERT_PHOTO, [photo_row(complaint_id, photo) for photo in photos])
    db.session.execute(INSERT_EVENT, first_event_row(complaint_id, plan))
    tally.add_complaints(db.session(), [complaint_id])  # Core INSERTs: the ORM listener cannot see them
    if plan.complaint.shopper_phone:
        enqueue("sms", plan.complaint.shopper_phone, "complaint_received",
                {"tracking_code": plan.tracking_code, "shop": plan.shop_name},
                dedupe_key=f"complaint:{complaint_id}:complaint_received:")
    db.session.commit()
    return Filed(complaint_id, plan.tracking_code, created=True)


def file_complaint(data: NewComplaint, now: datetime | None = None,
                   photos: Sequence[StoredPhoto] = ()) -> tuple[Complaint, bool]:
    """Plan and record a case in one go (tests, scripts); the shopper's view runs the two
    steps on either side of storing the photos. Returns (complaint, created): a
    retried submission with the same idempotency key returns the first case."""
    filed = record_complaint(plan_complaint(data, now), photos)
    return db.session.get_one(Complaint, filed.id), filed.created
