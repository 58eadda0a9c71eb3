"""Nomination rules: applying, the two-step approval (town officer, then city officer),
named units and their titles (yearly expiry, renewal, delisting).

Who is who: a staff user with a town (`User.town_id`) is that town's officer; staff with no
town are city officers. The same person never takes both steps, and nobody decides a
nomination they applied for: the two steps are two independent looks (four eyes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from ..compliance.services import current_rating
from ..domain import DomainError
from ..extensions import db
from ..localtime import LOCAL_TZ, local_today
from ..models import (
    Complaint,
    ComplaintStatus,
    Merchant,
    MerchantStatus,
    Nomination,
    NominationEvent,
    NominationLevel,
    NominationStatus,
    Penalty,
    Pledge,
    PledgeStatus,
    User,
)
from . import rules

N = NominationStatus
LIVE = (N.SUBMITTED, N.TOWN_APPROVED, N.APPROVED)
PENDING = (N.SUBMITTED, N.TOWN_APPROVED)
TITLE_TERM_YEARS = 1
RENEWAL_WINDOW = timedelta(days=60)  # a title may be renewed this long before it expires


class NominationError(DomainError):
    """A nomination rule refused the request; `code` says which (`results`: the why-not)."""

    def __init__(self, code: str, results: list[rules.Result] | None = None) -> None:
        super().__init__(code)
        self.results = results or []


# --- who is who --------------------------------------------------------------------------

def officer_town_id(user: User) -> int | None:
    """The town a staff user is the officer of; None for city officers (and non-staff)."""
    return getattr(user, "town_id", None)


def is_town_officer(user: User, merchant: Merchant) -> bool:
    town = officer_town_id(user)
    return bool(user.is_staff and town is not None and town == merchant.town_id)


def is_city_officer(user: User) -> bool:
    return bool(user.is_staff and officer_town_id(user) is None)


def may_apply(user: User, merchant: Merchant) -> bool:
    """The shop's owner, or the officer of the shop's town."""
    return merchant.owner_id == user.id or is_town_officer(user, merchant)


# --- facts and eligibility ---------------------------------------------------------------

def _pledge_spans(merchant_id: int, kind: str) -> list[rules.PledgeSpan]:
    # The query keeps only pledges that were activated; the pairs carry that time typed.
    activated = sorted(
        ((p.activated_at, p) for p in db.session.scalars(select(Pledge).where(
            Pledge.merchant_id == merchant_id, Pledge.kind == kind, Pledge.activated_at.is_not(None)))
         if p.activated_at is not None),
        key=lambda pair: pair[0])
    spans = []
    for started, p in activated:
        ended = None
        if p.status == PledgeStatus.SUPERSEDED:
            successor = min((at for at, _ in activated if at > started), default=p.decided_at)
            ended = rules.as_date(successor, LOCAL_TZ)
        elif p.status == PledgeStatus.EXPIRED:
            ended = rules.as_date(p.expires_at, LOCAL_TZ)
        spans.append(rules.PledgeSpan(p.status, rules.as_date(started, LOCAL_TZ), ended))
    return spans


def gather_facts(merchant: Merchant, level: str, now: datetime | None = None) -> rules.Facts:
    """The merchant's facts as the eligibility rules read them, now."""
    now = now or datetime.now(UTC)
    today = local_today(now)
    rating = current_rating(merchant.id)
    since = {}
    for kind in rules.PLEDGE_KINDS:
        start = rules.continuous_since(_pledge_spans(merchant.id, kind), today)
        # An active pledge past its term has lapsed even before the daily job marks it.
        current = db.session.scalar(select(Pledge.expires_at).where(
            Pledge.merchant_id == merchant.id, Pledge.kind == kind, Pledge.status == PledgeStatus.ACTIVE))
        if start is not None and (current is None or current > now):
            since[kind] = start
    last_penalty = db.session.scalar(
        select(func.max(Penalty.decided_on)).where(Penalty.merchant_id == merchant.id))
    overdue = db.session.scalar(select(func.count()).select_from(Complaint).where(
        Complaint.merchant_id == merchant.id, Complaint.status != ComplaintStatus.CLOSED,
        Complaint.completion_due_at < now)) or 0
    return rules.Facts(
        level=level, as_of=today, registration_approved=merchant.status == MerchantStatus.APPROVED,
        grade=rating.grade if rating is not None else None, pledges_active_since=since,
        last_penalty_on=last_penalty, overdue_complaints=overdue,
    )


def check(merchant: Merchant, level: str, now: datetime | None = None) -> list[rules.Result]:
    """The eligibility checklist for one level, rule by rule."""
    return rules.eligibility(gather_facts(merchant, level, now))


def _stored(results: list[rules.Result], now: datetime) -> dict[str, Any]:
    return {"checked_at": now.isoformat(timespec="seconds"),
            "rules": [{"key": k, "ok": ok, "detail": d} for k, ok, d in results]}


def _require_eligible(merchant: Merchant, level: str, now: datetime) -> list[rules.Result]:
    """The checklist, when every rule passes; else NominationError('not_eligible', results)."""
    results = check(merchant, level, now)
    if not rules.is_eligible(results):
        raise NominationError("not_eligible", results)
    return results


def stored_results(nomination: Nomination) -> list[rules.Result]:
    """The checklist as it stood when the merchant applied."""
    return [(r["key"], r["ok"], r["detail"]) for r in (nomination.eligibility or {}).get("rules", [])]


# --- applying and deciding ---------------------------------------------------------------

def _event(nomination: Nomination, to: str, actor: User | None, note: str = "", now: datetime | None = None,
           from_status: str | None = None, system_note: dict[str, Any] | None = None) -> None:
    db.session.add(NominationEvent(nomination_id=nomination.id, from_status=from_status, to_status=to,
                                   actor_id=actor.id if actor else None, note=note, system_note=system_note,
                                   created_at=now or datetime.now(UTC)))


def _move(nomination: Nomination, to: str, actor: User | None, note: str, now: datetime) -> None:
    _event(nomination, to, actor, note, now, from_status=nomination.status)
    nomination.status = to


def apply(actor: User, merchant: Merchant, level: str, statement: str = "",
          now: datetime | None = None) -> Nomination:
    """Apply for the participating list or to be named a demonstration unit.

    Refused with NominationError('not_eligible', results) when a rule fails: the applicant
    sees why not before anything is recorded.
    """
    now = now or datetime.now(UTC)
    if level not in rules.LEVELS:
        raise NominationError("level")
    if not may_apply(actor, merchant):
        raise NominationError("not_allowed")
    if db.session.scalar(select(Nomination.id).where(
            Nomination.merchant_id == merchant.id, Nomination.level == level, Nomination.status.in_(LIVE))):
        raise NominationError("already_live")
    results = _require_eligible(merchant, level, now)
    nomination = Nomination(merchant_id=merchant.id, level=level, status=N.SUBMITTED, applied_by_id=actor.id,
                            statement=statement.strip(), eligibility=_stored(results, now), created_at=now)
    db.session.add(nomination)
    try:
        db.session.flush()
        _event(nomination, N.SUBMITTED, actor, now=now)
        db.session.commit()
    except IntegrityError as err:  # the same application submitted twice at once
        db.session.rollback()
        raise NominationError("already_live") from err
    return nomination


def withdraw(owner: User, nomination: Nomination, now: datetime | None = None) -> Nomination:
    """The merchant takes back an application still under review."""
    merchant = db.session.get(Merchant, nomination.merchant_id)
    if merchant is None or merchant.owner_id != owner.id:
        raise NominationError("not_allowed")
    if nomination.status not in PENDING:
        raise NominationError("not_pending")
    _move(nomination, N.WITHDRAWN, owner, "", now or datetime.now(UTC))
    db.session.commit()
    return nomination


def _decider_checks(officer: User, nomination: Nomination, merchant: Merchant, reason: str) -> None:
    if officer.id in (nomination.applied_by_id, merchant.owner_id):
        raise NominationError("own_submission")
    if not reason.strip():
        raise NominationError("reason_required")


def may_decide_town(officer: User, nomination: Nomination) -> bool:
    merchant = db.session.get(Merchant, nomination.merchant_id)
    return (nomination.status == N.SUBMITTED and merchant is not None and is_town_officer(officer, merchant)
            and officer.id not in (nomination.applied_by_id, merchant.owner_id))


def may_decide_city(officer: User, nomination: Nomination) -> bool:
    merchant = db.session.get(Merchant, nomination.merchant_id)
    return (nomination.status == N.TOWN_APPROVED and merchant is not None and is_city_officer(officer)
            and officer.id not in (nomination.applied_by_id, merchant.owner_id,
                                   nomination.town_decided_by_id))


def town_decide(officer: User, nomination: Nomination, approve: bool, reason: str,
                now: datetime | None = None) -> Nomination:
    """Step 1: the officer of the shop's town recommends it to the city, or rejects it."""
    now = now or datetime.now(UTC)
    merchant = db.session.get(Merchant, nomination.merchant_id)
    if nomination.status != N.SUBMITTED:
        raise NominationError("wrong_step")
    if not is_town_officer(officer, merchant):  # type: ignore[arg-type]
        raise NominationError("not_town_officer")
    _decider_checks(officer, nomination, merchant, reason)  # type: ignore[arg-type]
    if approve:
        _require_eligible(merchant, nomination.level, now)  # type: ignore[arg-type]
    nomination.town_decided_by_id = officer.id
    nomination.town_reason = reason.strip()
    nomination.town_decided_at = now
    _move(nomination, N.TOWN_APPROVED if approve else N.REJECTED, officer, reason.strip(), now)
    db.session.commit()
    return nomination


def _title_end(start: date) -> date:
    """A title runs for a year: named on 15 March 2025, it holds until 14 March 2026."""
    try:
        end = start.replace(year=start.year + TITLE_TERM_YEARS)
    except ValueError:  # 29 February
        end = start.replace(year=start.year + TITLE_TERM_YEARS, day=28)
    return end - timedelta(days=1)


def city_decide(officer: User, nomination: Nomination, approve: bool, reason: str,
                now: datetime | None = None) -> Nomination:
    """Step 2: a city officer (not the one who took step 1) names the unit, or rejects it."""
    now = now or datetime.now(UTC)
    merchant = db.session.get(Merchant, nomination.merchant_id)
    if nomination.status != N.TOWN_APPROVED:
        raise NominationError("wrong_step")
    if not is_city_officer(officer):
        raise NominationError("not_city_officer")
    if officer.id == nomination.town_decided_by_id:
        raise NominationError("same_officer")
    _decider_checks(officer, nomination, merchant, reason)  # type: ignore[arg-type]
    if approve:
        _require_eligible(merchant, nomination.level, now)  # type: ignore[arg-type]
        nomination.title_expires_on = _title_end(local_today(now))
        nomination.delisting_reasons = None
    nomination.city_decided_by_id = officer.id
    nomination.city_reason = reason.strip()
    nomination.city_decided_at = now
    _move(nomination, N.APPROVED if approve else N.REJECTED, officer, reason.strip(), now)
    db.session.commit()
    return nomination


def renew_title(officer: User, nomination: Nomination, reason: str,
                now: datetime | None = None) -> Nomination:
    """A city officer extends a named unit's title by a year, in its last 60 days, if it
    still meets the rules."""
    now = now or datetime.now(UTC)
    merchant = db.session.get(Merchant, nomination.merchant_id)
    if nomination.status != N.APPROVED or nomination.title_expires_on is None:
        raise NominationError("not_named")
    if not is_city_officer(officer):
        raise NominationError("not_city_officer")
    _decider_checks(officer, nomination, merchant, reason)  # type: ignore[arg-type]
    today = local_today(now)
    if nomination.title_expires_on - today > RENEWAL_WINDOW:
        raise NominationError("too_early")
    _require_eligible(merchant, nomination.level, now)  # type: ignore[arg-type]
    nomination.title_expires_on = _title_end(nomination.title_expires_on + timedelta(days=1))
    nomination.delisting_reasons = None
    _event(nomination, N.APPROVED, officer, reason.strip(), now, from_status=N.APPROVED,
           system_note={"kind": "renewed", "until": nomination.title_expires_on.isoformat()})
    db.session.commit()
    return nomination


def delist(officer: User, nomination: Nomination, reason: str, now: datetime | None = None) -> Nomination:
    """Take a named unit's title away (摘牌), with a reason the merchant sees."""
    now = now or datetime.now(UTC)
    merchant = db.session.get(Merchant, nomination.merchant_id)
    if nomination.status != N.APPROVED:
        raise NominationError("not_named")
    if not is_city_officer(officer):
        raise NominationError("not_city_officer")
    _decider_checks(officer, nomination, merchant, reason)  # type: ignore[arg-type]
    _move(nomination, N.DELISTED, officer, reason.strip(), now)
    db.session.commit()
    return nomination


# --- housekeeping (CLI, daily) -----------------------------------------------------------

def expire_titles(now: datetime | None = None) -> int:
    """Titles past their expiry date lapse (a renewal before then keeps them). Returns how many."""
    now = now or datetime.now(UTC)
    today = local_today(now)
    due = list(db.session.scalars(select(Nomination).where(
        Nomination.status == N.APPROVED, Nomination.title_expires_on < today)))
    for nomination in due:
        _move(nomination, N.EXPIRED, None, "", now)  # the status says it: the title expired
    db.session.commit()
    return len(due)


@dataclass(frozen=True)
class StandingReview:
    checked: int
    flagged: list[Nomination]
    cleared: list[Nomination]


def review_standing(now: datetime | None = None) -> StandingReview:
    """Flag named units that no longer meet their level's rules for delisting, with the
    reasons (rules.flag_reasons); clear the flag of those that meet them again. Staff decide
    the delisting."""
    now = now or datetime.now(UTC)
    named = list(db.session.scalars(select(Nomination).where(Nomination.status == N.APPROVED)
                                    .order_by(Nomination.id)))
    flagged, cleared = [], []
    for nomination in named:
        results = check(nomination.merchant, nomination.level, now)
        if rules.is_eligible(results):
            if nomination.delisting_reasons is not None:
                nomination.delisting_reasons = None
                _event(nomination, N.APPROVED, None, "", now, N.APPROVED, {"kind": "cleared"})
                cleared.append(nomination)
            continue
        reasons = rules.flag_reasons(results)
        if reasons != nomination.delisting_reasons:
            nomination.delisting_reasons = reasons
            _event(nomination, N.APPROVED, None, "", now, N.APPROVED, {"kind": "flagged", "reasons": reasons})
            flagged.append(nomination)
    db.session.commit()
    return StandingReview(len(named), flagged, cleared)


# --- reading -----------------------------------------------------------------------------

def named_units(level: str | None = None, town_id: int | None = None,
                today: date | None = None) -> list[Nomination]:
    """Units holding a title now: demonstration units first ("demonstration" < "participant"), by town."""
    query = named_units_query(level, town_id, today)
    query = query.order_by(Nomination.level, Merchant.town_id, Merchant.shop_name, Nomination.id)
    return list(db.session.scalars(query))


def named_units_query(level: str | None = None, town_id: int | None = None,
                      today: date | None = None) -> Select[tuple[Nomination]]:
    """named_units' rows, unordered (the staff page pages them)."""
    today = today or local_today()
    query = (select(Nomination).join(Merchant, Merchant.id == Nomination.merchant_id)
             .where(Nomination.status == N.APPROVED, Nomination.title_expires_on >= today,
                    Merchant.status == MerchantStatus.APPROVED))
    if level in rules.LEVELS:
        query = query.where(Nomination.level == level)
    if town_id:
        query = query.where(Merchant.town_id == town_id)
    return query


def title_of(merchant_id: int, today: date | None = None) -> Nomination | None:
    """The title the scan page shows: demonstration unit over participating unit."""
    today = today or local_today()
    held = list(db.session.scalars(select(Nomination).where(
        Nomination.merchant_id == merchant_id, Nomination.status == N.APPROVED,
        Nomination.title_expires_on >= today)))
    held.sort(key=lambda n: n.level != NominationLevel.DEMONSTRATION)
    return held[0] if held else None


def nominations_of(merchant_id: int) -> list[Nomination]:
    return list(db.session.scalars(select(Nomination).where(Nomination.merchant_id == merchant_id)
                                   .order_by(Nomination.id.desc())))


def events_of(nomination_id: int) -> list[NominationEvent]:
    return list(db.session.scalars(
        select(NominationEvent).where(NominationEvent.nomination_id == nomination_id)
        .order_by(NominationEvent.id)))


def queue_for(officer: User) -> list[Nomination]:
    """What waits for this officer: their town's new applications, or (city) recommended ones."""
    return list(db.session.scalars(queue_query(officer).order_by(Nomination.created_at, Nomination.id)))


def queue_query(officer: User) -> Select[tuple[Nomination]]:
    """queue_for's rows, unordered (the staff page pages them)."""
    town = officer_town_id(officer)
    if town is not None:
        return (select(Nomination).join(Merchant, Merchant.id == Nomination.merchant_id)
                .where(Nomination.status == N.SUBMITTED, Merchant.town_id == town))
    return select(Nomination).where(Nomination.status == N.TOWN_APPROVED)


def flagged_units() -> list[Nomination]:
    return list(db.session.scalars(select(Nomination).where(
        Nomination.status == N.APPROVED, Nomination.delisting_reasons.is_not(None)).order_by(Nomination.id)))
