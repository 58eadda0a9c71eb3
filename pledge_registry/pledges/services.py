"""Pledge rules: the lifecycle state machine, signing, renewal, review and expiry.

draft → submitted → active → suspended / revoked / expired; renewal (or a change of terms)
is a new pledge that supersedes the active one when approved. Every transition is a
PledgeEvent row (who, when, from, to, why) written in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from ..domain import DomainError, commit_or_refuse
from ..extensions import db
from ..models import (
    MIN_RETURN_DAYS,
    REFUND_METHODS,
    Merchant,
    MerchantStatus,
    Pledge,
    PledgeEvent,
    PledgeKind,
    PledgeStatus,
    PledgeTemplate,
    User,
)
from ..ratings import hooks as rating_hooks
from . import labels

PLEDGE_TERM = timedelta(days=365)
RENEWAL_WINDOW = timedelta(days=60)  # a renewal may be signed this long before expiry

S = PledgeStatus
# (from, to) → who may make the move.
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.DRAFT, S.SUBMITTED): "owner",
    (S.DRAFT, S.WITHDRAWN): "owner",
    (S.SUBMITTED, S.WITHDRAWN): "owner",
    (S.SUBMITTED, S.ACTIVE): "staff",
    (S.SUBMITTED, S.REJECTED): "staff",
    (S.ACTIVE, S.SUSPENDED): "staff",
    (S.ACTIVE, S.REVOKED): "staff",
    (S.SUSPENDED, S.ACTIVE): "staff",
    (S.SUSPENDED, S.REVOKED): "staff",
    (S.ACTIVE, S.EXPIRED): "system",
    (S.ACTIVE, S.SUPERSEDED): "system",
    (S.SUSPENDED, S.SUPERSEDED): "system",
}
REASON_REQUIRED = {S.REJECTED, S.SUSPENDED, S.REVOKED}


class PledgeError(DomainError):
    """A pledge rule refused the request; `code` says which."""


@dataclass(frozen=True)
class ReturnTerms:
    return_days: int
    refund_method: str
    refund_days: int
    conditions: str = ""
    excluded_goods: tuple[str, ...] = field(default_factory=tuple)

    def check(self) -> None:
        if self.return_days < MIN_RETURN_DAYS or self.return_days > 365:
            raise PledgeError("return_days")
        if self.refund_method not in REFUND_METHODS:
            raise PledgeError("refund_method")
        if not 0 <= self.refund_days <= 30:
            raise PledgeError("refund_days")


def latest_template(kind: str) -> PledgeTemplate:
    template = db.session.scalar(
        select(PledgeTemplate).where(PledgeTemplate.kind == kind)
        .order_by(PledgeTemplate.version.desc()).limit(1)
    )
    if template is None:
        raise PledgeError("no_template")
    return template


def _authorize(pledge: Pledge, to: str, actor: User | None, note: str, system: bool = False) -> None:
    """Raise PledgeError unless this actor may move this pledge to `to` now."""
    who = TRANSITIONS.get((pledge.status, to))
    if who is None or (who == "system") != system:
        raise PledgeError("illegal_transition")
    if who == "owner" and (actor is None or pledge.merchant.owner_id != actor.id):
        raise PledgeError("not_owner")
    if who == "staff":
        if actor is None or not actor.is_staff:
            raise PledgeError("not_staff")
        if actor.id in (pledge.signed_by_id, pledge.merchant.owner_id):
            raise PledgeError("own_submission")
    if to in REASON_REQUIRED and not note.strip():
        raise PledgeError("reason_required")


def _move(pledge: Pledge, to: str, actor: User | None, note: str = "", now: datetime | None = None,
          system: bool = False) -> None:
    """Apply one transition of the state machine, or raise PledgeError.

    Moves marked "system" (expiry, superseding) happen only as part of another rule, never
    as a decision of their own; `actor` is then recorded as the one whose action caused it.
    """
    _authorize(pledge, to, actor, note, system)
    now = now or datetime.now(UTC)
    db.session.add(PledgeEvent(pledge_id=pledge.id, from_status=pledge.status, to_status=to,
                               actor_id=actor.id if actor else None, note=note.strip(), created_at=now))
    pledge.status = to
    pledge.status_note = note.strip()
    rating_hooks.on_pledge_change(pledge.merchant.id)  # re-rated when this transaction commits


def sign(owner: User, merchant: Merchant, kind: str, terms: ReturnTerms | None,
         submit: bool = True, renews: Pledge | None = None) -> Pledge:
    """Sign a pledge on the latest template: saved as a draft, or submitted for review."""
    if merchant.owner_id != owner.id:
        raise PledgeError("not_owner")
    if merchant.status in (MerchantStatus.REJECTED, MerchantStatus.CLOSED):
        raise PledgeError("shop_not_live")
    if kind not in (PledgeKind.GENUINE, PledgeKind.RETURNS):
        raise PledgeError("kind")
    if kind == PledgeKind.RETURNS:
        if terms is None:
            raise PledgeError("terms_required")
        terms.check()
    pending = db.session.scalar(select(Pledge).where(
        Pledge.merchant_id == merchant.id, Pledge.kind == kind,
        Pledge.status.in_((S.DRAFT, S.SUBMITTED))))
    if pending is not None:
        raise PledgeError("already_pending")
    pledge = Pledge(
        merchant=merchant, kind=kind, template_id=latest_template(kind).id, status=S.DRAFT,
        signed_by_id=owner.id, renews_id=renews.id if renews else None,
    )
    if terms is not None and kind == PledgeKind.RETURNS:
        pledge.return_days = terms.return_days
        pledge.refund_method = terms.refund_method
        pledge.refund_days = terms.refund_days
        pledge.conditions = terms.conditions.strip()
        pledge.excluded_goods = list(terms.excluded_goods)
    db.session.add(pledge)
    db.session.flush()
    db.session.add(PledgeEvent(pledge_id=pledge.id, from_status=None, to_status=S.DRAFT,
                               actor_id=owner.id))
    if submit:
        _submit(pledge, owner)
    db.session.commit()
    return pledge


def _submit(pledge: Pledge, owner: User) -> None:
    _move(pledge, S.SUBMITTED, owner)
    pledge.submitted_at = datetime.now(UTC)


def submit(owner: User, pledge: Pledge) -> Pledge:
    _submit(pledge, owner)
    db.session.commit()
    return pledge


def withdraw(owner: User, pledge: Pledge) -> Pledge:
    _move(pledge, S.WITHDRAWN, owner)
    db.session.commit()
    return pledge


def renewal_refusal(pledge: Pledge, now: datetime) -> str | None:
    """Why this pledge cannot be renewed now (an error code), or None when it can."""
    if pledge.status not in (S.ACTIVE, S.EXPIRED) or pledge.expires_at is None:
        return "not_renewable"
    if pledge.status == S.ACTIVE and pledge.expires_at - now > RENEWAL_WINDOW:
        return "too_early"
    return None


def renew(owner: User, pledge: Pledge, now: datetime | None = None) -> Pledge:
    """Sign the same terms again on the latest template, for another year."""
    refusal = renewal_refusal(pledge, now or datetime.now(UTC))
    if refusal:
        raise PledgeError(refusal)
    terms = None
    if pledge.kind == PledgeKind.RETURNS:
        terms = ReturnTerms(pledge.return_days or MIN_RETURN_DAYS, pledge.refund_method or "original",
                            pledge.refund_days or 0, pledge.conditions, tuple(pledge.excluded_goods))
    return sign(owner, pledge.merchant, pledge.kind, terms, submit=True, renews=pledge)


def approve(reviewer: User, pledge: Pledge, note: str = "", now: datetime | None = None) -> Pledge:
    """Make a submitted pledge active for a year; it supersedes the shop's standing one."""
    now = now or datetime.now(UTC)
    if pledge.merchant.status != MerchantStatus.APPROVED:
        raise PledgeError("shop_not_approved")
    _authorize(pledge, S.ACTIVE, reviewer, note)  # before anything changes
    standing = db.session.scalar(select(Pledge).where(
        Pledge.merchant_id == pledge.merchant_id, Pledge.kind == pledge.kind,
        Pledge.status.in_((S.ACTIVE, S.SUSPENDED)), Pledge.id != pledge.id))
    if standing is not None:
        if standing.status == S.SUSPENDED:
            # A suspended pledge is not lifted by signing a new one: staff reinstate it.
            raise PledgeError("standing_suspended")
        _move(standing, S.SUPERSEDED, reviewer, note=labels.superseded_by(pledge.id), now=now, system=True)
        db.session.flush()  # free the one-standing-pledge slot before taking it
    _move(pledge, S.ACTIVE, reviewer, note, now=now)
    pledge.decided_by_id = reviewer.id
    pledge.decided_at = now
    pledge.activated_at = now
    pledge.expires_at = now + PLEDGE_TERM
    db.session.commit()
    return pledge


def decide(reviewer: User, pledge: Pledge, to: str, note: str) -> Pledge:
    """A staff decision other than approval: reject, suspend, revoke, reinstate."""
    if to == S.ACTIVE and pledge.status == S.SUBMITTED:
        return approve(reviewer, pledge, note)
    if to == S.ACTIVE and pledge.expires_at and pledge.expires_at <= datetime.now(UTC):
        raise PledgeError("expired")
    _move(pledge, to, reviewer, note)
    pledge.decided_by_id = reviewer.id
    pledge.decided_at = datetime.now(UTC)
    db.session.commit()
    return pledge


def expire_due(now: datetime | None = None) -> int:
    """Mark active pledges past their term as expired; returns how many. Run daily."""
    now = now or datetime.now(UTC)
    due = list(db.session.scalars(select(Pledge).where(
        Pledge.status == S.ACTIVE, Pledge.expires_at <= now)))
    for pledge in due:
        _move(pledge, S.EXPIRED, None, note=labels.TERM_ENDED, now=now, system=True)
    db.session.commit()
    return len(due)


def new_template_version(admin: User, kind: str, title_zh: str, body_zh: str,
                         title_en: str, body_en: str) -> PledgeTemplate:
    """An edit of a template is its next version; signed pledges keep theirs."""
    if not admin.is_admin:
        raise PledgeError("not_admin")
    current = db.session.scalar(
        select(func.max(PledgeTemplate.version)).where(PledgeTemplate.kind == kind)) or 0
    template = PledgeTemplate(kind=kind, version=current + 1, title_zh=title_zh.strip(),
                              body_zh=body_zh.strip(), title_en=title_en.strip(),
                              body_en=body_en.strip(), created_by_id=admin.id)
    db.session.add(template)
    commit_or_refuse(PledgeError("version_taken"))  # another admin saved the same version a moment ago
    return template


__all__ = [
    "TRANSITIONS",
    "PledgeError",
    "ReturnTerms",
    "approve",
    "decide",
    "expire_due",
    "latest_template",
    "new_template_version",
    "renew",
    "sign",
    "submit",
    "withdraw",
]
