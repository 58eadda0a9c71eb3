"""The merchant portal: registering shops and branches, editing, closing, ownership."""

from __future__ import annotations

import random
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from pledge_registry import demo, uscc
from pledge_registry.extensions import db
from pledge_registry.models import Merchant, MerchantEvent, Town
from tests.factories import make_merchant, make_pledge, make_user
from tests.helpers import count_rows, form_post, login, missing_id, tag_with

pytestmark = pytest.mark.usefixtures("english")

NEW_SHOP = "/portal/shops/new"
DASHBOARD = "/portal/"


def _code(seed: int = 1) -> str:
    return demo.random_credit_code(random.Random(seed))


def _wrong_check_character(code: str) -> str:
    return code[:17] + next(c for c in uscc.ALPHABET if c != code[17])


def shop_form(**overrides: object) -> dict[str, object]:
    """A valid shop form as a browser posts it."""
    town = db.session.scalar(select(Town).order_by(Town.sort_order, Town.id))
    data: dict[str, object] = {
        "credit_code": _code(), "legal_name": "太仓市鑫华商贸有限公司", "shop_name": "鑫华超市",
        "address": "城厢镇人民南路8号", "town_id": town.id, "area_id": 0, "category": "food",
        "contact_name": "王芳", "contact_phone": "13912345678", "opening_hours": "08:00-22:00",
    }
    data.update(overrides)
    return data


def _merchants(**where: object) -> list[Merchant]:
    db.session.expire_all()
    query = select(Merchant).order_by(Merchant.id)
    for name, value in where.items():
        query = query.where(getattr(Merchant, name) == value)
    return list(db.session.scalars(query))


def _location_path(response) -> str:
    return urlsplit(response.headers["Location"]).path


@pytest.fixture
def merchant_user(client):
    user = make_user()
    login(client, user)
    return user


# --- registration ------------------------------------------------------------------------


def test_register_a_shop(client, merchant_user):
    response = form_post(client, NEW_SHOP, shop_form(credit_code=" 9132 0585" + _code()[8:].lower()))
    assert response.status_code == 302
    (merchant,) = _merchants()
    assert _location_path(response) == f"/portal/shops/{merchant.id}"
    assert merchant.credit_code == _code(), "stored normalized: no spaces, upper case"
    assert merchant.owner_id == merchant_user.id
    assert merchant.status == "pending"
    assert merchant.area_id is None
    events = list(db.session.scalars(select(MerchantEvent).where(MerchantEvent.merchant_id == merchant.id)))
    assert [(e.from_status, e.to_status, e.actor_id) for e in events] == [(None, "pending", merchant_user.id)]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "鑫华超市" in page and "Waiting for review" in page


@pytest.mark.parametrize(("typed", "message"), [
    (_wrong_check_character(_code()), "The last character does not match"),
    (_code()[:17], "The code has 17 characters; it must have 18."),
    (_code() + "1", "The code has 19 characters; it must have 18."),
    (_code()[:4] + "I" + _code()[5:], "Character 5 is not allowed"),
    ("", "This field is required."),
    ("B1" + _code()[2:], "Character 1 (the registration authority) is not valid."),
    ("99" + _code()[2:], "Character 2 (the organisation type) does not fit"),
])
def test_register_refuses_a_bad_credit_code_clearly(client, merchant_user, typed, message):
    response = form_post(client, NEW_SHOP, shop_form(credit_code=typed, shop_name="保留的店名"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert 'value="保留的店名"' in page, "the rest of the input is kept"
    if typed:
        assert f'value="{typed}"' in page, "the code is shown as typed"
    assert _merchants() == []


def test_bad_check_character_names_the_expected_one(client, merchant_user):
    response = form_post(client, NEW_SHOP, shop_form(credit_code=_wrong_check_character(_code())))
    assert f"would end in {_code()[17]}" in response.get_data(as_text=True)


@pytest.mark.parametrize("address", [
    "城厢镇人民南路8号",
    " 城厢镇 人民南路 8 号 ",
    "城厢镇人民南路８号",          # full-width digit
    "城厢镇人民南路\u30008号",     # ideographic space
])
def test_duplicate_code_and_address_refused(client, merchant_user, address):
    make_merchant(credit_code=_code(), address="城厢镇人民南路8号")
    response = form_post(client, NEW_SHOP, shop_form(address=address))
    page = response.get_data(as_text=True)
    assert response.status_code == 409  # a clash with a registered shop: a conflict
    assert "A shop with this credit code is already registered at this address." in page
    assert len(_merchants(credit_code=_code())) == 1


@pytest.mark.parametrize(("existing_status", "existing_address", "accepted"), [
    ("approved", "城厢镇人民南路10号", True),    # a branch: same code, another address
    ("pending", "城厢镇人民南路8号", False),
    ("rejected", "城厢镇人民南路8号", True),     # only live shops block the address
    ("closed", "城厢镇人民南路8号", True),
])
def test_same_code_elsewhere_is_a_branch(client, merchant_user, existing_status, existing_address, accepted):
    make_merchant(owner=merchant_user, credit_code=_code(), address=existing_address, status=existing_status)
    response = form_post(client, NEW_SHOP, shop_form(address="城厢镇人民南路8号"))
    assert response.status_code == (302 if accepted else 409)
    assert len(_merchants(credit_code=_code())) == (2 if accepted else 1)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("contact_phone", "23912345678", "Enter an 11-digit mainland mobile number"),
    ("contact_phone", "139123456789", None),
    ("town_id", 0, "This field is required."),
    ("shop_name", "", "This field is required."),
    ("shop_name", "x" * 101, None),
    ("legal_name", "太仓\x00公司", "Remove the control characters"),
    ("category", "weapons", "Not a valid choice"),
])
def test_register_field_rules(client, merchant_user, field, value, message):
    response = form_post(client, NEW_SHOP, shop_form(**{field: value}))
    assert response.status_code == 400
    if message:
        assert message in response.get_data(as_text=True)
    assert _merchants() == []


def test_register_refuses_an_unknown_town(client, merchant_user):
    response = form_post(client, NEW_SHOP, shop_form(town_id=missing_id(Town)))
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert _merchants() == []


def test_area_must_be_in_the_town(client, merchant_user):
    towns = list(db.session.scalars(select(Town).order_by(Town.sort_order, Town.id)))
    town_with_area = next(t for t in towns if t.areas)
    other_town = next(t for t in towns if t.id != town_with_area.id)
    response = form_post(client, NEW_SHOP, shop_form(town_id=other_town.id, area_id=town_with_area.areas[0].id))
    assert response.status_code == 400
    assert "That commercial area is not in the chosen town." in response.get_data(as_text=True)


def test_staff_cannot_register_shops(client):
    login(client, make_user("staff"))
    assert client.get(NEW_SHOP).status_code == 403


# --- no mass assignment ------------------------------------------------------


def test_register_ignores_posted_status_and_owner(client, merchant_user):
    other = make_user()
    other_shop = make_merchant(owner=other)
    staff = make_user("staff")
    response = form_post(client, NEW_SHOP, shop_form(
        status="approved", owner_id=other.id, merchant_id=other_shop.id, reviewed_by_id=staff.id,
        badge_code="aaaaaaaaaaaaa", public_version=99, review_note="self-approved"))
    assert response.status_code == 302
    (merchant,) = [m for m in _merchants() if m.id != other_shop.id]
    assert merchant.status == "pending"
    assert merchant.owner_id == merchant_user.id
    assert merchant.reviewed_by_id is None
    assert merchant.badge_code != "aaaaaaaaaaaaa"
    assert merchant.review_note == ""


def test_approved_shop_changes_only_contact_details(client, merchant_user):
    other = make_user()
    merchant = make_merchant(owner=merchant_user)
    before = {c: getattr(merchant, c) for c in ("credit_code", "legal_name", "shop_name", "address", "town_id",
                                                "area_id", "category", "status", "owner_id", "badge_code")}
    url = f"/portal/shops/{merchant.id}/edit"
    response = form_post(client, url, shop_form(
        credit_code=_code(99), legal_name="别的公司", shop_name="换个名字", address="别的地址1号",
        category="beauty", contact_name="李雷", contact_phone="13700000000", opening_hours="10:00-20:00",
        status="pending", owner_id=other.id, badge_code="aaaaaaaaaaaaa"))
    assert response.status_code == 302
    db.session.refresh(merchant)
    assert {c: getattr(merchant, c) for c in before} == before
    assert (merchant.contact_name, merchant.contact_phone, merchant.opening_hours) == (
        "李雷", "13700000000", "10:00-20:00")


def test_approved_shop_form_says_what_can_change(client, merchant_user):
    merchant = make_merchant(owner=merchant_user)
    page = client.get(f"/portal/shops/{merchant.id}/edit").get_data(as_text=True)
    assert "only the contact person, contact mobile and opening hours can change" in page
    for name in ("credit_code", "legal_name", "shop_name", "address", "town_id", "area_id", "category"):
        assert "disabled" in tag_with(page, f'name="{name}"'), name
    for name in ("contact_name", "contact_phone", "opening_hours"):
        assert "disabled" not in tag_with(page, f'name="{name}"'), name


def test_approved_shop_edit_as_a_browser_sends_it(client, merchant_user):
    """Disabled fields are not posted at all: the form must still validate."""
    merchant = make_merchant(owner=merchant_user)
    response = form_post(client, f"/portal/shops/{merchant.id}/edit",
                         {"contact_name": "韩梅梅", "contact_phone": "13600000000", "opening_hours": ""})
    assert response.status_code == 302
    db.session.refresh(merchant)
    assert merchant.contact_name == "韩梅梅" and merchant.opening_hours == ""


def test_pending_shop_edit_cannot_approve_itself(client, merchant_user):
    other = make_user()
    merchant = make_merchant(owner=merchant_user, status="pending")
    response = form_post(client, f"/portal/shops/{merchant.id}/edit",
                         shop_form(credit_code=merchant.credit_code, shop_name="新店名", status="approved",
                                   owner_id=other.id))
    assert response.status_code == 302
    db.session.refresh(merchant)
    assert (merchant.status, merchant.owner_id, merchant.shop_name) == ("pending", merchant_user.id, "新店名")


def test_rejected_shop_is_corrected_and_goes_back_to_review(client, merchant_user):
    merchant = make_merchant(owner=merchant_user, status="rejected", review_note="门牌号不清楚")
    shop_page = client.get(f"/portal/shops/{merchant.id}").get_data(as_text=True)
    assert "门牌号不清楚" in shop_page
    edit_page = client.get(f"/portal/shops/{merchant.id}/edit").get_data(as_text=True)
    assert "门牌号不清楚" in edit_page and "disabled" not in edit_page.split("<form")[1]
    response = form_post(client, f"/portal/shops/{merchant.id}/edit",
                         shop_form(credit_code=merchant.credit_code, address="人民路12号"))
    assert response.status_code == 302
    db.session.refresh(merchant)
    assert (merchant.status, merchant.address) == ("pending", "人民路12号")
    history = client.get(f"/portal/shops/{merchant.id}").get_data(as_text=True)
    assert "Rejected → Waiting for review" in history


def test_edit_keeps_input_on_error(client, merchant_user):
    merchant = make_merchant(owner=merchant_user, status="pending")
    response = form_post(client, f"/portal/shops/{merchant.id}/edit",
                         shop_form(credit_code=merchant.credit_code, shop_name="改过的名字", contact_phone="123"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="改过的名字"' in page and 'value="123"' in page


# --- closing -------------------------------------------------------------------------


def test_close_a_shop_with_a_reason(client, merchant_user):
    merchant = make_merchant(owner=merchant_user)
    make_pledge(merchant)
    version = merchant.public_version
    response = form_post(client, f"/portal/shops/{merchant.id}/close", {"reason": "租约到期"},
                         form_url=f"/portal/shops/{merchant.id}")
    assert response.status_code == 302
    db.session.refresh(merchant)
    assert merchant.status == "closed"
    assert merchant.public_version > version
    event = db.session.scalar(select(MerchantEvent).where(MerchantEvent.merchant_id == merchant.id))
    assert (event.from_status, event.to_status, event.note, event.actor_id) == (
        "approved", "closed", "租约到期", merchant_user.id)
    page = client.get(f"/portal/shops/{merchant.id}").get_data(as_text=True)
    assert "租约到期" in page and "Close this shop" not in page
    assert client.get(f"/portal/shops/{merchant.id}/badge").status_code == 302  # no badge any more
    assert client.get(f"/portal/shops/{merchant.id}/badge.png").status_code == 404


def test_close_needs_post_and_csrf(client, merchant_user):
    merchant = make_merchant(owner=merchant_user)
    assert client.get(f"/portal/shops/{merchant.id}/close").status_code == 405
    assert client.post(f"/portal/shops/{merchant.id}/close", data={"reason": "x"}).status_code == 400
    db.session.refresh(merchant)
    assert merchant.status == "approved"


def test_closed_shop_cannot_be_edited(client, merchant_user):
    merchant = make_merchant(owner=merchant_user, status="closed")
    response = form_post(client, f"/portal/shops/{merchant.id}/edit",
                         shop_form(credit_code=merchant.credit_code, shop_name="复活"))
    assert response.status_code == 409  # the shop's state refuses it
    assert "This shop is closed." in response.get_data(as_text=True)
    db.session.refresh(merchant)
    assert merchant.shop_name != "复活"


# --- the dashboard -------------------------------------------------------------------


def test_dashboard_says_what_to_do_next(client, merchant_user):
    ready = make_merchant(owner=merchant_user, shop_name="有徽章的店")
    make_pledge(ready, "genuine")
    waiting = make_merchant(owner=merchant_user, shop_name="等审核的店", status="pending")
    make_pledge(waiting, "genuine", status="submitted")
    make_pledge(waiting, "returns", status="draft")
    make_merchant(owner=merchant_user, shop_name="被退回的店", status="rejected", review_note="执照模糊")
    make_merchant(shop_name="别人的店")
    page = client.get(DASHBOARD).get_data(as_text=True)
    assert "别人的店" not in page
    ready_part, rest = page.split("等审核的店", 1)[0].split("有徽章的店", 1)[1], page.split("等审核的店", 1)[1]
    assert f"/portal/shops/{ready.id}/badge" in ready_part
    assert f"/portal/shops/{ready.id}/pledges/returns/sign" in ready_part
    waiting_part = rest.split("被退回的店")[0]
    assert "badge" not in waiting_part.replace("state-", "")
    assert "The bureau is reviewing the registration" in waiting_part
    assert "Waiting for the bureau's review: Genuine goods pledge" in waiting_part
    assert "Check and submit your draft: Offline no-reason returns pledge" in waiting_part
    rejected_part = rest.split("被退回的店")[1]
    assert "执照模糊" in rejected_part and "/edit" in rejected_part
    assert "Register another shop or branch" in page


def test_dashboard_of_a_new_merchant(client, merchant_user):
    page = client.get(DASHBOARD).get_data(as_text=True)
    assert "You have not registered a shop yet." in page
    assert 'href="/portal/shops/new"' in page


def test_shop_page_offers_signing_only_without_a_pending_pledge(client, merchant_user):
    merchant = make_merchant(owner=merchant_user)
    make_pledge(merchant, "genuine", status="submitted")
    page = client.get(f"/portal/shops/{merchant.id}").get_data(as_text=True)
    assert f"/portal/shops/{merchant.id}/pledges/genuine/sign" not in page
    assert f"/portal/shops/{merchant.id}/pledges/returns/sign" in page


# --- merchant A never reaches merchant B's shop ---------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/portal/shops/{id}"),
    ("GET", "/portal/shops/{id}/edit"),
    ("POST", "/portal/shops/{id}/edit"),
    ("POST", "/portal/shops/{id}/close"),
    ("GET", "/portal/shops/{id}/badge"),
    ("GET", "/portal/shops/{id}/badge.png"),
    ("GET", "/portal/shops/{id}/badge.pdf"),
    ("GET", "/portal/shops/{id}/pledges/genuine/sign"),
    ("POST", "/portal/shops/{id}/pledges/returns/sign"),
])
def test_another_merchants_shop_is_not_found(client, merchant_user, method, path):
    other_shop = make_merchant(shop_name="B的店")
    make_pledge(other_shop, "genuine")
    make_pledge(other_shop, "returns")
    own_shop = make_merchant(owner=merchant_user)
    make_pledge(own_shop, "genuine")
    url = path.format(id=other_shop.id)
    if method == "GET":
        response = client.get(url)
        assert client.get(path.format(id=own_shop.id)).status_code == 200, "the same page of one's own shop works"
    else:
        response = form_post(client, url, shop_form(credit_code=other_shop.credit_code, shop_name="抢来的",
                                                    reason="x", return_days=30, refund_method="cash",
                                                    refund_days=1, agree="y", submit="y"),
                             form_url=DASHBOARD)
    assert response.status_code == 404
    assert "B的店" not in response.get_data(as_text=True)
    db.session.refresh(other_shop)
    assert (other_shop.status, other_shop.shop_name, len(other_shop.pledges)) == ("approved", "B的店", 2)


def test_unknown_shop_is_not_found(client, merchant_user):
    assert client.get(f"/portal/shops/{missing_id(Merchant)}").status_code == 404


@pytest.mark.parametrize("path", ["/portal/", "/portal/shops/new", "/account/password"])
def test_portal_needs_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert _location_path(response) == "/account/login"


def test_merchant_count_stays_consistent_on_both_databases(client, merchant_user):
    """A concurrent duplicate is refused by the partial unique index, not only by the check."""
    make_merchant(credit_code=_code(), address="城厢镇人民南路8号", status="approved")
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        make_merchant(credit_code=_code(), address="城厢镇人民南路8号", status="pending")
    db.session.rollback()
    assert count_rows(Merchant) == 1
