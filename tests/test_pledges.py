"""Pledges through the merchant's portal: signing, submitting, withdrawing, renewing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from pledge_registry.extensions import db
from pledge_registry.models import Pledge, PledgeEvent, PledgeTemplate
from tests.factories import make_merchant, make_pledge, make_user
from tests.helpers import form_post, login, tag_with

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def owner(client):
    user = make_user()
    login(client, user)
    return user


@pytest.fixture
def shop(owner):
    return make_merchant(owner=owner)


def sign_url(merchant, kind: str) -> str:
    return f"/portal/shops/{merchant.id}/pledges/{kind}/sign"


def returns_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "return_days": 7, "conditions": "商品完好，吊牌齐全", "excluded": ["custom", "fresh"],
        "other_exclusions": "定制眼镜\n\n  内衣  ", "refund_method": "original", "refund_days": 3,
        "agree": "y", "submit": "Sign and submit for review",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _pledges(merchant) -> list[Pledge]:
    db.session.expire_all()
    return list(db.session.scalars(select(Pledge).where(Pledge.merchant_id == merchant.id).order_by(Pledge.id)))


def _events(pledge) -> list[tuple[str | None, str]]:
    rows = db.session.scalars(select(PledgeEvent).where(PledgeEvent.pledge_id == pledge.id).order_by(PledgeEvent.id))
    return [(e.from_status, e.to_status) for e in rows]


def _detail(pledge) -> str:
    return f"/portal/pledges/{pledge.id}"


def _action(client, pledge, action: str):
    return form_post(client, f"/portal/pledges/{pledge.id}/{action}", {}, form_url=_detail(pledge))


# --- signing -------------------------------------------------------------------------


def test_sign_returns_with_seven_days(client, shop, owner):
    response = form_post(client, sign_url(shop, "returns"), returns_form())
    assert response.status_code == 302
    (pledge,) = _pledges(shop)
    assert urlsplit(response.headers["Location"]).path == _detail(pledge)
    assert (pledge.kind, pledge.status, pledge.return_days, pledge.refund_days) == ("returns", "submitted", 7, 3)
    assert pledge.excluded_goods == ["custom", "fresh", "定制眼镜", "内衣"]
    assert pledge.signed_by_id == owner.id and pledge.submitted_at is not None
    assert _events(pledge) == [(None, "draft"), ("draft", "submitted")]
    page = client.get(_detail(pledge)).get_data(as_text=True)
    assert "within 7 days of purchase" in page
    assert "Custom-made goods, Fresh and perishable food, 定制眼镜, 内衣" in page


def test_six_days_refused_with_input_kept(client, shop):
    response = form_post(client, sign_url(shop, "returns"), returns_form(
        return_days=6, conditions="须保留小票", other_exclusions="定制眼镜", refund_method="cash", refund_days=5))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "At least 7 days, at most 365." in page
    assert 'name="return_days"' in page and 'value="6"' in page
    assert "须保留小票" in page and "定制眼镜" in page
    assert "selected" in tag_with(page, 'value="cash"')
    assert "checked" in tag_with(page, 'value="custom"') and "checked" not in tag_with(page, 'value="media"')
    assert 'value="5"' in tag_with(page, 'name="refund_days"')
    assert _pledges(shop) == []


@pytest.mark.parametrize(("overrides", "message"), [
    ({"return_days": 6}, "At least 7 days, at most 365."),
    ({"return_days": 366}, "At least 7 days, at most 365."),
    ({"return_days": "seven"}, "Not a valid integer value."),
    ({"return_days": None}, "This field is required."),
    ({"refund_days": 31}, "Between 0 and 30 days."),
    ({"refund_days": -1}, "Between 0 and 30 days."),
    ({"refund_method": "bitcoin"}, "Not a valid choice."),
    ({"agree": None}, "Tick the box to sign the pledge."),
    ({"conditions": "很长" * 600}, "Field cannot be longer than 1000 characters."),
])
def test_return_terms_validation(client, shop, overrides, message):
    response = form_post(client, sign_url(shop, "returns"), returns_form(**overrides))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _pledges(shop) == []


def test_sign_genuine(client, shop):
    response = form_post(client, sign_url(shop, "genuine"), {"agree": "y", "submit": "y"})
    assert response.status_code == 302
    (pledge,) = _pledges(shop)
    assert (pledge.kind, pledge.status, pledge.return_days, pledge.refund_method) == (
        "genuine", "submitted", None, None)


def test_sign_page_explains_the_wording(client, shop):
    page = client.get(sign_url(shop, "returns")).get_data(as_text=True)
    assert "within [N: your return window] days" in page
    assert "{return_days}" not in page
    assert 'name="agree"' in page and 'name="save_draft"' in page and 'name="submit"' in page


def test_save_draft_without_agreeing(client, shop):
    response = form_post(client, sign_url(shop, "returns"), returns_form(agree=None, submit=None, save_draft="y"))
    assert response.status_code == 302
    (pledge,) = _pledges(shop)
    assert pledge.status == "draft" and pledge.submitted_at is None


def test_sign_ignores_posted_status_and_shop(client, shop, owner):
    other_shop = make_merchant()
    staff = make_user("staff")
    genuine_terms = db.session.scalar(select(PledgeTemplate.id).where(PledgeTemplate.kind == "genuine"))
    response = form_post(client, sign_url(shop, "returns"), returns_form(
        status="active", merchant_id=other_shop.id, signed_by_id=staff.id, decided_by_id=staff.id,
        expires_at="2099-01-01", template_id=genuine_terms))
    assert response.status_code == 302
    (pledge,) = _pledges(shop)
    assert (pledge.status, pledge.signed_by_id, pledge.decided_by_id, pledge.expires_at) == (
        "submitted", owner.id, None, None)
    assert pledge.template_id != genuine_terms and pledge.template.kind == "returns"
    assert _pledges(other_shop) == []


def test_one_pledge_in_preparation_per_kind(client, shop):
    make_pledge(shop, "returns", status="draft")
    response = form_post(client, sign_url(shop, "returns"), returns_form())
    assert response.status_code == 409
    assert "A pledge of this kind is already being prepared or reviewed" in response.get_data(as_text=True)
    assert len(_pledges(shop)) == 1


@pytest.mark.parametrize("status", ["rejected", "closed"])
def test_shop_not_live_cannot_sign(client, owner, status):
    merchant = make_merchant(owner=owner, status=status)
    response = form_post(client, sign_url(merchant, "genuine"), {"agree": "y", "submit": "y"})
    assert response.status_code == 409
    assert "This shop cannot sign pledges" in response.get_data(as_text=True)
    assert _pledges(merchant) == []


def test_unknown_pledge_kind_is_not_found(client, shop):
    assert client.get(sign_url(shop, "warranty")).status_code == 404


# --- the lifecycle ----------------------------------------------------------------------


def test_draft_to_submitted(client, shop):
    draft = make_pledge(shop, "returns", status="draft", submitted_at=None)
    page = client.get(_detail(draft)).get_data(as_text=True)
    assert f"/portal/pledges/{draft.id}/submit" in page and f"/portal/pledges/{draft.id}/withdraw" in page
    response = _action(client, draft, "submit")
    assert response.status_code == 302
    db.session.refresh(draft)
    assert draft.status == "submitted" and draft.submitted_at is not None
    assert _events(draft)[-1] == ("draft", "submitted")
    page = client.get(_detail(draft)).get_data(as_text=True)
    assert f"/portal/pledges/{draft.id}/submit" not in page
    assert "Submitted, waiting for review" in page


@pytest.mark.parametrize(("status", "withdrawable"), [
    ("draft", True),
    ("submitted", True),
    ("active", False),
    ("rejected", False),
    ("expired", False),
])
def test_withdraw(client, shop, status, withdrawable):
    pledge = make_pledge(shop, "genuine", status=status)
    response = _action(client, pledge, "withdraw")
    assert response.status_code == 302
    db.session.refresh(pledge)
    assert pledge.status == ("withdrawn" if withdrawable else status)
    if not withdrawable:
        page = client.get(_detail(pledge)).get_data(as_text=True)
        assert "That is not possible in the pledge&#39;s current state." in page \
            or "That is not possible in the pledge's current state." in page


def test_a_withdrawn_pledge_can_be_signed_again(client, shop):
    pledge = make_pledge(shop, "genuine", status="submitted")
    _action(client, pledge, "withdraw")
    assert form_post(client, sign_url(shop, "genuine"), {"agree": "y", "submit": "y"}).status_code == 302
    assert [p.status for p in _pledges(shop)] == ["withdrawn", "submitted"]


@pytest.mark.parametrize(("status", "expires_in", "renewable"), [
    ("active", timedelta(days=30), True),
    ("active", timedelta(days=59), True),
    ("active", timedelta(days=61), False),
    ("active", timedelta(days=300), False),
    ("active", -timedelta(days=1), True),      # past its term, not yet marked expired
    ("expired", -timedelta(days=5), True),
    ("suspended", timedelta(days=30), False),
    ("revoked", timedelta(days=30), False),
    ("submitted", None, False),
])
def test_renewal_only_in_the_window(client, shop, status, expires_in, renewable):
    expires_at = datetime.now(UTC) + expires_in if expires_in is not None else None
    pledge = make_pledge(shop, "returns", status=status, expires_at=expires_at)
    page = client.get(_detail(pledge)).get_data(as_text=True)
    assert (f"/portal/pledges/{pledge.id}/renew" in page) == renewable
    response = _action(client, pledge, "renew")
    assert response.status_code == 302
    pledges = _pledges(shop)
    if renewable:
        assert len(pledges) == 2
        renewal = pledges[-1]
        assert (renewal.status, renewal.renews_id, renewal.return_days, renewal.excluded_goods) == (
            "submitted", pledge.id, pledge.return_days, pledge.excluded_goods)
        assert urlsplit(response.headers["Location"]).path == _detail(renewal)
        assert pledges[0].status == status, "the old pledge stands until the renewal is approved"
    else:
        assert len(pledges) == 1


def test_renewal_not_offered_twice(client, shop):
    pledge = make_pledge(shop, "genuine", expires_at=datetime.now(UTC) + timedelta(days=10))
    assert _action(client, pledge, "renew").status_code == 302
    page = client.get(_detail(pledge)).get_data(as_text=True)
    assert f"/portal/pledges/{pledge.id}/renew" not in page
    _action(client, pledge, "renew")
    assert len(_pledges(shop)) == 2


# --- a signed pledge never changes --------------------------------------------------------


@pytest.mark.parametrize("status", ["submitted", "active", "suspended", "expired"])
@pytest.mark.parametrize(("column", "value"), [
    ("return_days", 30),
    ("conditions", "改过的条件"),
    ("excluded_goods", ["media"]),
    ("refund_method", "cash"),
])
def test_signed_terms_cannot_change(app, status, column, value):
    pledge = make_pledge(make_merchant(), "returns", status=status)
    setattr(pledge, column, value)
    with pytest.raises(ValueError, match="its terms cannot change"):
        db.session.commit()
    db.session.rollback()
    db.session.refresh(pledge)
    assert getattr(pledge, column) != value


def test_a_draft_can_still_change(app):
    pledge = make_pledge(make_merchant(), "returns", status="draft")
    pledge.return_days = 30
    db.session.commit()
    db.session.refresh(pledge)
    assert pledge.return_days == 30


def test_status_changes_are_allowed_on_a_signed_pledge(app):
    pledge = make_pledge(make_merchant(), "returns", status="submitted")
    pledge.status = "withdrawn"
    db.session.commit()
    db.session.refresh(pledge)
    assert pledge.status == "withdrawn"


# --- the detail page -------------------------------------------------------------------


def test_detail_shows_terms_dates_history_and_reason(client, shop, owner):
    pledge = make_pledge(shop, "returns", status="submitted", return_days=30)
    staff = make_user("staff")
    db.session.add_all([
        PledgeEvent(pledge_id=pledge.id, from_status=None, to_status="draft", actor_id=owner.id),
        PledgeEvent(pledge_id=pledge.id, from_status="draft", to_status="submitted", actor_id=owner.id),
        PledgeEvent(pledge_id=pledge.id, from_status="submitted", to_status="rejected", actor_id=staff.id,
                    note="退货条件写得不清楚"),
    ])
    pledge.status = "rejected"
    pledge.status_note = "退货条件写得不清楚"
    db.session.commit()
    page = client.get(_detail(pledge)).get_data(as_text=True)
    assert "within 30 days of purchase" in page
    assert "version 1" in page
    assert "退货条件写得不清楚" in page
    assert "Draft → Submitted, waiting for review" in page
    assert "Submitted, waiting for review → Rejected" in page
    assert "by the bureau" in page and "by you" in page
    assert "/renew" not in page and "/withdraw" not in page


# --- merchant A never reaches merchant B's pledges ------------------------------


@pytest.mark.parametrize(("method", "action"), [
    ("GET", ""),
    ("POST", "/submit"),
    ("POST", "/withdraw"),
    ("POST", "/renew"),
])
@pytest.mark.parametrize("status", ["draft", "active"])
def test_another_merchants_pledge_is_not_found(client, shop, method, action, status):
    other_pledge = make_pledge(make_merchant(shop_name="B的店"), "genuine", status=status,
                               expires_at=datetime.now(UTC) + timedelta(days=10))
    own_pledge = make_pledge(shop, "genuine", status=status, expires_at=datetime.now(UTC) + timedelta(days=10))
    url = f"/portal/pledges/{other_pledge.id}{action}"
    if method == "GET":
        response = client.get(url)
        assert client.get(_detail(own_pledge)).status_code == 200
    else:
        response = form_post(client, url, {}, form_url=_detail(own_pledge))
    assert response.status_code == 404
    assert "B的店" not in response.get_data(as_text=True)
    db.session.refresh(other_pledge)
    assert other_pledge.status == status
    assert len(_pledges(other_pledge.merchant)) == 1


def test_staff_do_not_use_the_merchant_pledge_pages(client, app, shop):
    pledge = make_pledge(shop, "genuine", status="submitted")
    staff_client = app.test_client()
    staff_client.set_cookie("lang", "en")
    login(staff_client, make_user("staff"))
    assert staff_client.get(_detail(pledge)).status_code == 403
    assert staff_client.get(sign_url(shop, "genuine")).status_code == 403


def test_expired_page_keeps_the_terms_typed(client, shop):
    """A refused CSRF token re-renders the form with the input kept."""
    client.get(sign_url(shop, "returns"))
    response = client.post(sign_url(shop, "returns"), data={"csrf_token": "stale", **returns_form(
        return_days=21, conditions="须保留小票")})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This page was open too long and has expired." in page
    assert 'value="21"' in tag_with(page, 'name="return_days"') and "须保留小票" in page
    assert _pledges(shop) == []


def test_a_pledge_is_in_its_shops_town_and_moves_with_it(app):
    """The review queue filters pledges by their own town column: the schema keeps it the shop's."""
    import sqlalchemy as sa

    from pledge_registry.models import Merchant, Town

    towns = db.session.scalars(select(Town).order_by(Town.id)).all()
    shop = make_merchant(town_id=towns[0].id)
    pledge = make_pledge(shop, status="submitted")
    db.session.commit()
    assert pledge.town_id == towns[0].id
    # A bulk UPDATE of the shop, as an import would make: the pledge follows in the database.
    db.session.execute(sa.update(Merchant).where(Merchant.id == shop.id).values(town_id=towns[1].id))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Pledge, pledge.id).town_id == towns[1].id
    # A pledge that names another town than its shop's is refused by the schema.
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.update(Pledge).where(Pledge.id == pledge.id).values(town_id=towns[0].id))
        db.session.flush()
    db.session.rollback()
