"""Ratings on real rows: the SQL counts, storage and history, events, pages and the model."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from pledge_registry.complaints import workflow
from pledge_registry.extensions import db
from pledge_registry.localtime import local_today
from pledge_registry.models import Complaint, Inspection, Merchant, Penalty, Rating, Setting
from pledge_registry.pledges import services as pledge_services
from pledge_registry.ratings import aggregate, hooks, services
from pledge_registry.ratings.aggregate import Scope
from pledge_registry.ratings.model import FACTOR_KEYS
from tests.factories import (
    make_complaint,
    make_filed_complaint,
    make_merchant,
    make_pledge,
    make_pledged_merchant,
    make_user,
)
from tests.helpers import count_rows, form_post, login

pytestmark = pytest.mark.usefixtures("english")

_keys = itertools.count()


def established(**overrides):
    """An approved shop with both pledges in force for 200 days: rated A when clean."""
    return make_pledged_merchant(since=datetime.now(UTC) - timedelta(days=200), **overrides)


def add_complaint(merchant, *, upheld=False, problem_type="quality", outcome="resolved",
                  received_days_ago=30, replied=True, late=False, survey=None):
    """A closed complaint written straight into the table (the workflow has its own tests)."""
    received = datetime.now(UTC) - timedelta(days=received_days_ago)
    due = received + timedelta(days=5)
    return make_complaint(
        merchant, received_at=received, survey=survey, item="电饭煲", problem_type=problem_type, account="坏了",
        acceptance_due_at=received + timedelta(days=1), completion_due_at=received + timedelta(days=10),
        accepted_at=received, forwarded_at=received, merchant_reply_due_at=due,
        merchant_replied_at=(due + timedelta(days=2) if late else due - timedelta(days=1)) if replied else None,
        status="closed" if outcome else "with_merchant", outcome=outcome,
        closed_at=received + timedelta(days=8) if outcome else None, upheld=upheld)


def rate(merchant) -> Rating | None:
    services.update_merchant(merchant.id, "test")
    db.session.commit()
    return services.current_rating(merchant.id)


# --- the counts --------------------------------------------------------------------------

def test_counts_follow_the_window_rules(app) -> None:
    m = established()
    add_complaint(m, upheld=True, problem_type="genuine_doubt", survey="satisfied")
    add_complaint(m, outcome="not_resolved", late=True, received_days_ago=200, survey="dissatisfied")
    add_complaint(m, upheld=True, problem_type="refused_return", outcome=None, replied=False)
    add_complaint(m, received_days_ago=400)  # outside the window
    rejected = add_complaint(m)
    rejected.outcome = "rejected"
    db.session.add(Inspection(merchant_id=m.id, inspected_on=local_today() - timedelta(days=10), subject="x",
                              result="failed"))
    db.session.add(Inspection(merchant_id=m.id, inspected_on=local_today() - timedelta(days=500), subject="y",
                              result="failed"))
    db.session.add(Penalty(merchant_id=m.id, case_number="P-1", decided_on=local_today() - timedelta(days=20),
                           reason="r"))
    db.session.commit()
    inp = aggregate.rating_inputs(Scope.one(m.id))[m.id]
    assert (inp.active_pledges, inp.pledge_suspended) == (2, False)
    assert inp.pledge_active_days == 180  # 200 days, counted in whole 30-day months
    assert (inp.complaints, inp.complaints_upheld, inp.complaints_recent, inp.pledge_breaches) == (3, 2, 2, 2)
    assert (inp.answered_on_time, inp.answer_due) == (1, 3)   # one on time, one late, one overdue unanswered
    assert (inp.resolved, inp.closed) == (1, 2)
    assert (inp.satisfied, inp.surveyed) == (1, 2)
    assert (inp.inspections, inp.inspections_failed) == (1, 1)
    assert (inp.penalties, inp.days_since_last_penalty) == (1, 20)
    assert inp.size_factor == 1.0


# --- grades on real rows -----------------------------------------------------------------

def test_clean_history_is_a(app) -> None:
    rating = rate(established())
    assert (rating.grade, rating.score, rating.cap) == ("A", rating.score, None)
    assert rating.model_version == services.current_config().version
    assert [f["key"] for f in rating.breakdown["factors"]] == list(FACTOR_KEYS)


def test_penalty_caps_at_c(app) -> None:
    m = established()
    db.session.add(Penalty(merchant_id=m.id, case_number="P-2", decided_on=local_today(), reason="r"))
    db.session.commit()
    rating = rate(m)
    assert (rating.grade, rating.cap) == ("C", "penalty_in_period")


def test_suspended_pledge_is_d(app) -> None:
    m = established()
    officer = make_user("staff")
    pledge = m.pledges[0]
    pledge_services.decide(officer, pledge, "suspended", "抽查发现假货")
    rating = services.current_rating(m.id)  # the event rated it at commit
    assert rating is not None and (rating.grade, rating.cap) == ("D", "pledge_suspended")
    assert rating.cause == "pledge_change"


def test_new_merchant_is_not_rated(app) -> None:
    m = make_merchant()
    make_pledge(m, "genuine")  # in force for 10 days only
    assert rate(m).grade == "NR"


def test_only_approved_shops_are_rated(app) -> None:
    m = make_merchant(status="pending")
    assert rate(m) is None


# --- storage and history ------------------------------------------------------------------

def test_history_grows_only_on_change(app) -> None:
    m = established()
    first = rate(m)
    version = db.session.get(Merchant, m.id).public_version
    assert services.update_merchant(m.id, "again") is False
    db.session.commit()
    assert len(services.history(m.id)) == 1
    assert db.session.get(Merchant, m.id).public_version == version
    add_complaint(m, upheld=True)
    second = rate(m)
    rows = services.history(m.id)
    assert [r.id for r in rows] == [second.id, first.id]
    assert [r.is_current for r in rows] == [True, False]
    assert second.score < first.score
    db.session.refresh(m)
    assert m.public_version == version + 1


def test_event_updates_rating_and_the_cached_scan_page(app, client) -> None:
    m = established()
    rate(m)
    officer = make_user("staff")
    # An upheld complaint about a fake, closed through the workflow as an officer would.
    c = make_filed_complaint(m, item="手机", amount_paid_cents=100, problem_type="genuine_doubt", account="假货")
    workflow.accept(officer, c)
    before = client.get(f"/m/{m.badge_code}").get_data(as_text=True)
    assert 'class="grade grade-A">A</span>' in before
    for c in db.session.scalars(sa.select(Complaint).where(Complaint.merchant_id == m.id)).all():
        workflow.close(officer, c, "resolved", "退款", upheld=True)
    rating = services.current_rating(m.id)
    assert rating.grade == "B" and rating.cause == "complaint_closed"
    assert "pledge_breach" in rating.breakdown["caps_hit"]
    after = client.get(f"/m/{m.badge_code}").get_data(as_text=True)
    assert 'class="grade grade-B">B</span>' in after
    facts = client.get(f"/m/{m.badge_code}.json").get_json()
    assert facts["rating"]["grade"] == "B" and facts["rating"]["model_version"] == rating.model_version


def test_compliance_hook_rates_at_commit_and_forgets_on_rollback(app) -> None:
    m = established()
    rate(m)
    db.session.add(Penalty(merchant_id=m.id, case_number="P-3", decided_on=local_today(), reason="r"))
    hooks.on_compliance_change(m.id)
    db.session.rollback()
    assert services.current_rating(m.id).grade == "A"
    assert hooks._PENDING not in db.session.info
    db.session.add(Penalty(merchant_id=m.id, case_number="P-4", decided_on=local_today(), reason="r"))
    hooks.on_compliance_change(m.id)
    db.session.commit()
    assert services.current_rating(m.id).grade == "C"


# --- the nightly recompute ---------------------------------------------------------------

def _mixed_city() -> list[Merchant]:
    shops = []
    for i in range(12):
        m = established() if i % 3 else make_merchant()
        if i % 3 == 0:
            make_pledge(m, "genuine", status="suspended" if i % 2 else "active")
        if i % 4 == 1:
            add_complaint(m, upheld=bool(i % 2), problem_type="refused_return", survey="neutral")
        if i % 5 == 2:
            add_complaint(m, late=True, outcome="not_resolved")
        if i % 6 == 3:
            db.session.add(Inspection(merchant_id=m.id, inspected_on=local_today(), subject="s", result="failed"))
        if i % 7 == 4:
            db.session.add(Penalty(merchant_id=m.id, case_number=f"PX-{next(_keys)}", decided_on=local_today(),
                                   reason="r"))
        shops.append(m)
    shops.append(make_merchant(status="closed"))
    db.session.commit()
    return shops


def test_recompute_all_equals_update_merchant(app, monkeypatch) -> None:
    monkeypatch.setattr(services, "COPY_MIN_ROWS", 1)  # the recompute writes with COPY on PostgreSQL
    shops = _mixed_city()
    now = datetime.now(UTC)
    result = services.recompute_all(now=now, chunk_size=5)
    assert result.rated == 12 and result.changed == 12
    by_recompute = {r.merchant_id: (r.grade, r.score, r.cap, r.breakdown) for r in
                    db.session.scalars(sa.select(Rating).where(Rating.is_current.is_(True)))}
    assert len(by_recompute) == 12
    assert {g for g, *_ in by_recompute.values()} >= {"A", "C", "D", "NR"}
    db.session.execute(sa.delete(Rating))
    db.session.commit()
    for m in shops:
        services.update_merchant(m.id, "test", now=now)
    db.session.commit()
    by_event = {r.merchant_id: (r.grade, r.score, r.cap, r.breakdown) for r in
                db.session.scalars(sa.select(Rating).where(Rating.is_current.is_(True)))}
    assert by_event == by_recompute
    # Nothing changed: a second run writes nothing.
    assert services.recompute_all(now=now).changed == 0


def _statements(app, run) -> int:
    count = 0

    def listener(*_args):
        nonlocal count
        count += 1

    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        run()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    return count


def test_recompute_is_set_based(app) -> None:
    _mixed_city()
    small = _statements(app, lambda: services.recompute_all(cause="one"))
    for _ in range(3):
        _mixed_city()
    db.session.execute(sa.delete(Rating))
    db.session.commit()
    large = _statements(app, lambda: services.recompute_all(cause="two"))
    assert count_rows(Rating) == 48
    assert large == small <= 15


def test_cli_recompute(app, runner) -> None:
    established()
    result = runner.invoke(args=["ratings", "recompute"])
    assert result.exit_code == 0, result.output
    assert "1 merchants rated, 1 ratings changed" in result.output


# --- the model's configuration -------------------------------------------------------------

def _model_form(version: str, **changes) -> dict:
    values = services.current_config().to_dict()
    values.pop("version")
    values.update(changes)
    return {"version": version, "model": json.dumps(values)}


def test_admin_saves_a_new_model_version_and_recomputes(app, client) -> None:
    m = established()
    rate(m)
    admin = make_user("admin")
    login(client, admin)
    page = client.get("/staff/ratings/config")
    assert page.status_code == 200 and "2026.1" in page.get_data(as_text=True)
    weights = {"pledges": 20, "complaint_volume": 20, "on_time": 15, "resolution": 10,
               "satisfaction": 10, "inspections": 15, "penalties": 10}
    same = form_post(client, "/staff/ratings/config", _model_form("2026.1", weights=weights))
    assert same.status_code == 400
    bad = form_post(client, "/staff/ratings/config", _model_form("2027.1", weights={**weights, "pledges": 50}))
    assert bad.status_code == 400 and "sum to 100" in bad.get_data(as_text=True)
    ok = form_post(client, "/staff/ratings/config", _model_form("2027.1", weights=weights))
    assert ok.status_code == 302
    assert db.session.get(Setting, "rating_model").value["version"] == "2027.1"
    assert services.current_config().weights["pledges"] == 20
    done = form_post(client, "/staff/ratings/recompute", {}, form_url="/staff/ratings/config")
    assert done.status_code == 302
    rating = services.current_rating(m.id)
    assert rating.model_version == "2027.1" and rating.cause == "model_change"
    assert len(services.history(m.id)) == 2


def test_non_admin_cannot_touch_the_model(app, client) -> None:
    staff = make_user("staff")
    login(client, staff)
    assert client.get("/staff/ratings/config").status_code == 403
    assert client.post("/staff/ratings/recompute").status_code in (400, 403)


# --- pages -------------------------------------------------------------------------------

def test_breakdown_page_explains_every_factor(app, client) -> None:
    m = established()
    add_complaint(m, late=True, survey="dissatisfied")
    db.session.add(Penalty(merchant_id=m.id, case_number="P-5", decided_on=local_today(), reason="r"))
    db.session.commit()
    rate(m)
    page = client.get(f"/m/{m.badge_code}/rating?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for key in FACTOR_KEYS:
        assert f'id="factor-{key}"' in html
    for words in ("Pledges", "1 complaint accepted in the last 12 months", "Answered 0 of 1 complaints",
                  "1 administrative penalty", "The score alone would give grade", "so the grade is at most C",
                  "lost"):
        assert words in html, words
    assert "To raise it" not in html  # hints are for the merchant
    assert client.get("/m/nosuchcode/rating").status_code == 404


def test_scan_page_links_to_the_breakdown(app, client) -> None:
    m = established()
    rate(m)
    html = client.get(f"/m/{m.badge_code}").get_data(as_text=True)
    assert f"/m/{m.badge_code}/rating" in html


def test_merchant_page_shows_hints_and_history(app, client) -> None:
    m = established()
    rate(m)
    add_complaint(m, upheld=True)
    rate(m)
    login(client, db.session.get(Merchant, m.id).owner)
    page = client.get(f"/portal/shops/{m.id}/rating?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "What would raise the rating" in html
    assert "settle problems with shoppers" in html
    assert "How the rating moved" in html and "Complaints -" in html
    other = established()
    assert client.get(f"/portal/shops/{other.id}/rating").status_code == 404


def test_staff_see_a_shops_rating_history(app, client) -> None:
    m = established()
    rate(m)
    login(client, make_user("staff"))
    assert client.get(f"/staff/ratings/shops/{m.id}").status_code == 200


def test_directory_shows_grades(app, client) -> None:
    rated = established(shop_name="评级甲店")
    rate(rated)
    established(shop_name="未评级店")
    html = client.get("/merchants?lang=en").get_data(as_text=True)
    assert 'Rating: <span class="grade grade-A">A</span> Excellent' in html
    # A shop not yet rated reads so, in words: the model's code "NR" is never shown.
    assert 'Rating: <span class="grade grade-NR">Not yet rated</span>' in html and ">NR<" not in html


def test_an_upheld_appeal_strikes_the_finding_out_of_the_rating(app) -> None:
    from pledge_registry.compliance import services as compliance
    from pledge_registry.models import RatingAppeal

    m = established()
    recorder, decider = make_user("staff"), make_user("staff")
    compliance.record_inspection(recorder, m, compliance.InspectionData(
        local_today() - timedelta(days=3), "价格标签", "failed", "未明码标价"))
    capped = services.current_rating(m.id)
    assert capped.cap == "failed_inspection"
    inspection_id = db.session.scalar(sa.select(Inspection.id).where(Inspection.merchant_id == m.id))
    appeal = RatingAppeal(merchant_id=m.id, rating_id=capped.id, inspection_id=inspection_id,
                          grounds="当天已整改", submitted_by_id=m.owner_id)
    db.session.add(appeal)
    db.session.commit()
    compliance.decide_appeal(decider, appeal, True, "照片证明已整改")
    after = services.current_rating(m.id)
    assert after.cap is None and after.score > capped.score
