"""`flask demo load`: the demo city at work, on both engines."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from pledge_registry import create_app
from pledge_registry.extensions import db
from pledge_registry.models import (
    Complaint,
    ComplaintEvent,
    Inspection,
    Merchant,
    Nomination,
    OutboxMessage,
    Penalty,
    Rating,
    RatingAppeal,
    SurveyResponse,
    User,
)
from tests.helpers import base_config, count_rows

SMALL = ["demo", "load", "--merchants", "48", "--seed", "5"]


def loaded(runner: Any) -> str:
    result = runner.invoke(args=SMALL)
    assert result.exit_code == 0, result.output
    return result.output


def test_every_complaint_state_is_there(runner) -> None:
    loaded(runner)
    complaints = sa.select(Complaint).where(Complaint.request_type == "complaint")
    rows = list(db.session.scalars(complaints))
    assert {c.status for c in rows} == {"received", "accepted", "with_merchant", "merchant_answered", "mediating",
                                        "closed"}
    assert {c.outcome for c in rows} >= {"resolved", "not_resolved", "rejected", "withdrawn"}
    now = db.session.scalar(sa.select(sa.func.max(ComplaintEvent.created_at)))
    assert any(c.status != "closed" and c.completion_due_at < now for c in rows)          # overdue
    assert any(c.accepted_at and c.accepted_at > c.acceptance_due_at for c in rows)        # accepted late
    assert all(c.merchant_reply_due_at for c in rows if c.forwarded_at)
    assert {"report", "consultation"} <= set(db.session.scalars(sa.select(Complaint.request_type)))
    assert sum(c.amount_recovered_cents for c in rows) > 0


def test_each_case_has_its_timeline_messages_and_surveys(runner) -> None:
    loaded(runner)
    cases = count_rows(Complaint)
    # Filed here by the shopper, or another channel's request entered by an officer.
    firsts = db.session.scalar(sa.select(sa.func.count()).where(ComplaintEvent.kind.in_(("received", "recorded"))))
    assert firsts == cases
    channels = set(db.session.scalars(sa.select(Complaint.channel)))
    assert {"web", "12315", "12345", "phone", "letter", "walk_in", "referral"} <= channels
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Complaint).where(
        Complaint.registered_12315_ref.is_not(None))) == 1
    closed = db.session.scalar(sa.select(sa.func.count()).select_from(Complaint).where(Complaint.status == "closed"))
    assert db.session.scalar(sa.select(sa.func.count()).where(ComplaintEvent.to_status == "closed")) == closed
    templates = Counter(db.session.scalars(sa.select(OutboxMessage.template)))
    assert templates["complaint_received"] == cases and templates["survey"] > 0
    answers = Counter(db.session.scalars(sa.select(SurveyResponse.answer)))
    assert answers["satisfied"] / sum(answers.values()) > 0.8


def test_compliance_ratings_nominations_and_people(runner) -> None:
    output = loaded(runner)
    assert count_rows(Inspection) > 0 and count_rows(Penalty) > 0
    grades = set(db.session.scalars(sa.select(Rating.grade).where(Rating.is_current)))
    assert grades == {"A", "B", "C", "D", "NR"}
    statuses = set(db.session.scalars(sa.select(Nomination.status)))
    assert statuses == {"submitted", "town_approved", "approved", "rejected", "withdrawn", "delisted", "expired"}
    assert count_rows(RatingAppeal) == 1
    officers = list(db.session.scalars(sa.select(User).where(User.role == "staff", User.town_id.is_not(None))))
    assert len(officers) == 2
    merchant = db.session.scalar(sa.select(User).where(User.email == "merchant@demo.invalid"))
    shops = list(db.session.scalars(sa.select(Merchant).where(Merchant.owner_id == merchant.id)))
    assert {"approved", "pending", "rejected"} <= {s.status for s in shops}
    waiting = db.session.scalar(sa.select(sa.func.count()).select_from(Complaint).where(
        Complaint.merchant_id.in_([s.id for s in shops]), Complaint.status == "with_merchant"))
    assert waiting >= 1
    logins = dict(re.findall(r"login: (\S+)\s+password: (\S+)", output))
    assert set(logins) == {"staff@demo.invalid", "admin@demo.invalid", "station@demo.invalid",
                           "chengxiang@demo.invalid", "gaoxin@demo.invalid", "merchant@demo.invalid"}
    again = runner.invoke(args=["demo", "load", "--if-empty"])
    assert "already loaded" in again.output
    assert dict(re.findall(r"login: (\S+)\s+password: (\S+)", again.output)) == logins


def _counts_after_load(template: Path, tmp: Path, seed: int) -> dict[str, Any]:
    path = tmp / f"demo-{seed}-{len(list(tmp.iterdir()))}.sqlite3"
    shutil.copy(template, path)
    app = create_app(base_config(f"sqlite:///{path}", tmp))
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo", "load", "--merchants", "30", "--seed", str(seed)])
        assert result.exit_code == 0, result.output
        counts = {
            "by_state": Counter(db.session.execute(sa.select(Complaint.request_type, Complaint.status,
                                                             Complaint.outcome)).tuples()),
            "events": count_rows(ComplaintEvent), "messages": count_rows(OutboxMessage),
            "inspections": count_rows(Inspection), "nominations": count_rows(Nomination),
        }
        db.session.remove()
        db.engine.dispose()
    return counts


def test_the_same_seed_loads_the_same_counts(sqlite_template: Path, tmp_path: Path) -> None:
    first = _counts_after_load(sqlite_template, tmp_path, 7)
    assert first == _counts_after_load(sqlite_template, tmp_path, 7)
    assert first != _counts_after_load(sqlite_template, tmp_path, 8)


def test_the_demo_shows_on_the_staff_and_merchant_screens(app, runner) -> None:
    from tests.factories import make_user
    from tests.helpers import signed_in_client, text

    loaded(runner)
    staff = signed_in_client(app, make_user("staff"))
    one_per_status = db.session.execute(
        sa.select(Complaint.status, sa.func.min(Complaint.id)).group_by(Complaint.status)).tuples().all()
    pages = ["/staff/", "/staff/complaints/", "/staff/complaints/stats", "/staff/nominations", "/staff/appeals",
             "/staff/suspension-proposals", "/staff/dev/messages"]
    pages += [f"/staff/complaints/{complaint_id}" for _, complaint_id in one_per_status]
    pages += [f"/staff/nominations/{n}" for n in db.session.scalars(sa.select(Nomination.id))]
    for url in pages:
        assert staff.get(url).status_code == 200, url
    appeal = db.session.scalar(sa.select(RatingAppeal))
    assert staff.get(f"/staff/appeals/{appeal.id}").status_code == 200
    merchant = db.session.scalar(sa.select(User).where(User.email == "merchant@demo.invalid"))
    merchant.password_hash = make_user().password_hash   # sign in with the tests' password
    db.session.commit()
    portal = signed_in_client(app, merchant)
    shops = text(portal.get("/portal/"))
    assert all(s.shop_name in shops for s in db.session.scalars(sa.select(Merchant).where(
        Merchant.owner_id == merchant.id)))
    waiting = db.session.scalar(sa.select(Complaint.id).join(Merchant, Merchant.id == Complaint.merchant_id).where(
        Merchant.owner_id == merchant.id, Complaint.status == "with_merchant").limit(1))
    assert portal.get("/portal/complaints/").status_code == 200
    assert portal.get(f"/portal/complaints/{waiting}").status_code == 200
