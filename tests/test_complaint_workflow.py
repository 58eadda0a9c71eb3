"""The complaint workflow (complaints.workflow): the state machine, deadlines counted in
Chinese working days, phone reveals, station scope, ownership and idempotent filing."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import current_app

from pledge_registry import workdays
from pledge_registry.complaints import deadlines, filing, workflow
from pledge_registry.complaints.workflow import TRANSITIONS, WorkflowError
from pledge_registry.extensions import db
from pledge_registry.models import (
    CommercialArea,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    Holiday,
    OutboxMessage,
    PhoneReveal,
)
from tests.factories import (
    make_filed_complaint,
    make_merchant,
    make_station,
    make_station_officer,
    make_user,
    new_complaint,
)
from tests.helpers import SHOPPER_PHONE, count_rows

S = ComplaintStatus
SH = ZoneInfo("Asia/Shanghai")
ROLES = ("officer", "merchant", "shopper", "system")
STATUSES = tuple(s.value for s in ComplaintStatus)


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=SH)


def in_state(status: str, merchant) -> Complaint:
    """A case put straight into `status` (the fields each state implies are filled in)."""
    c = make_filed_complaint(merchant)
    now = datetime.now(UTC)
    c.status = status
    if status != S.RECEIVED:
        c.accepted_at = now
    if status in (S.WITH_MERCHANT, S.MERCHANT_ANSWERED):
        c.forwarded_at = now
        c.merchant_reply_due_at = now + timedelta(days=3)
    if status == S.MERCHANT_ANSWERED:
        c.merchant_reply, c.proposal_kind, c.proposal_amount_cents = "可以退款", "refund", 259900
    if status == S.CLOSED:
        c.outcome, c.closed_at = "resolved", now
    db.session.commit()
    return c


def events_of(c: Complaint) -> list[ComplaintEvent]:
    return list(db.session.scalars(
        sa.select(ComplaintEvent).where(ComplaintEvent.complaint_id == c.id).order_by(ComplaintEvent.id)))


@pytest.fixture
def people(app):
    owner = make_user()
    merchant = make_merchant(owner=owner)
    return {"officer": make_user("staff"), "owner": owner, "merchant": merchant}


# --- the state machine -----------------------------------------------------------------------------

LEGAL = sorted((f, t, r) for (f, t), roles in TRANSITIONS.items() for r in roles)
ILLEGAL = [(f, t, r) for f in STATUSES for t in STATUSES for r in ROLES
           if r not in TRANSITIONS.get((f, t), frozenset())]


def test_the_table_covers_every_combination():
    assert len(LEGAL) + len(ILLEGAL) == len(STATUSES) ** 2 * len(ROLES)
    assert all(r in ROLES for _f, _t, r in LEGAL)


def _perform(c: Complaint, to: str, role: str, people: dict, note: str) -> None:
    """Make the move through the workflow's public function for (to, role)."""
    officer, owner = people["officer"], people["owner"]
    if role == "officer":
        if to == S.ACCEPTED:
            workflow.accept(officer, c, note)
        elif to == S.WITH_MERCHANT:
            workflow.forward(officer, c, note)
        elif to == S.MEDIATING:
            workflow.mediate(officer, c, note)
        elif to == S.CLOSED and c.status == S.RECEIVED:
            workflow.reject(officer, c, "outside_scope", note)
        elif to == S.CLOSED:
            workflow.close(officer, c, "resolved", note, amount_recovered_cents=100, upheld=True)
        else:
            raise LookupError(f"no officer function reaches {to}")
    elif role == "merchant" and to == S.MERCHANT_ANSWERED:
        workflow.merchant_answer(owner, c, note, "refund", 1000)
    elif role == "shopper" and to == S.MEDIATING:
        workflow.shopper_respond(c, accept=False, note=note)
    elif role == "shopper" and to == S.CLOSED:
        workflow.shopper_withdraw(c, note)
    else:
        raise LookupError(f"no public function for {role} → {to}")


def _actor_id(role: str, people: dict) -> int | None:
    return {"officer": people["officer"].id, "merchant": people["owner"].id}.get(role)


@pytest.mark.parametrize(("from_status", "to_status", "role"), LEGAL)
def test_legal_transition_succeeds_and_writes_an_event(people, from_status, to_status, role):
    c = in_state(from_status, people["merchant"])
    before = len(events_of(c))
    _perform(c, to_status, role, people, note="a note for the timeline")
    db.session.expire_all()
    c = db.session.get(Complaint, c.id)
    assert c.status == to_status
    events = events_of(c)
    assert len(events) == before + 1
    event = events[-1]
    assert (event.from_status, event.to_status, event.actor_role) == (from_status, to_status, role)
    assert event.actor_id == _actor_id(role, people)
    assert event.note == "a note for the timeline"
    if to_status == S.CLOSED:
        assert c.outcome is not None and c.closed_at is not None


@pytest.mark.parametrize("from_status", STATUSES)
def test_illegal_transitions_raise_and_change_nothing(people, from_status):
    """Every (to, role) not in TRANSITIONS from this status; one case serves them all, since
    each refused move must leave it exactly as it was."""
    c = in_state(from_status, people["merchant"])
    before = len(events_of(c))
    moves = [(t, r) for f, t, r in ILLEGAL if f == from_status]
    assert moves
    for to_status, role in moves:
        actor = {"officer": people["officer"], "merchant": people["owner"]}.get(role)
        with pytest.raises(WorkflowError) as err:
            workflow._move(c, to_status, role, actor, "x")
        assert err.value.code == "illegal_transition", (to_status, role)
        # Through the public function too, where one exists for this move.
        try:
            _perform(c, to_status, role, people, note="x")
        except LookupError:
            pass
        except WorkflowError as public_err:
            # shopper_respond and shopper_withdraw check their own preconditions first.
            assert public_err.code in ("illegal_transition", "no_proposal", "closed"), (to_status, role)
        else:
            pytest.fail(f"{role} moved a {from_status} case to {to_status}")
        db.session.rollback()
        db.session.expire_all()
        c = db.session.get(Complaint, c.id)
        assert c.status == from_status, (to_status, role)
        assert len(events_of(c)) == before, (to_status, role)


def test_an_officer_cannot_close_a_case_not_yet_accepted(people):
    """Received cases are accepted or rejected (with a reason) first."""
    c = make_filed_complaint(people["merchant"])
    with pytest.raises(WorkflowError) as err:
        workflow.close(people["officer"], c, "resolved", "settled", amount_recovered_cents=100)
    assert err.value.code == "illegal_transition"
    db.session.rollback()
    assert db.session.get(Complaint, c.id).status == S.RECEIVED


def test_shopper_accepting_the_proposal_closes_as_resolved_with_the_amount(people):
    c = in_state(S.MERCHANT_ANSWERED, people["merchant"])
    workflow.shopper_respond(c, accept=True)
    assert (c.status, c.outcome, c.amount_recovered_cents, c.proposal_response) == \
        (S.CLOSED, "resolved", 259900, "accepted")


def test_reject_needs_a_reason_from_the_rules(people):
    c = make_filed_complaint(people["merchant"])
    with pytest.raises(WorkflowError) as err:
        workflow.reject(people["officer"], c, "not_a_reason")
    assert err.value.code == "reject_reason"
    workflow.reject(people["officer"], c, "too_old", "bought in 2020")
    assert (c.status, c.outcome, c.reject_reason) == (S.CLOSED, "rejected", "too_old")


def test_not_resolved_needs_advice(people):
    c = in_state(S.MEDIATING, people["merchant"])
    with pytest.raises(WorkflowError) as err:
        workflow.close(people["officer"], c, "not_resolved", "  ")
    assert err.value.code == "advice_required"
    db.session.rollback()
    workflow.close(people["officer"], c, "not_resolved", "Apply to the arbitration commission.", upheld=False)
    assert (c.outcome, c.upheld) == ("not_resolved", False)


# --- deadlines in working days of the Chinese calendar ------------------------------------------------

def test_deadlines_across_mid_autumn_and_national_day_2026(people):
    # Fri 25 Sep 2026 is Mid-Autumn (25-27 Sep off); National Day 1-7 Oct; Sat 10 Oct is worked.
    c = make_filed_complaint(people["merchant"], now=local(2026, 9, 25))
    db.session.expire_all()
    c = db.session.get(Complaint, c.id)
    assert c.acceptance_due_at == end_of(2026, 9, 28)   # Mon: the first working day after
    # 28, 29, 30 Sep; 8, 9, 10 (Sat, worked), 12 Oct
    assert c.completion_due_at == end_of(2026, 10, 12)


def test_received_on_a_moved_working_saturday(people):
    c = make_filed_complaint(people["merchant"], now=local(2026, 10, 10))  # Sat, a working day
    assert c.acceptance_due_at == end_of(2026, 10, 12)    # Mon (Sun 11 is off)
    assert c.completion_due_at == end_of(2026, 10, 20)    # 12-16, 19, 20
    # With "same working day" acceptance, the Saturday itself is the deadline.
    deadlines.save_deadlines(deadlines.Deadlines(acceptance_days=0), people["officer"].id)
    c = make_filed_complaint(people["merchant"], now=local(2026, 10, 10, 11))
    assert c.acceptance_due_at == end_of(2026, 10, 10)


def test_deadline_on_a_moved_working_sunday(people):
    c = make_filed_complaint(people["merchant"], now=local(2026, 9, 19))  # an ordinary Saturday, off
    assert c.acceptance_due_at == end_of(2026, 9, 20)     # Sun 20 Sep is worked


def test_a_late_evening_filing_counts_on_its_local_date(people):
    # 23:30 on Thu 24 Sep in Shanghai is still the 24th, although 15:30 UTC.
    c = make_filed_complaint(people["merchant"], now=local(2026, 9, 24, 23, 30))
    assert c.acceptance_due_at == end_of(2026, 9, 28)


def test_year_without_data_falls_back_to_monday_friday(people, monkeypatch, caplog):
    monkeypatch.setattr(workdays, "_warned_years", set())
    with caplog.at_level(logging.WARNING, logger="pledge_registry.workdays"):
        c = make_filed_complaint(people["merchant"], now=local(2027, 10, 1))  # a Friday; no 2027 data anywhere
    assert c.acceptance_due_at == end_of(2027, 10, 4)   # Mon
    assert c.completion_due_at == end_of(2027, 10, 12)  # 4-8, 11, 12
    assert any("2027" in r.getMessage() for r in caplog.records)
    assert deadlines.calendar_warning(date(2027, 3, 1)) == [2027, 2028]


def test_year_without_package_data_honours_the_holiday_table(people):
    for day in range(1, 8):
        db.session.add(Holiday(day=date(2027, 10, day), is_workday=False, name="National Day"))
    db.session.add(Holiday(day=date(2027, 10, 9), is_workday=True, name="National Day (moved)"))
    db.session.commit()
    c = make_filed_complaint(people["merchant"], now=local(2027, 10, 1))
    assert c.acceptance_due_at == end_of(2027, 10, 8)    # Fri, the first working day
    assert c.completion_due_at == end_of(2027, 10, 15)   # 8, 9 (Sat, worked), 11-15
    assert deadlines.calendar_warning(date(2027, 3, 1)) == [2028]


def test_the_calendar_is_kept_per_process_and_refreshed_on_every_change_it_makes(people, monkeypatch):
    """deadlines.py caches the holiday table and the deadline setting for
    REFERENCE_CACHE_SECONDS: a change flushed by this process empties the cache at once,
    one made elsewhere (another worker) shows once the seconds have passed."""
    clock = [1000.0]
    monkeypatch.setattr(deadlines.time, "monotonic", lambda: clock[0])
    friday = local(2027, 10, 1)
    assert deadlines.calendar().add_workdays(friday, 1) == end_of(2027, 10, 4)  # cached now
    # Another process adds 4 Oct as a holiday: this one does not see it yet ...
    db.session.execute(sa.insert(Holiday.__table__).values(
        day=date(2027, 10, 4), is_workday=False, name="elsewhere", created_at=datetime.now(UTC)))
    db.session.commit()
    assert deadlines.calendar().add_workdays(friday, 1) == end_of(2027, 10, 4)
    assert deadlines.calendar(fresh=True).add_workdays(friday, 1) == end_of(2027, 10, 5)  # the admin pages
    clock[0] += current_app.config["REFERENCE_CACHE_SECONDS"] + 1
    assert deadlines.calendar().add_workdays(friday, 1) == end_of(2027, 10, 5)  # ... until the time is up
    # A change through this process's session shows at once, and one rolled back is forgotten.
    db.session.add(Holiday(day=date(2027, 10, 5), is_workday=False, name="here"))
    db.session.commit()
    assert deadlines.calendar().add_workdays(friday, 1) == end_of(2027, 10, 6)
    db.session.add(Holiday(day=date(2027, 10, 6), is_workday=False, name="undone"))
    db.session.flush()
    assert deadlines.calendar().add_workdays(friday, 1) == end_of(2027, 10, 7)  # inside the transaction
    db.session.rollback()
    assert deadlines.calendar().add_workdays(friday, 1) == end_of(2027, 10, 6)
    # The same holds for the deadline setting.
    assert deadlines.current_deadlines().acceptance_days == 1
    deadlines.save_deadlines(deadlines.Deadlines(acceptance_days=2), people["officer"].id)
    assert deadlines.current_deadlines().acceptance_days == 2


def test_forwarding_sets_the_merchant_reply_deadline(people):
    c = in_state(S.ACCEPTED, people["merchant"])
    workflow.forward(people["officer"], c)
    days = deadlines.current_deadlines().merchant_reply_days
    expected = deadlines.calendar().add_workdays(c.forwarded_at, days)
    assert c.merchant_reply_due_at == expected
    assert count_rows(OutboxMessage, OutboxMessage.template == "merchant_new_complaint") == 1


# --- phone reveals -------------------------------------------------------------------------------------

def test_only_the_assigned_officer_can_reveal_and_every_reveal_is_audited(people):
    officer, other = people["officer"], make_user("staff")
    c = make_filed_complaint(people["merchant"])
    workflow.accept(officer, c)
    assert c.assigned_officer_id == officer.id
    with pytest.raises(WorkflowError) as err:
        workflow.reveal_phone(other, c)
    assert err.value.code == "not_assigned"
    db.session.rollback()
    assert count_rows(PhoneReveal) == 0
    assert workflow.reveal_phone(officer, c) == SHOPPER_PHONE
    workflow.reveal_phone(officer, c)
    rows = list(db.session.scalars(sa.select(PhoneReveal)))
    assert [(r.complaint_id, r.officer_id) for r in rows] == [(c.id, officer.id)] * 2
    workflow.reassign(officer, c, other)
    assert workflow.reveal_phone(other, c) == SHOPPER_PHONE
    with pytest.raises(WorkflowError):
        workflow.reveal_phone(officer, c)


def test_masking():
    assert workflow.mask_phone("13812345678") == "138****5678"
    assert workflow.mask_phone(None) == ""
    assert workflow.mask_name("王小明") == "王**"


# --- station officers ----------------------------------------------------------------------------------

def test_station_officer_handles_only_its_station_cases(people):
    areas = list(db.session.scalars(sa.select(CommercialArea).order_by(CommercialArea.id)))[:2]
    here = make_station(areas[0].id, "华发广场消费维权监督站")
    there = make_station(areas[1].id, "南洋广场消费维权监督站")
    officer = make_station_officer(here)
    ours = make_filed_complaint(make_merchant(area_id=areas[0].id))
    theirs = make_filed_complaint(make_merchant(area_id=areas[1].id))
    nobody = make_filed_complaint(make_merchant(area_id=None))
    assert (ours.station_id, theirs.station_id, nobody.station_id) == (here.id, there.id, None)
    assert workflow.can_handle(officer, ours)
    assert not workflow.can_handle(officer, theirs)
    assert not workflow.can_handle(officer, nobody)
    assert workflow.can_handle(people["officer"], theirs)
    assert not workflow.can_handle(people["owner"], ours)
    for case in (theirs, nobody):
        with pytest.raises(WorkflowError) as err:
            workflow.accept(officer, case)
        assert err.value.code == "not_officer"
        db.session.rollback()
        assert db.session.get(Complaint, case.id).status == S.RECEIVED
    workflow.accept(officer, ours)
    assert (ours.status, ours.assigned_officer_id) == (S.ACCEPTED, officer.id)
    # A case cannot be handed to an officer of another station.
    with pytest.raises(WorkflowError):
        workflow.reassign(people["officer"], theirs, officer)


# --- merchants -----------------------------------------------------------------------------------------

def test_merchant_cannot_answer_another_shops_case(people):
    c = in_state(S.WITH_MERCHANT, people["merchant"])
    stranger = make_user()
    make_merchant(owner=stranger)
    with pytest.raises(WorkflowError) as err:
        workflow.merchant_answer(stranger, c, "不是我们的顾客", None, None)
    assert err.value.code == "not_owner"
    db.session.rollback()
    db.session.expire_all()
    c = db.session.get(Complaint, c.id)
    assert (c.status, c.merchant_reply) == (S.WITH_MERCHANT, "")


def test_merchant_answer_records_the_proposal(people):
    c = in_state(S.WITH_MERCHANT, people["merchant"])
    workflow.merchant_answer(people["owner"], c, "可以全额退款", "refund", 12850)
    assert (c.status, c.proposal_kind, c.proposal_amount_cents) == (S.MERCHANT_ANSWERED, "refund", 12850)
    assert c.merchant_replied_at is not None


# --- filing --------------------------------------------------------------------------------------------

def test_filing_is_idempotent(people):
    data = new_complaint(people["merchant"], idempotency_key="same-key-twice")
    first, created = filing.file_complaint(data)
    again, created_again = filing.file_complaint(data)
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert count_rows(Complaint) == 1
    assert len(events_of(first)) == 1
    assert count_rows(OutboxMessage, OutboxMessage.template == "complaint_received") == 1


def test_same_phone_and_shop_within_7_days_is_a_possible_duplicate(people):
    start = datetime(2026, 11, 2, 2, tzinfo=UTC)
    first = make_filed_complaint(people["merchant"], now=start)
    second = make_filed_complaint(people["merchant"], now=start + timedelta(days=6))
    later = make_filed_complaint(people["merchant"], now=start + timedelta(days=20))
    other_phone = make_filed_complaint(people["merchant"], now=start + timedelta(days=1), shopper_phone="13987654321")
    assert (first.possible_duplicate, second.possible_duplicate, later.possible_duplicate,
            other_phone.possible_duplicate) == (False, True, False, False)
    workflow.link_duplicate(people["officer"], second, first)
    assert second.duplicate_of_id == first.id
    with pytest.raises(WorkflowError):
        workflow.link_duplicate(people["officer"], second, make_filed_complaint(make_merchant()))
