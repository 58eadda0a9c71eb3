"""Complaint publication: draft a quarter, tell the merchants, take their statements, decide
each entry, publish. Each function commits, or raises a PublicationError with nothing changed.

What is counted, per merchant, over the complaints (not reports nor consultations) received
in the quarter (local dates), a second filing of one case (a duplicate) counting once:
received; accepted (accepted by the bureau or a station, whenever that happened); mediation
ended (closed resolved by agreement or not resolved); resolved (closed by agreement). The
public page shows the share resolved (resolved / accepted) and the mediation success rate
(resolved / mediation ended).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import and_, case, func, select

from ..complaints.deadlines import calendar
from ..domain import DomainError, commit_or_refuse
from ..extensions import db
from ..forms import is_control_char
from ..localtime import LOCAL_TZ, local_today
from ..models import (
    STATEMENT_MAX_LENGTH,
    Complaint,
    ComplaintPublication,
    EntryStatus,
    Merchant,
    Outcome,
    PublicationEntry,
    PublicationEntryEvent,
    PublicationStatus,
    Setting,
    User,
)
from ..outbox import enqueue
from .rules import PublicationRules, has_ended, quarter_bounds

SETTING_KEY = "publication_rules"


class PublicationError(DomainError):
    """A publication step was refused; `code` says why."""


# --- the rules ----------------------------------------------------------------------------

def current_rules() -> PublicationRules:
    value = db.session.scalar(select(Setting.value).where(Setting.key == SETTING_KEY))
    return PublicationRules.from_dict(value) if value is not None else PublicationRules()


def save_rules(rules: PublicationRules, admin: User) -> None:
    """Store the rules; publications already drafted keep the rules they were drafted under."""
    row = db.session.get(Setting, SETTING_KEY)
    if row is None:
        db.session.add(Setting(key=SETTING_KEY, value=rules.as_dict(), updated_by_id=admin.id))
    else:
        row.value = rules.as_dict()
        row.updated_by_id = admin.id
    db.session.commit()


# --- figures ------------------------------------------------------------------------------

def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ).astimezone(UTC)


def quarter_figures(start: date, end: date, min_accepted: int) -> list[Any]:
    """Per merchant meeting the rule: (merchant id, received, accepted, mediation ended, resolved),
    over complaints received in [start, end) local time; one grouped query."""
    accepted = func.count(Complaint.accepted_at)
    was_accepted = Complaint.accepted_at.is_not(None)
    ended = func.sum(case((and_(was_accepted, Complaint.outcome.in_((Outcome.RESOLVED, Outcome.NOT_RESOLVED))), 1),
                          else_=0))
    resolved = func.sum(case((and_(was_accepted, Complaint.outcome == Outcome.RESOLVED), 1), else_=0))
    query = (select(Complaint.merchant_id, func.count(Complaint.id), accepted, ended, resolved)
             .where(and_(Complaint.received_at >= _utc_midnight(start),
                         Complaint.received_at < _utc_midnight(end),
                         Complaint.request_type == "complaint",
                         Complaint.duplicate_of_id.is_(None)))
             .group_by(Complaint.merchant_id)
             .having(accepted >= min_accepted)
             .order_by(Complaint.merchant_id))
    return list(db.session.execute(query))


# --- the steps ----------------------------------------------------------------------------

def draft(actor: User, year: int, quarter: int, today: date | None = None) -> ComplaintPublication:
    """Count the quarter under the current rules and keep the figures of every merchant included."""
    today = today or local_today()
    if not 2000 <= year <= 2100 or not 1 <= quarter <= 4:
        raise PublicationError("bad_quarter", field="quarter")
    if not has_ended(year, quarter, today):
        raise PublicationError("quarter_open", field="quarter")
    if db.session.scalar(select(ComplaintPublication.id).where(
            ComplaintPublication.year == year, ComplaintPublication.quarter == quarter)) is not None:
        raise PublicationError("exists", field="quarter")
    rules = current_rules()
    start, end = quarter_bounds(year, quarter)
    publication = ComplaintPublication(year=year, quarter=quarter, period_start=start, period_end=end,
                                       status=PublicationStatus.DRAFT, created_by_id=actor.id,
                                       rules={**rules.as_dict(), "counted": "complaints"})
    db.session.add(publication)
    db.session.flush()
    figures = quarter_figures(start, end, rules.min_accepted)
    shops = {m.id: m for chunk in _chunks([row[0] for row in figures])
             for m in db.session.scalars(select(Merchant).where(Merchant.id.in_(chunk)))}
    db.session.add_all(
        PublicationEntry(publication_id=publication.id, merchant_id=m_id, shop_name=shops[m_id].shop_name,
                         legal_name=shops[m_id].legal_name, credit_code=shops[m_id].credit_code,
                         town_id=shops[m_id].town_id, received=received, accepted=n_accepted,
                         mediation_ended=int(n_ended), resolved=int(n_resolved))
        for m_id, received, n_accepted, n_ended, n_resolved in figures)
    commit_or_refuse(PublicationError("exists", field="quarter"))  # drafted at the same moment by someone else
    return publication


def _chunks(items: list[int], size: int = 500) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def notify(actor: User, publication: ComplaintPublication, now: datetime | None = None) -> int:
    """Tell every included merchant (by SMS, through the outbox) and open the notice period;
    returns how many were told."""
    now = now or datetime.now(UTC)
    if publication.status != PublicationStatus.DRAFT:
        raise PublicationError("not_draft")
    days = int(publication.rules.get("notice_workdays", PublicationRules.notice_workdays))
    notice_ends = calendar().local_date(calendar().add_workdays(now, days))
    publication.status, publication.notified_at, publication.notice_ends_on = (
        PublicationStatus.NOTICE, now, notice_ends)
    told = 0
    for entry in publication.entries:
        enqueue("sms", entry.merchant.contact_phone, "publication_notice",
                {"shop": entry.shop_name, "period": publication.label, "notice_ends": notice_ends.isoformat()},
                dedupe_key=f"publication:{publication.id}:entry:{entry.id}:notice")
        told += 1
    db.session.commit()
    return told


def set_statement(owner: User, entry: PublicationEntry, statement: str, now: datetime | None = None) -> None:
    """The merchant's statement beside its figures; a change after the officer's decision puts
    the entry back before the officer. The caller has checked that `owner` owns the shop."""
    if entry.publication.status != PublicationStatus.NOTICE:
        raise PublicationError("statement_closed")
    statement = statement.strip()
    if len(statement) > STATEMENT_MAX_LENGTH:
        raise PublicationError("statement_long", field="statement")
    if any(is_control_char(c) for c in statement):
        raise PublicationError("statement_control", field="statement")
    if statement == entry.statement:
        return
    owner_id, before = owner.id, entry.status
    entry.statement, entry.statement_at = statement, now or datetime.now(UTC)
    if before != EntryStatus.PENDING:
        entry.status, entry.decided_at, entry.decided_by_id = EntryStatus.PENDING, None, None
    db.session.add(PublicationEntryEvent(entry_id=entry.id, from_status=before, to_status=EntryStatus.PENDING,
                                         actor_id=owner_id, note="statement"))
    db.session.commit()


def decide(officer: User, entry: PublicationEntry, approve: bool, note: str = "",
           now: datetime | None = None) -> None:
    """Approve an entry for publication, or withhold it with a reason, while merchants are told."""
    if entry.publication.status != PublicationStatus.NOTICE:
        raise PublicationError("not_in_notice")
    note = note.strip()
    if not approve and not note:
        raise PublicationError("reason_required", field="reason")
    target = EntryStatus.APPROVED if approve else EntryStatus.WITHHELD
    officer_id, before = officer.id, entry.status  # read before the change: a refresh would flush half of it
    entry.status, entry.decided_by_id, entry.decided_at = target, officer_id, now or datetime.now(UTC)
    entry.decision_note = note[:500]
    db.session.add(PublicationEntryEvent(entry_id=entry.id, from_status=before, to_status=target,
                                         actor_id=officer_id, note=note[:500]))
    db.session.commit()


def publish(officer: User, publication: ComplaintPublication, now: datetime | None = None) -> None:
    """Publish the approved entries, once the notice period is over and every entry is decided."""
    now = now or datetime.now(UTC)
    if publication.status != PublicationStatus.NOTICE:
        raise PublicationError("not_in_notice")
    if publication.notice_ends_on is not None and calendar().local_date(now) < publication.notice_ends_on:
        raise PublicationError("notice_running")
    if undecided_count(publication) > 0:
        raise PublicationError("undecided")
    officer_id = officer.id
    publication.status, publication.published_at, publication.published_by_id = (
        PublicationStatus.PUBLISHED, now, officer_id)
    db.session.commit()


# --- reading ------------------------------------------------------------------------------

def undecided_count(publication: ComplaintPublication) -> int:
    return db.session.scalar(select(func.count()).select_from(PublicationEntry).where(
        PublicationEntry.publication_id == publication.id,
        PublicationEntry.status == EntryStatus.PENDING)) or 0


def published(year: int, quarter: int) -> ComplaintPublication | None:
    return db.session.scalar(select(ComplaintPublication).where(
        ComplaintPublication.year == year, ComplaintPublication.quarter == quarter,
        ComplaintPublication.status == PublicationStatus.PUBLISHED))


def published_list() -> list[ComplaintPublication]:
    return list(db.session.scalars(select(ComplaintPublication)
                                   .where(ComplaintPublication.status == PublicationStatus.PUBLISHED)
                                   .order_by(ComplaintPublication.year.desc(), ComplaintPublication.quarter.desc())))


def published_entries_query(publication: ComplaintPublication) -> Any:
    return select(PublicationEntry).where(PublicationEntry.publication_id == publication.id,
                                          PublicationEntry.status == EntryStatus.APPROVED)


def open_entries_of(owner: User) -> list[PublicationEntry]:
    """The owner's shops' entries in publications merchants are being told about."""
    return list(db.session.scalars(
        select(PublicationEntry).join(ComplaintPublication).join(Merchant, Merchant.id == PublicationEntry.merchant_id)
        .where(Merchant.owner_id == owner.id, ComplaintPublication.status == PublicationStatus.NOTICE)
        .order_by(PublicationEntry.id)))


def entry_of_owner(owner: User, entry_id: int) -> PublicationEntry | None:
    """The entry `entry_id` if it is of one of the owner's shops (else None: 404, no hint)."""
    entry = db.session.get(PublicationEntry, entry_id)
    if entry is None or entry.merchant.owner_id != owner.id:
        return None
    return entry
