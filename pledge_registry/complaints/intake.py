"""Requests received by another channel (全口径归集): 12315, the 12345 city hotline, a call, a
letter, a walk-in, a superior's referral or a station desk, entered here by an officer (the
staff form) or from the channel's own export (channel_import.py).

A channel request is a workflow.NewComplaint like the shopper's and the partners' (Open311)
and is filed the same way, by filing.plan_complaint / record_complaint: it only says where it
came from, that channel's own reference number, when it reached the channel (every deadline,
the bureau's and the legal one, counts from then), how the shopper consented there, and who
entered it. The reference names one request per channel: a second entry, or a re-import, is
refused with the case the first one filed.

Also here: a case's 12315 number once it is registered on the 12315 platform.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, select

from ..domain import DomainError, commit_or_refuse
from ..extensions import db
from ..models import Channel, Complaint, ComplaintEvent, ConsentMethod, Merchant, MerchantStatus, User
from . import filing
from .workflow import NewComplaint, ShopperRequest, WorkflowError

# The channels an officer enters (the web form and the partner API file their own).
STAFF_CHANNELS = (Channel.PLATFORM_12315, Channel.HOTLINE_12345, Channel.PHONE, Channel.LETTER,
                  Channel.WALK_IN, Channel.REFERRAL, Channel.STATION_DESK)
# How consent can have been given on each channel: a channel that passes a case on collected
# it itself; a call is oral; a letter is written; at a desk either.
CONSENT_BY_CHANNEL: dict[str, tuple[str, ...]] = {
    Channel.PLATFORM_12315: (ConsentMethod.CHANNEL,),
    Channel.HOTLINE_12345: (ConsentMethod.CHANNEL,),
    Channel.REFERRAL: (ConsentMethod.CHANNEL, ConsentMethod.WRITTEN),
    Channel.PHONE: (ConsentMethod.ORAL,),
    Channel.LETTER: (ConsentMethod.WRITTEN,),
    Channel.WALK_IN: (ConsentMethod.ORAL, ConsentMethod.WRITTEN),
    Channel.STATION_DESK: (ConsentMethod.ORAL, ConsentMethod.WRITTEN),
}
COMPLAINABLE = (MerchantStatus.APPROVED, MerchantStatus.CLOSED)  # as on the web form
# A channel's reference: letters, digits and the separators channels use (full-width typed
# characters are folded first). 12315 numbers: digits and capitals, 10 to 32 of them.
REF_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_./:#-]{0,63}$")
REF_12315_RE = re.compile(r"^[0-9A-Z]{10,32}$")
MAX_AGE = timedelta(days=3 * 366)   # older than this is a typing slip (or outside the rules)
CLOCK_SKEW = timedelta(minutes=5)   # a receipt "now" on a desk clock slightly ahead


class IntakeError(DomainError):
    """A channel request was refused; `code` says why. For "duplicate", `case_id` is the case
    the first entry filed."""

    def __init__(self, code: str, field: str | None = None, case_id: int | None = None) -> None:
        super().__init__(code, field=field)
        self.case_id = case_id


@dataclass(frozen=True)
class ChannelRequest(ShopperRequest):
    """A request as another channel received it: the shopper's request, and where it came from."""

    channel: str
    channel_ref: str
    received_at: datetime        # time-zone aware
    consent_method: str
    recorded_by: User | None = None


def normalise_ref(raw: str | None) -> str:
    """A reference as typed or exported: full-width characters folded, spaces dropped."""
    return "".join(unicodedata.normalize("NFKC", raw or "").split())


def normalise_12315_ref(raw: str | None) -> str:
    return normalise_ref(raw).upper()


def existing_case(channel: str, channel_ref: str) -> int | None:
    """The case a channel's reference filed, if any."""
    return db.session.scalar(select(Complaint.id).where(Complaint.channel == channel,
                                                        Complaint.channel_ref == channel_ref))


def complainable_merchant(badge_code: str) -> int | None:
    """The shop with this badge code, if complaints about it are taken (as on the web form)."""
    code = normalise_ref(badge_code).lower()  # badge codes are lower case; read aloud, often typed in capitals
    if not code or len(code) > 40 or not code.isalnum():
        return None
    row = db.session.execute(select(Merchant.id, Merchant.status).where(Merchant.badge_code == code)).first()
    return row.id if row is not None and row.status in COMPLAINABLE else None


def check(req: ChannelRequest, now: datetime) -> None:
    """What a channel request must meet besides the workflow's rules for a new case."""
    if req.channel not in STAFF_CHANNELS:
        raise IntakeError("channel", field="channel")
    if not REF_RE.match(req.channel_ref):
        raise IntakeError("channel_ref", field="channel_ref")
    if req.received_at.tzinfo is None:
        raise IntakeError("received_at", field="received_at")
    if req.received_at > now + CLOCK_SKEW:
        raise IntakeError("received_in_future", field="received_at")
    if req.received_at < now - MAX_AGE:
        raise IntakeError("received_too_old", field="received_at")
    if req.consent_method not in CONSENT_BY_CHANNEL[req.channel]:
        raise IntakeError("consent_method", field="consent_method")


def _idempotency_key(channel: str, channel_ref: str) -> str:
    """The case's idempotency key: the same request entered twice at once files one case."""
    return "channel:" + hashlib.sha256(f"{channel}\n{channel_ref}".encode()).hexdigest()[:48]


def new_complaint(req: ChannelRequest) -> NewComplaint:
    recorder = req.recorded_by
    return NewComplaint(
        **{**req.shopper_fields(), "shopper_phone": req.shopper_phone or None},
        idempotency_key=_idempotency_key(req.channel, req.channel_ref),
        consent=True, channel=req.channel, channel_ref=req.channel_ref, consent_method=req.consent_method,
        received_at=req.received_at.astimezone(UTC), recorded_by_id=recorder.id if recorder else None,
        recorded_by_role="system" if recorder is None else "station" if recorder.is_station else "staff")


def plan(req: ChannelRequest, now: datetime | None = None) -> filing.ComplaintPlan:
    """Check the request and plan its case (reads only). Raises IntakeError, or the
    workflow's WorkflowError for what the web form is refused too."""
    now = now or datetime.now(UTC)
    check(req, now)
    found = existing_case(req.channel, req.channel_ref)
    if found is not None:
        raise IntakeError("duplicate", field="channel_ref", case_id=found)
    return filing.plan_complaint(new_complaint(req), now)


def record(req: ChannelRequest, now: datetime | None = None) -> filing.Filed:
    """File the request as a case that then runs the normal workflow; refused with the first
    case when its reference was entered before (also when that happened a moment ago)."""
    planned = plan(req, now)
    filed = filing.record_complaint(planned)
    if not filed.created:
        raise IntakeError("duplicate", field="channel_ref", case_id=filed.id)
    return filed


# --- 12315 numbers ---------------------------------------------------------------------------

def register_12315(user: User, c: Complaint, raw_ref: str, now: datetime | None = None) -> None:
    """Record the number the 12315 platform gave the case; once, and one case per number."""
    from .workflow import can_handle

    if not can_handle(user, c):
        raise WorkflowError("not_officer")
    if c.channel == Channel.PLATFORM_12315:
        raise IntakeError("came_from_12315", field="ref_12315")
    if c.registered_12315_ref is not None:
        raise IntakeError("already_registered", field="ref_12315")
    ref = normalise_12315_ref(raw_ref)
    if not REF_12315_RE.match(ref):
        raise IntakeError("ref_12315", field="ref_12315")
    other = db.session.scalar(select(Complaint.id).where(Complaint.registered_12315_ref == ref))
    if other is None:
        other = existing_case(Channel.PLATFORM_12315, ref)
    if other is not None:
        raise IntakeError("ref_12315_taken", field="ref_12315", case_id=other)
    now = now or datetime.now(UTC)
    c.registered_12315_ref = ref
    c.registered_12315_at = now
    db.session.add(ComplaintEvent(complaint_id=c.id, kind="registered_12315", from_status=c.status,
                                  to_status=c.status, actor_role="station" if user.is_station else "staff",
                                  actor_id=user.id, note=ref, public=False, created_at=now))
    commit_or_refuse(IntakeError("ref_12315_taken", field="ref_12315"))  # registered on another case a moment ago


def to_register_on_12315() -> Select[tuple[Complaint]]:
    """The query of cases filed here that 12315 does not know yet: complaints and reports
    (consultations fall outside the Order), not from 12315 itself, not registered, with the
    shopper's details still held. Oldest first."""
    return (select(Complaint)
            .where(Complaint.channel != Channel.PLATFORM_12315, Complaint.registered_12315_ref.is_(None),
                   Complaint.request_type.in_(("complaint", "report")), Complaint.anonymised_at.is_(None))
            .order_by(Complaint.received_at, Complaint.id))
