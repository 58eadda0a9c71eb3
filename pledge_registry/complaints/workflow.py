"""The complaint workflow: one state machine whose illegal moves raise.

    received ──accept──▶ accepted ──forward──▶ with_merchant ──answer──▶ merchant_answered
        │                    │                      │                        │   │
        └─reject─▶ closed    └──────mediate─────────┴──────────mediate───────┘   └─shopper accepts─▶ closed (resolved)
    any open state ──withdraw (shopper)──▶ closed (withdrawn)
    accepted / with_merchant / merchant_answered / mediating ──close (officer)──▶ closed

Every move and every note is a ComplaintEvent (who, when, from, to, note), written in the
same transaction as the change and as the outbox messages it causes. A new case must pass
`validate_new`; `filing` plans and stores it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..compliance import services as compliance_services
from ..domain import DomainError, commit_or_refuse
from ..extensions import db
from ..models import (
    PAUSE_REASONS,
    PROBLEM_TYPES,
    PROPOSAL_KINDS,
    REJECT_REASONS,
    REQUEST_TYPES,
    SURVEY_ANSWERS,
    WANTS,
    Channel,
    ClockPause,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    ConsentMethod,
    Outcome,
    PhoneReveal,
    SurveyResponse,
    User,
)
from ..outbox import enqueue
from ..ratings import hooks as rating_hooks
from ..urls import absolute_url
from ..workdays import WorkCalendar
from . import deadlines, legal_rules

S = ComplaintStatus
CONSENT_VERSION = "2026-11"
DUPLICATE_WINDOW = timedelta(days=7)
SURVEY_MAX_AGE = 30 * 24 * 3600

# (from, to) → who may make the move
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (S.RECEIVED, S.ACCEPTED): frozenset({"officer"}),
    (S.RECEIVED, S.CLOSED): frozenset({"officer", "shopper"}),       # reject / withdraw
    (S.ACCEPTED, S.WITH_MERCHANT): frozenset({"officer"}),
    (S.ACCEPTED, S.MEDIATING): frozenset({"officer"}),
    (S.WITH_MERCHANT, S.MERCHANT_ANSWERED): frozenset({"merchant"}),
    (S.WITH_MERCHANT, S.MEDIATING): frozenset({"officer"}),
    (S.MERCHANT_ANSWERED, S.MEDIATING): frozenset({"officer", "shopper"}),  # shopper rejects the proposal
    (S.MERCHANT_ANSWERED, S.WITH_MERCHANT): frozenset({"officer"}),          # back for a better answer
    (S.MEDIATING, S.WITH_MERCHANT): frozenset({"officer"}),
    (S.ACCEPTED, S.CLOSED): frozenset({"officer", "shopper"}),
    (S.WITH_MERCHANT, S.CLOSED): frozenset({"officer", "shopper"}),
    (S.MERCHANT_ANSWERED, S.CLOSED): frozenset({"officer", "shopper"}),   # shopper accepts or withdraws
    (S.MEDIATING, S.CLOSED): frozenset({"officer", "shopper"}),
}


class WorkflowError(DomainError):
    """A workflow rule refused the request; `code` says which."""


@dataclass(frozen=True)
class ShopperRequest:
    """What the shopper asks, whichever channel brought it: the shop, what was bought, the
    problem in their words, what they want, and who they are. A NewComplaint is one with how
    it is filed; another channel's request (intake.ChannelRequest) is one with where it came
    from, and becomes a NewComplaint."""

    merchant_id: int
    request_type: str
    item: str
    purchased_on: date | None
    amount_paid_cents: int | None
    problem_type: str
    account: str
    wants: tuple[str, ...]
    shopper_name: str | None
    shopper_phone: str | None  # None only for another channel's request that came without one

    def shopper_fields(self) -> dict[str, Any]:
        """These fields by name, to build another kind of request from this one."""
        return {f.name: getattr(self, f.name) for f in fields(ShopperRequest)}


@dataclass(frozen=True)
class NewComplaint(ShopperRequest):
    idempotency_key: str
    consent: bool
    # Where it came in: the web form by default; a partner system's cases carry the partner
    # and its own reference (channel partner_api), and the consent that channel collected.
    channel: str = Channel.WEB
    channel_ref: str | None = None
    consent_method: str = ConsentMethod.WEB_FORM
    partner_id: int | None = None
    # A request another channel received: when it reached that channel (the deadlines count
    # from it; None: now, as for the web form) and the officer who entered it here.
    received_at: datetime | None = None
    recorded_by_id: int | None = None
    recorded_by_role: str = "staff"  # staff | station | system (an import): the first event's actor


def mask_phone(phone: str | None) -> str:
    """138****5678: how a phone number is shown everywhere but to the handling officer."""
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def _event(c: Complaint, kind: str, to: str, role: str, actor: User | None, note: str = "",
           public: bool = True, now: datetime | None = None) -> None:
    db.session.add(ComplaintEvent(
        complaint_id=c.id, kind=kind, from_status=c.status, to_status=to, actor_role=role,
        actor_id=actor.id if actor else None, note=note.strip(), public=public,
        created_at=now or datetime.now(UTC)))


def _move(c: Complaint, to: str, role: str, actor: User | None, kind: str, note: str = "",
          now: datetime | None = None) -> None:
    allowed = TRANSITIONS.get((c.status, to))
    if allowed is None or role not in allowed:
        raise WorkflowError("illegal_transition")
    _event(c, kind, to, role, actor, note, now=now)
    c.status = to


def _notify_shopper(c: Complaint, template: str, **context: object) -> None:
    if c.shopper_phone:
        enqueue("sms", c.shopper_phone, template,
                {"tracking_code": c.tracking_code, "shop": c.merchant.shop_name, **context},
                dedupe_key=f"complaint:{c.id}:{template}:{context.get('step', '')}")


def _notify_merchant(c: Complaint, template: str, **context: object) -> None:
    enqueue("sms", c.merchant.contact_phone, template,
            {"shop": c.merchant.shop_name, "complaint_id": c.id, **context},
            dedupe_key=f"complaint:{c.id}:{template}:{context.get('step', '')}")


# --- the shopper ------------------------------------------------------------------------

def validate_new(data: NewComplaint, today: date) -> None:
    """The rules a new case must meet before it is filed."""
    if not data.consent:
        raise WorkflowError("consent_required")
    if data.request_type not in REQUEST_TYPES:
        raise WorkflowError("request_type")
    if data.problem_type not in PROBLEM_TYPES:
        raise WorkflowError("problem_type")
    if any(w not in WANTS for w in data.wants):
        raise WorkflowError("wants")
    if data.purchased_on and data.purchased_on > today:
        raise WorkflowError("purchased_in_future")


def find_for_shopper(tracking_code: str, phone_last4: str) -> Complaint | None:
    """The case for a tracking code, only with the right last 4 digits of the phone."""
    code = tracking_code.replace("-", "").replace(" ", "").upper()
    c = db.session.scalar(select(Complaint).where(Complaint.tracking_code == code))
    if c is None or not c.shopper_phone or not phone_last4 or c.shopper_phone[-4:] != phone_last4:
        return None
    return c


def shopper_add_info(c: Complaint, text: str) -> None:
    if c.status == S.CLOSED:
        raise WorkflowError("closed")
    _event(c, "shopper_info", c.status, "shopper", None, text)
    db.session.commit()


def shopper_respond(c: Complaint, accept: bool, note: str = "") -> None:
    """The shopper accepts the merchant's proposal (the case closes as resolved) or not
    (an officer mediates)."""
    if c.status != S.MERCHANT_ANSWERED or c.proposal_kind is None:
        raise WorkflowError("no_proposal")
    now = datetime.now(UTC)
    if accept:
        c.proposal_response = "accepted"
        _close(c, Outcome.RESOLVED, "shopper", None, note or "proposal accepted",
               amount_recovered_cents=c.proposal_amount_cents or 0, upheld=True, now=now)
    else:
        c.proposal_response = "rejected"
        _move(c, S.MEDIATING, "shopper", None, "proposal_rejected", note, now=now)
    db.session.commit()


def shopper_withdraw(c: Complaint, note: str = "") -> None:
    if c.status == S.CLOSED:
        raise WorkflowError("closed")
    _close(c, Outcome.WITHDRAWN, "shopper", None, note or "withdrawn by the shopper")
    db.session.commit()


# --- the merchant -----------------------------------------------------------------------

def merchant_answer(user: User, c: Complaint, reply: str, proposal_kind: str | None,
                    proposal_amount_cents: int | None) -> None:
    if c.merchant.owner_id != user.id:
        raise WorkflowError("not_owner")
    if not reply.strip():
        raise WorkflowError("reply_required")
    if proposal_kind is not None and proposal_kind not in PROPOSAL_KINDS:
        raise WorkflowError("proposal_kind")
    now = datetime.now(UTC)
    _move(c, S.MERCHANT_ANSWERED, "merchant", user, "merchant_reply", reply, now=now)
    c.merchant_reply = reply.strip()
    c.proposal_kind = proposal_kind
    c.proposal_amount_cents = proposal_amount_cents
    c.proposal_response = None
    c.merchant_replied_at = now
    rating_hooks.on_complaint_change(c.merchant_id)  # answered on time counts in the rating
    _notify_shopper(c, "merchant_answered", step=now.isoformat())
    db.session.commit()


# --- officers ---------------------------------------------------------------------------

def can_handle(user: User, c: Complaint) -> bool:
    """Staff handle every case; a station officer only the cases routed to its station."""
    if user.is_staff:
        return True
    return user.is_station and c.station_id is not None and c.station_id == user.station_id


def merchant_may_see_photos(user: User, c: Complaint) -> bool:
    """The shop's owner sees a case's photos once the bureau forwarded the case to it."""
    return c.forwarded_at is not None and c.merchant.owner_id == user.id


def _officer(user: User, c: Complaint) -> None:
    if not can_handle(user, c):
        raise WorkflowError("not_officer")


def accept(user: User, c: Complaint, note: str = "") -> None:
    _officer(user, c)
    now = datetime.now(UTC)
    _move(c, S.ACCEPTED, "officer", user, "accepted", note, now=now)
    c.accepted_at = now
    if c.assigned_officer_id is None:
        c.assigned_officer_id = user.id
    _notify_shopper(c, "complaint_accepted")
    db.session.commit()


def reject(user: User, c: Complaint, reason: str, note: str = "") -> None:
    _officer(user, c)
    if reason not in REJECT_REASONS:
        raise WorkflowError("reject_reason")
    if c.status != S.RECEIVED:
        raise WorkflowError("illegal_transition")
    c.reject_reason = reason
    _close(c, Outcome.REJECTED, "officer", user, note)
    db.session.commit()


def forward(user: User, c: Complaint, note: str = "") -> None:
    """Send the case to the merchant, who must answer within the configured working days."""
    _officer(user, c)
    now = datetime.now(UTC)
    _move(c, S.WITH_MERCHANT, "officer", user, "forwarded", note, now=now)
    c.forwarded_at = now
    c.merchant_reply_due_at = deadlines.calendar().add_workdays(now, deadlines.current_deadlines().merchant_reply_days)
    _notify_merchant(c, "merchant_new_complaint", step=now.isoformat())
    db.session.commit()


def mediate(user: User, c: Complaint, note: str = "") -> None:
    _officer(user, c)
    _move(c, S.MEDIATING, "officer", user, "mediating", note)
    db.session.commit()


def close(user: User, c: Complaint, outcome: str, note: str, amount_recovered_cents: int = 0,
          upheld: bool | None = None) -> None:
    """Close as resolved (with the amount recovered) or not resolved (advice given)."""
    _officer(user, c)
    if c.status == S.RECEIVED:  # a received case is accepted, or rejected with a reason, first
        raise WorkflowError("illegal_transition")
    if outcome not in (Outcome.RESOLVED, Outcome.NOT_RESOLVED):
        raise WorkflowError("outcome")
    if outcome == Outcome.NOT_RESOLVED and not note.strip():
        raise WorkflowError("advice_required")
    if amount_recovered_cents < 0:
        raise WorkflowError("amount")
    _close(c, outcome, "officer", user, note, amount_recovered_cents=amount_recovered_cents, upheld=upheld)
    db.session.commit()


def _close(c: Complaint, outcome: str, role: str, actor: User | None, note: str,
           amount_recovered_cents: int = 0, upheld: bool | None = None, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    _move(c, S.CLOSED, role, actor, outcome, note, now=now)
    c.outcome = outcome
    c.outcome_note = note.strip()
    c.closed_at = now
    c.amount_recovered_cents = amount_recovered_cents
    c.upheld = upheld
    rating_hooks.on_complaint_closed(c.merchant_id)  # re-rated when this transaction commits
    compliance_services.on_complaint_closed(c.merchant_id)  # repeated breaches: a suspension proposal
    _notify_shopper(c, "complaint_closed", outcome=outcome)
    if outcome != Outcome.WITHDRAWN and c.request_type == "complaint":
        _notify_shopper(c, "survey", survey_url=survey_url(c))


def hand_to_bureau(user: User, c: Complaint, reason: str) -> None:
    """A station gives a case it cannot settle to the bureau, saying why. The bureau's own
    targets then count from now (the station's time is not taken from the bureau); the
    legal limits still count from receipt."""
    if not user.is_station or not can_handle(user, c):
        raise WorkflowError("not_station_case")
    if c.status == S.CLOSED:
        raise WorkflowError("closed")
    if not reason.strip():
        raise WorkflowError("reason_required")
    now = datetime.now(UTC)
    cal, limits = deadlines.calendar(), deadlines.current_deadlines()
    if c.status == S.RECEIVED:
        c.acceptance_due_at = cal.add_workdays(now, limits.acceptance_days)
    c.completion_due_at = cal.add_workdays(now, limits.completion_days)
    _event(c, "handed_to_bureau", c.status, "station", user, reason, public=False, now=now)
    c.handed_from_station_id = c.station_id
    c.handed_to_bureau_at = now
    c.station_id = None
    c.assigned_officer_id = None
    db.session.commit()


def open_pause(c: Complaint) -> ClockPause | None:
    return next((p for p in c.pauses if p.ended_at is None), None)


def pause_clock(user: User, c: Complaint, reason: str, note: str) -> None:
    """Stop the case's deadlines (e.g. while a test or an appraisal is done, time the rules do
    not count); one stop at a time (the schema refuses a second)."""
    _officer(user, c)
    if c.status == S.CLOSED:
        raise WorkflowError("closed")
    if reason not in PAUSE_REASONS:
        raise WorkflowError("pause_reason")
    if reason == "other" and not note.strip():
        raise WorkflowError("reason_required")
    if open_pause(c) is not None:
        raise WorkflowError("already_paused")
    now = datetime.now(UTC)
    db.session.add(ClockPause(complaint_id=c.id, reason=reason, note=note.strip(), started_at=now,
                              started_by_id=user.id))
    _event(c, "clock_paused", c.status, "officer", user, note, public=True, now=now)
    commit_or_refuse(WorkflowError("already_paused"))  # stopped by someone else at the same moment


def resume_clock(user: User, c: Complaint, now: datetime | None = None) -> None:
    """Start the clock again: the bureau's targets still ahead when it stopped move on by the
    working days it was stopped (the legal limits are worked out from the stops themselves)."""
    _officer(user, c)
    pause = open_pause(c)
    if pause is None:
        raise WorkflowError("not_paused")
    now = now or datetime.now(UTC)
    pause.ended_at = now
    pause.ended_by_id = user.id
    cal = deadlines.calendar()
    stop = legal_rules.Stop(pause.started_at, now)
    if c.status == S.RECEIVED and c.acceptance_due_at > pause.started_at:
        c.acceptance_due_at = _moved_on(cal, c.acceptance_due_at, stop)
    if c.completion_due_at > pause.started_at:
        c.completion_due_at = _moved_on(cal, c.completion_due_at, stop)
    if c.merchant_reply_due_at is not None and c.merchant_reply_due_at > pause.started_at:
        c.merchant_reply_due_at = _moved_on(cal, c.merchant_reply_due_at, stop)
    _event(c, "clock_resumed", c.status, "officer", user, "", public=True, now=now)
    db.session.commit()


def _moved_on(cal: WorkCalendar, due_at: datetime, stop: legal_rules.Stop) -> datetime:
    """A working-day deadline moved on by the working days the clock was stopped."""
    n = legal_rules.stopped_workdays(cal, stop)
    return cal.add_workdays(due_at, n) if n else due_at


def clock(c: Complaint, now: datetime | None = None) -> legal_rules.CaseClock:
    """The case's legal limits beside its own target deadlines, each measured."""
    now = now or datetime.now(UTC)
    stops = [legal_rules.Stop(p.started_at, p.ended_at) for p in c.pauses]
    decided = c.accepted_at or (c.closed_at if c.outcome == Outcome.REJECTED else None)
    return legal_rules.measure_case(deadlines.calendar(), c.acceptance_due_at, c.completion_due_at,
                                    c.received_at, c.accepted_at, decided, c.closed_at, stops, now)


def reassign(user: User, c: Complaint, officer: User, note: str = "") -> None:
    _officer(user, c)
    if not can_handle(officer, c):
        raise WorkflowError("not_officer")
    if c.status == S.CLOSED:
        raise WorkflowError("closed")
    c.assigned_officer_id = officer.id
    _event(c, "reassigned", c.status, "officer", user, note, public=False)
    db.session.commit()


def reveal_phone(user: User, c: Complaint) -> str:
    """The full phone number, for the assigned officer only; every reveal is audited."""
    if c.assigned_officer_id != user.id:
        raise WorkflowError("not_assigned")
    if not c.shopper_phone:
        raise WorkflowError("anonymised")
    db.session.add(PhoneReveal(complaint_id=c.id, officer_id=user.id))
    db.session.commit()
    return c.shopper_phone


def link_duplicate(user: User, c: Complaint, original: Complaint) -> None:
    _officer(user, c)
    if original.id == c.id or original.merchant_id != c.merchant_id:
        raise WorkflowError("not_duplicate")
    c.duplicate_of_id = original.id
    _event(c, "linked_duplicate", c.status, "officer", user, f"#{original.id}", public=False)
    db.session.commit()


# --- survey -----------------------------------------------------------------------------

def record_survey(c: Complaint, answer: str, comment: str) -> bool:
    """Store the shopper's answer; False when the case already has one (the unique
    constraint decides, so two answers at once still make one)."""
    if answer not in SURVEY_ANSWERS:
        raise WorkflowError("survey_answer")
    db.session.add(SurveyResponse(complaint_id=c.id, answer=answer, comment=comment.strip()))
    rating_hooks.on_complaint_change(c.merchant_id)  # satisfaction counts in the rating
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _survey_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="complaint-survey")


def survey_url(c: Complaint) -> str:
    token = _survey_serializer().dumps({"c": c.id})
    return absolute_url("complaints.survey", token=token)


def complaint_from_survey_token(token: str) -> Complaint | None:
    try:
        data = _survey_serializer().loads(token, max_age=SURVEY_MAX_AGE)
    except (BadSignature, SignatureExpired):
        return None
    return db.session.get(Complaint, data.get("c")) if isinstance(data, dict) else None
