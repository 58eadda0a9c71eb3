"""Nominations of safe-consumption units: the why-not checklist, two-step approval, the
title on the scan page and the public list, delisting, yearly expiry and renewal."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from pledge_registry.compliance import services as compliance
from pledge_registry.extensions import db
from pledge_registry.models import Merchant, Nomination, NominationEvent, Town
from pledge_registry.nominations import labels, rules, services
from tests.factories import make_complaint, make_merchant, make_pledge, make_pledged_merchant, make_rating, make_user
from tests.helpers import count_rows, form_post, login, signed_in_client, text

pytestmark = pytest.mark.usefixtures("english")

NOW = datetime.now(UTC)



def eligible_shop(grade: str = "A", **overrides: Any) -> Merchant:
    """A shop with both pledges in force for eight months, rated `grade`."""
    merchant = make_pledged_merchant(since=NOW - timedelta(days=240), **overrides)
    make_rating(merchant, grade)
    return merchant


@pytest.fixture
def shop(app: Any) -> Merchant:
    return eligible_shop()


@pytest.fixture
def town_officer(shop: Merchant) -> Any:
    return make_user("staff", town_id=shop.town_id, display_name="镇officer")


@pytest.fixture
def city_officer(app: Any) -> Any:
    return make_user("staff", display_name="市officer")


def apply(client: Any, merchant: Merchant, level: str = "demonstration", statement: str = "") -> Any:
    url = f"/portal/shops/{merchant.id}/nominations"
    return form_post(client, url, {"level": level, "statement": statement})


def decide(client: Any, nomination: Nomination, step: str, approve: bool = True, reason: str = "符合条件") -> Any:
    button = {"approve": "Approve"} if approve else {"reject": "Reject"}
    return form_post(client, f"/staff/nominations/{nomination.id}/{step}", {"reason": reason, **button},
                     form_url=f"/staff/nominations/{nomination.id}")


def named(app: Any, merchant: Merchant, town_officer: Any, city_officer: Any) -> Nomination:
    nomination = services.apply(merchant.owner, merchant, "demonstration")
    services.town_decide(town_officer, nomination, True, "推荐")
    return services.city_decide(city_officer, nomination, True, "命名")


# --- applying ----------------------------------------------------------------------------

def test_checklist_and_application(client: Any, shop: Merchant) -> None:
    login(client, shop.owner)
    body = text(client.get(f"/portal/shops/{shop.id}/nominations"))
    assert body.count('class="rule rule-ok"') == 10  # five rules, two levels
    response = apply(client, shop, statement="全员培训")
    assert response.status_code == 302, text(response)[:2000]
    nomination = db.session.scalar(sa.select(Nomination))
    assert (nomination.status, nomination.level, nomination.applied_by_id) == (
        "submitted", "demonstration", shop.owner_id)
    assert all(r["ok"] for r in nomination.eligibility["rules"])
    assert apply(client, shop).status_code == 409  # one live application per level


def test_why_not(client: Any, app: Any) -> None:
    merchant = make_merchant()
    make_pledge(merchant, "genuine", activated_at=NOW - timedelta(days=30))
    make_rating(merchant, "B")
    compliance.record_penalty(make_user("staff"), merchant,
                              compliance.PenaltyData("P-1", NOW.date() - timedelta(days=40), "虚假宣传", 100000))
    make_rating(merchant, "B")  # keep the grade this test is about (the penalty re-rated the shop)
    make_complaint(merchant, problem_type="genuine_doubt", status="accepted",
                   completion_due_at=NOW - timedelta(days=1))
    login(client, merchant.owner)
    response = apply(client, merchant, "demonstration")
    assert response.status_code == 409
    body = text(response)
    assert "Rating B: at least A is needed." in body
    assert "a pledge is missing" in body
    assert "An administrative penalty was decided on" in body
    assert "1 complaint(s) past the completion deadline" in body
    assert count_rows(Nomination) == 0
    # The participating list needs B and one pledge, but the penalty and the complaint still block it.
    results = {k: ok for k, ok, _ in services.check(merchant, "participant")}
    assert results == {"registration": True, "grade": True, "pledges": True, "penalty": False, "complaints": False}


def test_access(client: Any, shop: Merchant) -> None:
    other = eligible_shop()
    nomination = services.apply(other.owner, other, "participant")
    login(client, shop.owner)
    assert client.get(f"/portal/shops/{other.id}/nominations").status_code == 404
    assert apply(client, other).status_code in (404,)
    for url in ("/staff/nominations", f"/staff/nominations/{nomination.id}", f"/staff/shops/{other.id}/nominations"):
        assert client.get(url).status_code == 403
    own = f"/portal/shops/{shop.id}/nominations"
    assert form_post(client, f"/staff/nominations/{nomination.id}/town", {"reason": "x", "approve": "Approve"},
                     form_url=own).status_code == 403
    assert form_post(client, f"/portal/nominations/{nomination.id}/withdraw", {}, form_url=own).status_code == 404
    assert db.session.get(Nomination, nomination.id).status == "submitted"


# --- two-step approval -------------------------------------------------------------------

def test_two_steps_with_reasons_visible_to_the_merchant(app: Any, client: Any, shop: Merchant, town_officer: Any,
                                                         city_officer: Any) -> None:
    nomination = services.apply(shop.owner, shop, "demonstration")
    scan_before = text(client.get(f"/m/{shop.badge_code}"))
    assert "unit-title" not in scan_before

    town = signed_in_client(app, town_officer)
    city = signed_in_client(app, city_officer)
    # The city cannot go first; a town step needs a reason.
    assert decide(city, nomination, "town").status_code == 403
    assert decide(town, nomination, "town", reason="").status_code == 400
    assert decide(town, nomination, "city").status_code == 409  # not at that step yet
    assert decide(town, nomination, "town", reason="经实地核查，推荐").status_code == 302
    assert db.session.get(Nomination, nomination.id).status == "town_approved"
    assert decide(town, nomination, "city").status_code == 403   # the town officer cannot take step 2
    assert nomination.id in [n.id for n in services.queue_for(city_officer)]
    assert decide(city, nomination, "city", reason="同意命名").status_code == 302

    nomination = db.session.get(Nomination, nomination.id)
    assert nomination.status == "approved"
    assert (nomination.town_decided_by_id, nomination.city_decided_by_id) == (town_officer.id, city_officer.id)
    assert nomination.title_expires_on == services._title_end(compliance.local_today())
    login(client, shop.owner)
    mine = text(client.get(f"/portal/shops/{shop.id}/nominations"))
    assert "经实地核查，推荐" in mine and "同意命名" in mine

    # The cached scan page refreshes (public_version was bumped) and shows the title.
    scan_after = text(client.get(f"/m/{shop.badge_code}"))
    assert "unit-title-demonstration" in scan_after and "Safe consumption demonstration unit" in scan_after
    listing = text(client.get("/units"))
    assert shop.shop_name in listing
    assert shop.shop_name not in text(client.get("/units?level=participant"))
    other_town = db.session.scalar(sa.select(Town.id).where(Town.id != shop.town_id))
    assert shop.shop_name not in text(client.get(f"/units?town={other_town}"))
    assert shop.shop_name in text(client.get(f"/units?town={shop.town_id}&level=demonstration"))


def test_rejection_at_town_step(app: Any, shop: Merchant, town_officer: Any) -> None:
    nomination = services.apply(shop.owner, shop, "participant")
    town = signed_in_client(app, town_officer)
    assert decide(town, nomination, "town", approve=False, reason="投诉处理不及时").status_code == 302
    nomination = db.session.get(Nomination, nomination.id)
    assert (nomination.status, nomination.town_reason) == ("rejected", "投诉处理不及时")
    assert services.apply(shop.owner, shop, "participant").status == "submitted"  # may apply again


def test_officer_of_another_town_cannot_decide(app: Any, shop: Merchant) -> None:
    other_town = db.session.scalar(sa.select(Town.id).where(Town.id != shop.town_id))
    stranger = make_user("staff", town_id=other_town)
    nomination = services.apply(shop.owner, shop, "participant")
    assert decide(signed_in_client(app, stranger), nomination, "town").status_code == 403
    assert nomination.id not in [n.id for n in services.queue_for(stranger)]


def test_same_officer_never_takes_both_steps(shop: Merchant, town_officer: Any) -> None:
    nomination = services.apply(shop.owner, shop, "participant")
    services.town_decide(town_officer, nomination, True, "推荐")
    town_officer.town_id = None  # the officer moved to the city office meanwhile
    db.session.commit()
    with pytest.raises(services.NominationError) as err:
        services.city_decide(town_officer, nomination, True, "命名")
    assert err.value.code == "same_officer"


def test_town_officer_applies_and_another_officer_decides(app: Any, shop: Merchant, town_officer: Any) -> None:
    response = form_post(signed_in_client(app, town_officer), f"/staff/shops/{shop.id}/nominations",
                         {"level": "participant", "statement": "辖区推荐"})
    assert response.status_code == 302, text(response)[:2000]
    nomination = db.session.scalar(sa.select(Nomination))
    assert nomination.applied_by_id == town_officer.id
    with pytest.raises(services.NominationError) as err:
        services.town_decide(town_officer, nomination, True, "自己批")
    assert err.value.code == "own_submission"
    db.session.rollback()
    colleague = make_user("staff", town_id=shop.town_id)
    assert services.town_decide(colleague, nomination, True, "推荐").status == "town_approved"
    # A city officer cannot apply for a shop: only its owner or its town's officer.
    with pytest.raises(services.NominationError) as err:
        services.apply(make_user("staff"), shop, "demonstration")
    assert err.value.code == "not_allowed"


def test_officer_town_id_reads_the_scope(monkeypatch: pytest.MonkeyPatch, shop: Merchant) -> None:
    staff = make_user("staff")
    assert services.officer_town_id(staff) is None and services.is_city_officer(staff)
    monkeypatch.setattr(services, "officer_town_id", lambda user: shop.town_id)
    assert services.is_town_officer(staff, shop)


def test_eligibility_is_checked_again_at_each_approval(shop: Merchant, town_officer: Any, city_officer: Any) -> None:
    nomination = services.apply(shop.owner, shop, "demonstration")
    services.town_decide(town_officer, nomination, True, "推荐")
    make_rating(shop, "C")
    with pytest.raises(services.NominationError) as err:
        services.city_decide(city_officer, nomination, True, "命名")
    assert err.value.code == "not_eligible"
    assert [k for k, ok, _ in err.value.results if not ok] == ["grade"]
    db.session.rollback()
    assert services.city_decide(city_officer, nomination, False, "评级下降").status == "rejected"


# --- standing, delisting, expiry, renewal ------------------------------------------------

def test_review_standing_flags_then_delist(app: Any, runner: Any, client: Any, shop: Merchant, town_officer: Any,
                                           city_officer: Any) -> None:
    nomination = named(app, shop, town_officer, city_officer)
    result = runner.invoke(args=["nominations", "review-standing"])
    assert "0 newly flagged" in result.output
    compliance.record_penalty(town_officer, shop, compliance.PenaltyData(
        "P-77", compliance.local_today() - timedelta(days=3), "销售假冒商品", 500000))
    result = runner.invoke(args=["nominations", "review-standing"])
    assert result.exit_code == 0, result.output
    assert "1 newly flagged" in result.output
    assert "An administrative penalty was decided on" in result.output  # the command speaks English
    nomination = db.session.get(Nomination, nomination.id)
    assert "penalty" in nomination.delisting_reasons  # (the penalty re-rated the shop too)
    assert nomination.status == "approved"  # flagged only: staff decide
    assert "unit-title" in text(client.get(f"/m/{shop.badge_code}"))

    city = signed_in_client(app, city_officer)
    assert nomination.id in [n.id for n in services.flagged_units()]
    assert "An administrative penalty was decided on" in text(city.get("/staff/nominations?lang=en"))
    url = f"/staff/nominations/{nomination.id}/delist"
    assert form_post(city, url, {"reason": ""}, form_url=f"/staff/nominations/{nomination.id}").status_code == 400
    assert form_post(signed_in_client(app, town_officer), url, {"reason": "x"},
                     form_url=f"/staff/nominations/{nomination.id}").status_code == 403
    response = form_post(city, url, {"reason": "一年内受到行政处罚，摘牌"},
                         form_url=f"/staff/nominations/{nomination.id}")
    assert response.status_code == 302
    assert db.session.get(Nomination, nomination.id).status == "delisted"
    assert "unit-title" not in text(client.get(f"/m/{shop.badge_code}"))
    assert shop.shop_name not in text(client.get("/units"))
    login(client, shop.owner)
    assert "一年内受到行政处罚，摘牌" in text(client.get(f"/portal/shops/{shop.id}/nominations"))


def test_review_standing_clears_a_flag(shop: Merchant, town_officer: Any, city_officer: Any, app: Any) -> None:
    nomination = named(app, shop, town_officer, city_officer)
    make_rating(shop, "B")
    assert [n.id for n in services.review_standing().flagged] == [nomination.id]
    assert db.session.get(Nomination, nomination.id).delisting_reasons == {"grade": {"grade": "B", "required": "A"}}
    assert services.review_standing().flagged == []  # unchanged flag: no new event
    make_rating(shop, "A")
    assert [n.id for n in services.review_standing().cleared] == [nomination.id]
    assert db.session.get(Nomination, nomination.id).delisting_reasons is None
    notes = db.session.scalars(sa.select(NominationEvent.system_note).where(
        NominationEvent.nomination_id == nomination.id, NominationEvent.system_note.is_not(None))
        .order_by(NominationEvent.id)).all()
    assert notes == [{"kind": "flagged", "reasons": {"grade": {"grade": "B", "required": "A"}}}, {"kind": "cleared"}]


def test_a_flag_reads_in_the_readers_language(app: Any, shop: Merchant, town_officer: Any,
                                               city_officer: Any) -> None:
    """The flag is stored as keys and values and worded when shown: a Chinese reader sees
    Chinese only, an English reader English only, plurals included. A reason stored as a
    sentence of either language would show that language on the other's page."""
    nomination = named(app, shop, town_officer, city_officer)
    make_rating(shop, "B")
    for hours in (1, 2):
        make_complaint(shop, status="accepted", completion_due_at=NOW - timedelta(hours=hours))
    services.review_standing()
    stored = db.session.get(Nomination, nomination.id).delisting_reasons
    assert stored == {"grade": {"grade": "B", "required": "A"}, "complaints": {"overdue": 2}}

    city = signed_in_client(app, city_officer)
    chinese = {"评级 B，低于要求的 A。", "有 2 件投诉已超过办结期限。"}
    english = {"Rated B, below the A needed.", "2 complaints past their completion deadline."}
    for url in ("/staff/nominations", f"/staff/nominations/{nomination.id}"):
        zh_page, en_page = text(city.get(f"{url}?lang=zh")), text(city.get(f"{url}?lang=en"))
        assert all(s in zh_page for s in chinese) and not any(s in zh_page for s in english), url
        assert all(s in en_page for s in english) and not any(s in en_page for s in chinese), url
    # The timeline's note of the flag is worded the same way (the merchant reads it too).
    detail = text(city.get(f"/staff/nominations/{nomination.id}?lang=zh"))
    assert "拟摘牌" in detail and "flagged for delisting" not in detail.lower()


def test_flag_reasons_word_each_rule_with_plurals(app: Any) -> None:
    results = rules.eligibility(rules.Facts(
        level="demonstration", as_of=date(2026, 6, 1), registration_approved=False, grade=None,
        pledges_active_since={"genuine": date(2025, 11, 1)}, last_penalty_on=date(2026, 3, 2),
        overdue_complaints=1))
    reasons = rules.flag_reasons(results)
    assert reasons == {"registration": {}, "grade": {"grade": None, "required": "A"},
                       "pledges": {"required": 2, "long_enough": 1}, "penalty": {"last": "2026-03-02"},
                       "complaints": {"overdue": 1}}
    with app.test_request_context(), force_locale("en"):
        assert labels.delisting_reasons(reasons) == [
            "The shop's registration is no longer approved.",
            "Not rated: a rating of at least A is needed.",
            "1 pledge in force long enough, of the 2 needed.",
            "An administrative penalty was decided on 2026-03-02.",
            "1 complaint past its completion deadline.",
        ]
    with app.test_request_context(), force_locale("zh"):
        assert labels.delisting_reasons({"pledges": {"required": 1, "long_enough": 0}}) == [
            "持续有效时长达标的承诺 0 项，须达 1 项。"]


def test_titles_expire_yearly(app: Any, runner: Any, client: Any, shop: Merchant, town_officer: Any,
                              city_officer: Any) -> None:
    nomination = named(app, shop, town_officer, city_officer)
    assert "unit-title" in text(client.get(f"/m/{shop.badge_code}"))
    result = runner.invoke(args=["nominations", "expire"])
    assert "0 title(s) expired" in result.output
    nomination.title_expires_on = compliance.local_today() - timedelta(days=1)
    db.session.commit()
    result = runner.invoke(args=["nominations", "expire"])
    assert result.exit_code == 0 and "1 title(s) expired" in result.output
    assert db.session.get(Nomination, nomination.id).status == "expired"
    assert "unit-title" not in text(client.get(f"/m/{shop.badge_code}"))
    assert shop.shop_name not in text(client.get("/units"))
    events = db.session.scalars(sa.select(NominationEvent.to_status).where(
        NominationEvent.nomination_id == nomination.id).order_by(NominationEvent.id)).all()
    assert events == ["submitted", "town_approved", "approved", "expired"]


def test_renewal_only_in_the_last_60_days(app: Any, shop: Merchant, town_officer: Any, city_officer: Any) -> None:
    nomination = named(app, shop, town_officer, city_officer)
    city = signed_in_client(app, city_officer)
    url = f"/staff/nominations/{nomination.id}/renew"
    assert form_post(city, url, {"reason": "续期"}, form_url=f"/staff/nominations/{nomination.id}").status_code == 409
    ends = compliance.local_today() + timedelta(days=20)
    nomination.title_expires_on = ends
    db.session.commit()
    response = form_post(city, url, {"reason": "复核合格，续期"}, form_url=f"/staff/nominations/{nomination.id}")
    assert response.status_code == 302
    renewed = db.session.get(Nomination, nomination.id).title_expires_on
    assert renewed == services._title_end(ends + timedelta(days=1))
    assert renewed > ends + timedelta(days=360)
    last = db.session.scalars(sa.select(NominationEvent).where(NominationEvent.nomination_id == nomination.id)
                              .order_by(NominationEvent.id.desc())).first()
    assert (last.note, last.system_note) == ("复核合格，续期", {"kind": "renewed", "until": renewed.isoformat()})
    assert f"称号续期至 {renewed.isoformat()}" in text(city.get(f"/staff/nominations/{nomination.id}?lang=zh"))


def test_withdraw(client: Any, shop: Merchant) -> None:
    nomination = services.apply(shop.owner, shop, "participant")
    login(client, shop.owner)
    response = form_post(client, f"/portal/nominations/{nomination.id}/withdraw", {},
                         form_url=f"/portal/shops/{shop.id}/nominations")
    assert response.status_code == 302
    assert db.session.get(Nomination, nomination.id).status == "withdrawn"


@pytest.mark.parametrize(("start", "end"), [
    (date(2025, 3, 15), date(2026, 3, 14)), (date(2024, 2, 29), date(2025, 2, 27)),
])
def test_title_term(start: date, end: date) -> None:
    assert services._title_end(start) == end
