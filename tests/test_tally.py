"""The complaint tallies, and the open cases by deadline day, equal a fresh count after
every kind of change a complaint goes through (filing, acceptance, rejection, the merchant's
answer, closing, a survey, a withdrawal, its shop moving town and category), and `flask
stats rebuild` writes the same."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from pledge_registry.analysis import tally
from pledge_registry.complaints import workflow
from pledge_registry.extensions import db
from pledge_registry.localtime import local_today
from pledge_registry.models import ALL_TOWNS, ComplaintTally, OpenCaseTally, Town
from tests.factories import make_complaint, make_filed_complaint, make_merchant, make_user


def _assert_equal_to_a_recount() -> None:
    db.session.expire_all()
    assert tally.stored(db.session()) == tally.recount(db.session())
    assert tally.stored_open(db.session()) == tally.recount_open(db.session())
    # No row of a deadline that no open case has any more.
    assert db.session.scalar(sa.select(sa.func.count()).where(OpenCaseTally.cases <= 0)) == 0


def _row(dimension: str, key: str, scope: int = ALL_TOWNS, grain: str = "day") -> ComplaintTally | None:
    """Today's row (local date) of complaints for one key."""
    return db.session.scalar(sa.select(ComplaintTally).where(
        ComplaintTally.grain == grain, ComplaintTally.dimension == dimension, ComplaintTally.key == key,
        ComplaintTally.scope_town_id == scope, ComplaintTally.request_type == "complaint",
        ComplaintTally.period == _period(grain)))


def _period(grain: str) -> date:
    today = local_today()
    return today if grain == "day" else today.replace(day=1)


def test_tallies_follow_the_workflow(app: Any, runner: Any) -> None:
    t1, t2 = db.session.scalars(sa.select(Town).order_by(Town.id).limit(2))
    owner = make_user(role="merchant")
    shop = make_merchant(owner=owner, town_id=t1.id, area_id=t1.areas[0].id, category="food")
    other = make_merchant(town_id=t2.id, category="ebikes")
    officer = make_user(role="staff")

    filed = [make_filed_complaint(shop) for _ in range(4)] + [make_filed_complaint(other, request_type="report")]
    _assert_equal_to_a_recount()
    everything = _row("all", "")
    assert everything is not None and everything.received == 4
    assert _row("category", "food", scope=t1.id).received == 4          # type: ignore[union-attr]
    assert _row("merchant", str(shop.id), scope=t1.id).received == 4    # type: ignore[union-attr]

    a, b, c, d, e = filed
    workflow.accept(officer, a)
    workflow.forward(officer, a)
    workflow.merchant_answer(owner, a, "退款", "refund", 12000)
    workflow.shopper_respond(a, accept=True)                    # resolved, 120 yuan
    assert workflow.record_survey(a, "satisfied", "")
    workflow.reject(officer, b, "outside_scope")
    workflow.accept(officer, c)
    workflow.close(officer, c, "not_resolved", "去仲裁")
    assert workflow.record_survey(c, "dissatisfied", "")
    workflow.shopper_withdraw(d)
    workflow.accept(officer, e)
    _assert_equal_to_a_recount()

    everything = _row("all", "")
    assert everything is not None
    assert (everything.received, everything.accepted_on_time, everything.accepted_late) == (4, 3, 0)
    assert (everything.finished_on_time, everything.closed, everything.resolved) == (3, 4, 1)
    assert (everything.surveys_answered, everything.surveys_satisfied) == (2, 1)
    assert everything.amount_recovered_cents == 12000
    assert _row("all", "", grain="month").received == 4              # type: ignore[union-attr]

    # An old case accepted late, added through the ORM (as a bulk tool would not).
    long_ago = datetime.now(UTC) - timedelta(days=40)
    old = make_complaint(shop, received_at=long_ago, acceptance_due_at=long_ago + timedelta(days=1),
                         completion_due_at=long_ago + timedelta(days=9))
    workflow.accept(officer, old)
    _assert_equal_to_a_recount()

    # The shop moves town and category: its cases follow it.
    shop.town_id, shop.area_id, shop.category = t2.id, None, "furniture"
    db.session.commit()
    _assert_equal_to_a_recount()
    assert _row("category", "food").received == 0                   # type: ignore[union-attr]
    assert _row("category", "furniture", scope=t2.id).received == 4  # type: ignore[union-attr]

    db.session.delete(e.events[0])
    for event in list(e.events):
        db.session.delete(event)
    db.session.delete(e)
    db.session.commit()
    _assert_equal_to_a_recount()

    assert tally.stored_open(db.session()), "no open case left to count by its deadlines"
    before, open_before = tally.stored(db.session()), tally.stored_open(db.session())
    db.session.execute(sa.delete(ComplaintTally))
    db.session.execute(sa.delete(OpenCaseTally))
    db.session.commit()
    result = runner.invoke(args=["stats", "rebuild"])
    assert result.exit_code == 0, result.output
    assert tally.stored(db.session()) == before
    assert tally.stored_open(db.session()) == open_before


def _close_without_an_outcome(case: Any) -> None:
    """A change the schema refuses at the flush (a closed case needs an outcome), rolled back."""
    case.status = "closed"
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        db.session.rollback()
    else:
        raise AssertionError("a closed case without an outcome was stored")


def test_a_refused_change_leaves_the_tallies(app: Any) -> None:
    shop = make_merchant()
    case = make_filed_complaint(shop)
    officer = make_user(role="staff")
    before = tally.stored(db.session())
    _close_without_an_outcome(case)
    assert tally.stored(db.session()) == before
    workflow.accept(officer, db.session.get_one(type(case), case.id))
    _assert_equal_to_a_recount()


def test_a_failed_flush_adds_nothing_back_at_the_next_one(app: Any) -> None:
    """A flush the schema refuses had subtracted its cases before it failed; the rollback
    takes the subtraction back, and no later flush adds them again."""
    shop = make_merchant()
    case = make_filed_complaint(shop)
    _close_without_an_outcome(case)
    make_user(role="staff")         # a flush and commit of nothing the tallies count
    _assert_equal_to_a_recount()
