"""Compliance rules: inspections and penalties, the right to reply and to appeal, and
proposals to suspend a pledge after repeated breaches.

Services raise ComplianceError with a `code`; views and the CLI turn codes into sentences.
A service that changes what a rating counts tells the ratings feature before it commits, so
the change and the merchant's new rating are committed together (ratings.hooks).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..domain import DomainError, commit_or_refuse
from ..extensions import db
from ..localtime import local_today
from ..models import (
    AppealStatus,
    Complaint,
    ComplaintStatus,
    Inspection,
    Merchant,
    Penalty,
    Pledge,
    PledgeKind,
    PledgeStatus,
    Rating,
    RatingAppeal,
    RatingReply,
    SuspensionProposal,
    User,
)
from ..ratings import hooks as rating_hooks
from ..ratings.services import current_rating

REPLY_MAX = 300
APPEAL_DAYS = 21
BREACH_WINDOW = timedelta(days=365)
BREACHES_FOR_PROPOSAL = 2
# A complaint upheld for this problem type is a breach of that pledge.
BREACH_KIND = {"genuine_doubt": PledgeKind.GENUINE, "refused_return": PledgeKind.RETURNS}
INSPECTION_RESULTS = ("passed", "failed")
MAX_PENALTY_CENTS = 10**12  # 10 billion yuan: anything larger is a typing error


class ComplianceError(DomainError):
    """A compliance rule refused the request; `code` says which."""


def _staff(user: User) -> None:
    if not user.is_staff:
        raise ComplianceError("not_staff")


def compliance_changed(merchant_ids: Iterable[int]) -> None:
    """Tell the ratings feature that these merchants' inspections/penalties/appeals changed;
    call before committing (the hook re-rates them in the same transaction)."""
    for merchant_id in sorted(set(merchant_ids)):
        rating_hooks.on_compliance_change(merchant_id)


# --- inspections and penalties -----------------------------------------------------------

@dataclass(frozen=True)
class InspectionData:
    inspected_on: date
    subject: str
    result: str
    findings: str = ""


@dataclass(frozen=True)
class PenaltyData:
    case_number: str
    decided_on: date
    reason: str
    amount_cents: int


def _check_inspection(data: InspectionData, today: date) -> None:
    if data.inspected_on > today:
        raise ComplianceError("future_date")
    if data.result not in INSPECTION_RESULTS:
        raise ComplianceError("result")
    if not data.subject.strip():
        raise ComplianceError("subject_required")
    if data.result == "failed" and not data.findings.strip():
        raise ComplianceError("findings_required")


def _check_penalty(data: PenaltyData, today: date) -> None:
    if data.decided_on > today:
        raise ComplianceError("future_date")
    if not data.case_number.strip():
        raise ComplianceError("case_number_required")
    if not data.reason.strip():
        raise ComplianceError("reason_required")
    if not 0 <= data.amount_cents <= MAX_PENALTY_CENTS:
        raise ComplianceError("amount")


def inspection_exists(merchant_id: int, inspected_on: date, subject: str) -> bool:
    return db.session.scalar(select(Inspection.id).where(
        Inspection.merchant_id == merchant_id, Inspection.inspected_on == inspected_on,
        Inspection.subject == subject.strip())) is not None


def case_numbers_taken(case_numbers: Iterable[str]) -> set[str]:
    wanted = sorted({c.strip() for c in case_numbers if c.strip()})
    taken: set[str] = set()
    for start in range(0, len(wanted), 500):
        taken.update(db.session.scalars(
            select(Penalty.case_number).where(Penalty.case_number.in_(wanted[start:start + 500]))))
    return taken


def _new_inspection(officer: User | None, merchant_id: int, data: InspectionData) -> Inspection:
    return Inspection(merchant_id=merchant_id, inspected_on=data.inspected_on, subject=data.subject.strip(),
                      result=data.result, findings=data.findings.strip(),
                      recorded_by_id=officer.id if officer else None)


def _new_penalty(officer: User | None, merchant_id: int, data: PenaltyData) -> Penalty:
    return Penalty(merchant_id=merchant_id, case_number=data.case_number.strip(), decided_on=data.decided_on,
                   reason=data.reason.strip(), amount_cents=data.amount_cents,
                   recorded_by_id=officer.id if officer else None)


def record_inspection(officer: User, merchant: Merchant, data: InspectionData) -> Inspection:
    """Record a spot check (抽查) of a shop; a failed one needs its findings."""
    _staff(officer)
    _check_inspection(data, local_today())
    if inspection_exists(merchant.id, data.inspected_on, data.subject):
        raise ComplianceError("duplicate_inspection")
    inspection = _new_inspection(officer, merchant.id, data)
    db.session.add(inspection)
    compliance_changed([merchant.id])
    commit_or_refuse(ComplianceError("duplicate_inspection"))  # recorded at the same moment by someone else
    return inspection


def record_penalty(officer: User, merchant: Merchant, data: PenaltyData) -> Penalty:
    """Record an administrative penalty (行政处罚); case numbers are unique."""
    _staff(officer)
    _check_penalty(data, local_today())
    if case_numbers_taken([data.case_number]):
        raise ComplianceError("duplicate_case")
    penalty = _new_penalty(officer, merchant.id, data)
    db.session.add(penalty)
    compliance_changed([merchant.id])
    commit_or_refuse(ComplianceError("duplicate_case"))
    return penalty


def load_imported(officer: User | None, inspections: Sequence[tuple[int, InspectionData]] = (),
                  penalties: Sequence[tuple[int, PenaltyData]] = ()) -> int:
    """Insert validated import rows in one transaction: all of them or, on a conflict, none."""
    if officer is not None:
        _staff(officer)
    rows: list[Inspection | Penalty] = [_new_inspection(officer, m, d) for m, d in inspections]
    rows += [_new_penalty(officer, m, d) for m, d in penalties]
    db.session.add_all(rows)
    compliance_changed([m for m, _ in inspections] + [m for m, _ in penalties])
    commit_or_refuse(ComplianceError("conflict"))  # a row recorded meanwhile by someone else
    return len(rows)


def inspections_of(merchant_id: int) -> list[Inspection]:
    return list(db.session.scalars(select(Inspection).where(Inspection.merchant_id == merchant_id)
                                   .order_by(Inspection.inspected_on.desc(), Inspection.id.desc())))


def penalties_of(merchant_id: int) -> list[Penalty]:
    return list(db.session.scalars(select(Penalty).where(Penalty.merchant_id == merchant_id)
                                   .order_by(Penalty.decided_on.desc(), Penalty.id.desc())))


# --- the right to reply ------------------------------------------------------------------

def current_reply(merchant_id: int) -> RatingReply | None:
    """The reply shown beside the merchant's rating, if any."""
    return db.session.scalar(select(RatingReply).where(
        RatingReply.merchant_id == merchant_id, RatingReply.removed_at.is_(None))
        .order_by(RatingReply.id.desc()).limit(1))


def publish_reply(owner: User, merchant: Merchant, text: str, now: datetime | None = None) -> RatingReply:
    """Publish or replace the merchant's short public reply (at most 300 characters)."""
    if merchant.owner_id != owner.id:
        raise ComplianceError("not_owner")
    text = " ".join(text.split()) if text else ""
    if not text:
        raise ComplianceError("reply_required")
    if len(text) > REPLY_MAX:
        raise ComplianceError("reply_too_long")
    now = now or datetime.now(UTC)
    for old in db.session.scalars(select(RatingReply).where(
            RatingReply.merchant_id == merchant.id, RatingReply.removed_at.is_(None))):
        old.removed_at = now
        old.removed_by_id = owner.id
        old.removal_reason = "replaced"
    reply = RatingReply(merchant_id=merchant.id, text=text, created_at=now)
    db.session.add(reply)
    db.session.commit()
    return reply


def remove_reply(officer: User, reply: RatingReply, reason: str, now: datetime | None = None) -> RatingReply:
    """Staff take down an abusive reply, with a reason the merchant sees."""
    _staff(officer)
    if reply.removed_at is not None:
        raise ComplianceError("already_removed")
    if not reason.strip():
        raise ComplianceError("reason_required")
    reply.removed_at = now or datetime.now(UTC)
    reply.removed_by_id = officer.id
    reply.removal_reason = reason.strip()
    db.session.commit()
    return reply


def removed_replies(merchant_id: int) -> list[RatingReply]:
    """Replies staff took down (not those the merchant replaced), newest first."""
    return list(db.session.scalars(select(RatingReply).where(
        RatingReply.merchant_id == merchant_id, RatingReply.removed_at.is_not(None),
        RatingReply.removed_by_id.is_not(None), RatingReply.removal_reason != "replaced")
        .order_by(RatingReply.id.desc())))


# --- appeals -----------------------------------------------------------------------------

def appeal_deadline(rating: Rating) -> datetime:
    return rating.computed_at + timedelta(days=APPEAL_DAYS)


def file_appeal(owner: User, merchant: Merchant, grounds: str, inspection_id: int | None = None,
                penalty_id: int | None = None, now: datetime | None = None) -> RatingAppeal:
    """Appeal the current rating within 21 days of its computation, optionally naming the
    inspection or penalty appealed against."""
    if merchant.owner_id != owner.id:
        raise ComplianceError("not_owner")
    now = now or datetime.now(UTC)
    rating = current_rating(merchant.id)
    if rating is None:
        raise ComplianceError("no_rating")
    if now > appeal_deadline(rating):
        raise ComplianceError("appeal_too_late")
    if not grounds.strip():
        raise ComplianceError("grounds_required")
    if inspection_id and penalty_id:
        raise ComplianceError("one_finding")
    finding: Inspection | Penalty | None
    if inspection_id:
        finding = db.session.get(Inspection, inspection_id)
        if finding is None or finding.merchant_id != merchant.id:
            raise ComplianceError("unknown_finding")
    if penalty_id:
        finding = db.session.get(Penalty, penalty_id)
        if finding is None or finding.merchant_id != merchant.id:
            raise ComplianceError("unknown_finding")
    if db.session.scalar(select(RatingAppeal.id).where(
            RatingAppeal.merchant_id == merchant.id, RatingAppeal.status == AppealStatus.OPEN)):
        raise ComplianceError("appeal_open")
    appeal = RatingAppeal(merchant_id=merchant.id, rating_id=rating.id, inspection_id=inspection_id or None,
                          penalty_id=penalty_id or None, grounds=grounds.strip(), submitted_by_id=owner.id,
                          created_at=now)
    db.session.add(appeal)
    db.session.commit()
    return appeal


def finding_recorder_id(appeal: RatingAppeal) -> int | None:
    """Who recorded the finding appealed against (None when no finding is named)."""
    if appeal.inspection_id:
        return db.session.scalar(
            select(Inspection.recorded_by_id).where(Inspection.id == appeal.inspection_id))
    if appeal.penalty_id:
        return db.session.scalar(select(Penalty.recorded_by_id).where(Penalty.id == appeal.penalty_id))
    return None


def may_decide_appeal(officer: User, appeal: RatingAppeal) -> bool:
    recorder = finding_recorder_id(appeal)
    return officer.is_staff and (recorder is None or recorder != officer.id)


def decide_appeal(officer: User, appeal: RatingAppeal, uphold: bool, reason: str,
                  now: datetime | None = None) -> RatingAppeal:
    """Uphold or dismiss an appeal, with a reason. The officer who recorded the finding
    appealed against may not decide it."""
    _staff(officer)
    if appeal.status != AppealStatus.OPEN:
        raise ComplianceError("appeal_decided")
    recorder = finding_recorder_id(appeal)
    if recorder is not None and recorder == officer.id:
        raise ComplianceError("own_finding")
    merchant = db.session.get(Merchant, appeal.merchant_id)
    if merchant is not None and merchant.owner_id == officer.id:
        raise ComplianceError("own_submission")
    if not reason.strip():
        raise ComplianceError("reason_required")
    appeal.status = AppealStatus.UPHELD if uphold else AppealStatus.DISMISSED
    appeal.decided_by_id = officer.id
    appeal.decision_reason = reason.strip()
    appeal.decided_at = now or datetime.now(UTC)
    if uphold:
        # The finding appealed against stops counting: inspections and penalties through
        # the upheld appeal (ratings.aggregate), a complaint by no longer being upheld.
        if appeal.complaint_id is not None:
            complaint = db.session.get(Complaint, appeal.complaint_id)
            if complaint is not None and complaint.merchant_id == appeal.merchant_id:
                complaint.upheld = False
        compliance_changed([appeal.merchant_id])
    db.session.commit()
    return appeal


def appeals_of(merchant_id: int) -> list[RatingAppeal]:
    return list(db.session.scalars(select(RatingAppeal).where(RatingAppeal.merchant_id == merchant_id)
                                   .order_by(RatingAppeal.id.desc())))


# --- repeated breaches → a proposal to suspend the pledge --------------------------------

def breach_counts(now: datetime | None = None) -> dict[tuple[int, str], tuple[int, datetime]]:
    """(merchant id, pledge kind) → (upheld breaches closed in the last 12 months, the latest)."""
    now = now or datetime.now(UTC)
    rows = db.session.execute(
        select(Complaint.merchant_id, Complaint.problem_type, func.count(), func.max(Complaint.closed_at))
        .where(Complaint.status == ComplaintStatus.CLOSED, Complaint.upheld.is_(True),
               Complaint.problem_type.in_(tuple(BREACH_KIND)), Complaint.closed_at > now - BREACH_WINDOW,
               Complaint.closed_at <= now)
        .group_by(Complaint.merchant_id, Complaint.problem_type))
    return {(m, BREACH_KIND[p]): (n, latest) for m, p, n, latest in rows}


def _open_proposals(now: datetime, merchant_id: int | None) -> list[SuspensionProposal]:
    """Add the proposals due (see propose_suspensions) to the session, without committing."""
    counts = {k: v for k, v in breach_counts(now).items()
              if v[0] >= BREACHES_FOR_PROPOSAL and (merchant_id is None or k[0] == merchant_id)}
    created: list[SuspensionProposal] = []
    for (m_id, kind), (breaches, latest) in sorted(counts.items()):
        pledge = db.session.scalar(select(Pledge).where(
            Pledge.merchant_id == m_id, Pledge.kind == kind, Pledge.status == PledgeStatus.ACTIVE))
        if pledge is None:
            continue
        proposals = list(db.session.scalars(select(SuspensionProposal).where(
            SuspensionProposal.pledge_id == pledge.id)))
        if any(p.status == "open" for p in proposals):
            continue
        last_decision = max((p.decided_at for p in proposals if p.decided_at), default=None)
        if last_decision is not None and latest <= last_decision:
            continue
        proposal = SuspensionProposal(pledge_id=pledge.id, breaches=breaches, created_at=now)
        db.session.add(proposal)
        created.append(proposal)
    return created


def propose_suspensions(now: datetime | None = None,
                        merchant_id: int | None = None) -> list[SuspensionProposal]:
    """Open a proposal to suspend each active pledge with 2+ breaches in 12 months; commits.

    Nothing is suspended: staff decide. A pledge has at most one open proposal, and after a
    decision a new proposal needs a breach closed after that decision. Returns the new ones.
    """
    created = _open_proposals(now or datetime.now(UTC), merchant_id)
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent run opened the same proposal: it exists, which is the goal
        db.session.rollback()
        return []
    return created


def on_complaint_closed(merchant_id: int, now: datetime | None = None) -> list[SuspensionProposal]:
    """Hook for the complaint workflow: after a complaint is closed (upheld set), open the
    merchant's due proposals in the caller's transaction (a savepoint; the caller commits).
    A proposal opened concurrently by another process is simply not opened twice."""
    savepoint = db.session.begin_nested()
    try:
        created = _open_proposals(now or datetime.now(UTC), merchant_id)
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        return []
    return created


def decide_proposal(officer: User, proposal: SuspensionProposal, accept: bool, reason: str,
                    now: datetime | None = None) -> SuspensionProposal:
    """Accept (the pledge is suspended, through the pledge state machine) or decline."""
    from ..pledges import services as pledge_services

    _staff(officer)
    if proposal.status != "open":
        raise ComplianceError("proposal_decided")
    if not reason.strip():
        raise ComplianceError("reason_required")
    proposal.status = "accepted" if accept else "declined"
    proposal.decided_by_id = officer.id
    proposal.decision_note = reason.strip()
    proposal.decided_at = now or datetime.now(UTC)
    if accept:
        pledge = db.session.get_one(Pledge, proposal.pledge_id)  # a foreign key: always there
        try:
            pledge_services.decide(officer, pledge, PledgeStatus.SUSPENDED, reason)  # commits both
        except pledge_services.PledgeError as err:
            db.session.rollback()
            raise ComplianceError(err.code) from err
    else:
        db.session.commit()
    return proposal
