"""Staff screens: the review queue, decisions on shops and pledges, and pledge templates.

Decisions are made through the screens as a browser would (CSRF on), and their effect is
checked where it matters: the public scan page a shopper sees, and the event history.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from pledge_registry import refusals
from pledge_registry.extensions import db
from pledge_registry.models import Merchant, MerchantEvent, Pledge, PledgeEvent, PledgeTemplate
from pledge_registry.staff import views as staff_views
from tests.factories import make_merchant, make_pledge, make_user
from tests.helpers import count_rows, csrf_token, form_post, login, missing_id

pytestmark = pytest.mark.usefixtures("english")

REVIEW_BUTTONS = {"approve": {"approve": "Approve registration"}, "reject": {"reject": "Reject registration"}}


# --- helpers -----------------------------------------------------------------------------

def fresh(obj: Any) -> Any:
    """The row as committed now: end the test's transaction, then reload."""
    db.session.rollback()
    return db.session.get(type(obj), obj.id)


def pledge_events(pledge: Pledge) -> list[PledgeEvent]:
    db.session.rollback()
    return list(db.session.scalars(
        sa.select(PledgeEvent).where(PledgeEvent.pledge_id == pledge.id).order_by(PledgeEvent.id)))


def decide(client: Any, pledge: Pledge, action: str, reason: str = "", **extra: Any) -> Any:
    return form_post(client, f"/staff/pledges/{pledge.id}/decision",
                     {"action": action, "reason": reason, **extra},
                     form_url=f"/staff/pledges/{pledge.id}")


def refused_decision(client: Any, pledge: Pledge, action: str, reason: str) -> Any:
    """Post a decision that must be refused, and check that it changed nothing: not the
    pledge, not its history, not the shop's public page."""
    status, version = fresh(pledge).status, fresh(pledge.merchant).public_version
    before = len(pledge_events(pledge))
    response = decide(client, pledge, action, reason)
    assert fresh(pledge).status == status
    assert fresh(pledge.merchant).public_version == version
    assert len(pledge_events(pledge)) == before
    return response


def review(client: Any, merchant: Merchant, decision: str, reason: str = "") -> Any:
    return form_post(client, f"/staff/shops/{merchant.id}/review",
                     {"reason": reason, **REVIEW_BUTTONS[decision]}, form_url=f"/staff/shops/{merchant.id}")


def scan_state(client: Any, merchant: Merchant) -> str:
    """The verdict of the HTML scan page, and check the JSON page agrees."""
    page = client.get(f"/m/{merchant.badge_code}").get_data(as_text=True)
    verdicts = re.findall(r'class="verdict verdict-(\w+)"', page)
    assert len(verdicts) == 1, page[:500]
    facts = client.get(f"/m/{merchant.badge_code}.json").get_json()
    assert facts["state"] == verdicts[0]
    return verdicts[0]


@pytest.fixture
def staff(client: Any) -> Any:
    user = make_user("staff", display_name="Officer Wang")
    login(client, user)
    return user


@pytest.fixture
def admin(client: Any) -> Any:
    user = make_user("admin", display_name="Admin Li")
    login(client, user)
    return user


# --- the whole path: registration, pledge, badge -----------------------------------------

def test_registration_then_pledge_makes_the_badge_valid(client, staff, monkeypatch):
    logged: list[tuple[str, dict[str, Any]]] = []
    def record(event: str, **fields: Any) -> None:
        logged.append((event, fields))

    monkeypatch.setattr(staff_views, "security_event", record)
    monkeypatch.setattr(refusals, "security_event", record)  # refusals are logged where they are refused
    merchant = make_merchant(status="pending")
    pledge = make_pledge(merchant, "returns", status="submitted")
    assert scan_state(client, merchant) == "pending"

    refused = decide(client, pledge, "approve")
    assert refused.status_code == 409
    assert "approve the registration first" in refused.get_data(as_text=True)
    assert fresh(pledge).status == "submitted"

    assert logged == [("pledge_decision_refused",
                       {"code": "shop_not_approved", "pledge_id": pledge.id, "action": "approve",
                        "endpoint": "staff.decide_pledge"})]
    assert review(client, merchant, "approve").status_code == 302
    assert decide(client, pledge, "approve", "terms checked").status_code == 302

    assert fresh(merchant).status == "approved"
    assert fresh(pledge).status == "active"
    assert scan_state(client, merchant) == "valid"
    assert logged[1:] == [
        ("registration_decision", {"merchant_id": merchant.id, "to": "approved"}),
        ("pledge_decision", {"pledge_id": pledge.id, "merchant_id": merchant.id,
                             "from_status": "submitted", "to": "active"}),
    ]
    event = db.session.scalars(sa.select(MerchantEvent).where(
        MerchantEvent.merchant_id == merchant.id).order_by(MerchantEvent.id.desc())).first()
    assert (event.from_status, event.to_status, event.actor_id) == ("pending", "approved", staff.id)


@pytest.mark.parametrize(("start", "action", "reason", "end", "badge"), [
    ("submitted", "approve", "", "active", "valid"),
    ("submitted", "reject", "exclusions too broad", "rejected", "pending"),
    ("active", "suspend", "counterfeit found on 3 May", "suspended", "suspended"),
    ("active", "revoke", "repeated counterfeit sales", "revoked", "revoked"),
    ("suspended", "reinstate", "inspection passed", "active", "valid"),
    ("suspended", "revoke", "did not correct", "revoked", "revoked"),
])
def test_each_decision_shows_at_the_next_scan_and_writes_an_event(
        client, staff, start, action, reason, end, badge):
    merchant = make_merchant()
    pledge = make_pledge(merchant, "genuine", status=start)
    scan_state(client, merchant)  # the page is now cached under the old public_version
    before = len(pledge_events(pledge))

    response = decide(client, pledge, action, reason)

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/pledges/{pledge.id}")
    assert fresh(pledge).status == end
    assert scan_state(client, merchant) == badge
    events = pledge_events(pledge)
    assert len(events) == before + 1
    assert (events[-1].from_status, events[-1].to_status) == (start, end)
    assert events[-1].actor_id == staff.id
    assert events[-1].note == reason
    if badge in ("suspended", "revoked"):
        assert reason in client.get(f"/m/{merchant.badge_code}").get_data(as_text=True)


def test_suspension_then_revocation_are_never_served_stale(client, staff):
    merchant = make_merchant()
    pledge = make_pledge(merchant, "returns")
    make_pledge(merchant, "genuine")
    assert scan_state(client, merchant) == "valid"
    assert decide(client, pledge, "suspend", "complaints unanswered").status_code == 302
    assert scan_state(client, merchant) == "suspended"
    assert decide(client, pledge, "revoke", "still unanswered").status_code == 302
    assert scan_state(client, merchant) == "revoked"


@pytest.mark.parametrize(("start", "action"), [
    ("submitted", "reject"), ("active", "suspend"), ("active", "revoke"), ("suspended", "revoke"),
])
def test_a_decision_against_the_merchant_needs_a_reason(client, staff, start, action):
    pledge = make_pledge(make_merchant(), status=start)

    response = refused_decision(client, pledge, action, "   ")

    assert response.status_code == 400
    assert "Give a reason" in response.get_data(as_text=True)


@pytest.mark.parametrize(("start", "action"), [
    ("active", "approve"),       # approve an active pledge again
    ("active", "reinstate"),
    ("submitted", "suspend"),
    ("submitted", "reinstate"),  # would be an approval under another name
    ("revoked", "reinstate"),
    ("revoked", "approve"),
    ("rejected", "approve"),
    ("expired", "reinstate"),
    ("superseded", "revoke"),
])
def test_illegal_transitions_by_crafted_post_change_nothing(client, staff, start, action):
    pledge = make_pledge(make_merchant(), status=start)

    response = refused_decision(client, pledge, action, "crafted")

    assert response.status_code == 409
    assert "not possible in the pledge" in response.get_data(as_text=True)


def test_an_unknown_action_or_a_mass_assigned_field_is_refused(client, staff):
    merchant = make_merchant()
    pledge = make_pledge(merchant, status="submitted")
    other = make_merchant()

    assert decide(client, pledge, "delete", "x").status_code == 400
    response = decide(client, pledge, "reject", "wrong shop", status="active", merchant_id=other.id)
    assert response.status_code == 302
    pledge = fresh(pledge)
    assert (pledge.status, pledge.merchant_id) == ("rejected", merchant.id)


def test_a_decision_without_a_csrf_token_changes_nothing(client, staff):
    pledge = make_pledge(make_merchant(), status="active")
    response = client.post(f"/staff/pledges/{pledge.id}/decision", data={"action": "revoke", "reason": "x"})
    assert response.status_code == 400
    assert fresh(pledge).status == "active"


def test_approving_over_a_suspended_pledge_is_refused(client, staff):
    merchant = make_merchant()
    make_pledge(merchant, "genuine", status="suspended")
    renewal = make_pledge(merchant, "genuine", status="submitted")
    response = decide(client, renewal, "approve")
    assert response.status_code == 409
    assert "reinstate or revoke it first" in response.get_data(as_text=True)
    assert fresh(renewal).status == "submitted"


def test_approving_a_renewal_supersedes_the_standing_pledge(client, staff):
    merchant = make_merchant()
    old = make_pledge(merchant, "genuine", status="active")
    renewal = make_pledge(merchant, "genuine", status="submitted", renews_id=old.id)
    assert decide(client, renewal, "approve").status_code == 302
    assert (fresh(old).status, fresh(renewal).status) == ("superseded", "active")
    assert scan_state(client, merchant) == "valid"


# --- nobody reviews their own submission -------------------------------------------------

@pytest.mark.parametrize("what", ["registration", "pledge", "renewal over a standing pledge"])
def test_a_staff_member_cannot_decide_on_their_own_shop(client, staff, what):
    merchant = make_merchant(owner=staff, status="pending" if what == "registration" else "approved")
    standing = make_pledge(merchant, status="active") if what.startswith("renewal") else None
    pledge = make_pledge(merchant, status="submitted")

    if what == "registration":
        response = review(client, merchant, "approve")
        assert fresh(merchant).status == "pending"
    else:
        response = decide(client, pledge, "approve")
        assert fresh(pledge).status == "submitted"
    assert response.status_code == 403
    assert "You cannot review your own submission." in response.get_data(as_text=True)
    if standing is not None:
        assert fresh(standing).status == "active"
        assert scan_state(client, merchant) == "valid"


# --- registration review -------------------------------------------------------------------

def test_rejecting_a_registration_needs_a_reason_the_merchant_then_sees(app, client, staff):
    owner = make_user()
    merchant = make_merchant(owner=owner, status="pending")

    empty = review(client, merchant, "reject", "")
    assert empty.status_code == 400
    assert "Give a reason" in empty.get_data(as_text=True)
    assert fresh(merchant).status == "pending"

    reason = "营业执照上的地址与登记地址不一致"
    assert review(client, merchant, "reject", reason).status_code == 302
    merchant = fresh(merchant)
    assert (merchant.status, merchant.review_note, merchant.reviewed_by_id) == ("rejected", reason, staff.id)

    shop_owner = app.test_client()
    login(shop_owner, owner)
    assert reason in shop_owner.get(f"/portal/shops/{merchant.id}").get_data(as_text=True)
    # Decided once: a second decision is refused.
    again = review(client, merchant, "approve")
    assert again.status_code == 409
    assert "already been decided" in again.get_data(as_text=True)


def test_a_review_must_choose_approve_or_reject(client, staff):
    merchant = make_merchant(status="pending")
    response = form_post(client, f"/staff/shops/{merchant.id}/review", {"reason": "x"},
                         form_url=f"/staff/shops/{merchant.id}")
    assert response.status_code == 400
    assert fresh(merchant).status == "pending"


def test_staff_can_record_a_shop_as_closed(client, staff):
    merchant = make_merchant()
    make_pledge(merchant)
    url = f"/staff/shops/{merchant.id}/close"
    empty = form_post(client, url, {"close_reason": ""}, form_url=f"/staff/shops/{merchant.id}")
    assert empty.status_code == 400
    assert fresh(merchant).status == "approved"
    response = form_post(client, url, {"close_reason": "shop emptied, confirmed on site"},
                         form_url=f"/staff/shops/{merchant.id}")
    assert response.status_code == 302
    assert fresh(merchant).status == "closed"
    assert scan_state(client, merchant) == "closed"


# --- the screens ---------------------------------------------------------------------------

def test_the_queue_lists_what_waits_oldest_first(client, staff):
    first = make_merchant(status="pending", shop_name="先来的店")
    second = make_merchant(status="pending", shop_name="后到的店")
    waiting = make_pledge(make_merchant(shop_name="等审承诺店"), "returns", status="submitted")
    make_merchant(shop_name="已审核的店")

    page = client.get("/staff/").get_data(as_text=True)

    assert page.index("先来的店") < page.index("后到的店")
    assert f'href="/staff/shops/{first.id}"' in page and f'href="/staff/shops/{second.id}"' in page
    assert f'href="/staff/pledges/{waiting.id}"' in page
    assert "已审核的店" not in page
    assert re.search(r'id="shops-title">[^<]*\(2\)<', page)
    assert re.search(r'id="pledges-title">[^<]*\(1\)<', page)


@pytest.mark.parametrize("query", ["南门烧饼", "烧饼", "太仓市南门", "{code}", "{code_lower}", "{code_tail}"])
def test_staff_find_any_merchant_by_name_or_credit_code(client, staff, query):
    merchant = make_merchant(status="rejected", shop_name="南门烧饼铺", legal_name="太仓市南门餐饮有限公司")
    make_merchant(shop_name="别的店", legal_name="别的公司")
    code = merchant.credit_code
    q = query.format(code=code, code_lower=code.lower(), code_tail=code[-8:])

    page = client.get("/staff/", query_string={"q": q}).get_data(as_text=True)

    assert f'href="/staff/shops/{merchant.id}"' in page
    assert "别的店" not in page


@pytest.mark.parametrize("query", ["没有这家店", "%", "_", "\\"])
def test_a_search_with_no_match_says_so(client, staff, query):
    make_merchant(shop_name="某店")
    page = client.get("/staff/", query_string={"q": query})
    assert page.status_code == 200
    assert "No merchant found." in page.get_data(as_text=True)


def test_the_shop_page_shows_everything_staff_need(client, staff):
    merchant = make_merchant(status="pending", contact_phone="13912345678", contact_name="王五")
    pledge = make_pledge(merchant, "returns", status="submitted")
    db.session.add(MerchantEvent(merchant_id=merchant.id, from_status=None, to_status="pending",
                                 actor_id=merchant.owner_id))
    db.session.add(PledgeEvent(pledge_id=pledge.id, from_status="draft", to_status="submitted",
                               actor_id=merchant.owner_id, note="first signature"))
    db.session.commit()

    page = client.get(f"/staff/shops/{merchant.id}")

    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for expected in ("13912345678", "王五", merchant.credit_code, merchant.legal_name, merchant.address,
                     f"/m/{merchant.badge_code}", f"/staff/pledges/{pledge.id}", "first signature",
                     f'action="/staff/shops/{merchant.id}/review"'):
        assert expected in body, expected
    assert "style=" not in body and "<script" not in body


def test_the_pledge_page_shows_terms_signer_and_history(client, staff):
    merchant = make_merchant()
    pledge = make_pledge(merchant, "returns", status="submitted", return_days=30)
    db.session.add(PledgeEvent(pledge_id=pledge.id, from_status="draft", to_status="submitted",
                               actor_id=merchant.owner_id, note="signed at the counter"))
    db.session.commit()
    signer = merchant.owner

    body = client.get(f"/staff/pledges/{pledge.id}?lang=en").get_data(as_text=True)

    assert "within 30 days" in body  # the terms, filled in
    assert signer.display_name in body and "signed at the counter" in body
    assert 'value="approve"' in body and 'value="reject"' in body
    assert 'value="suspend"' not in body
    assert "style=" not in body and "<script" not in body


def test_missing_records_are_404(client, staff):
    assert client.get(f"/staff/shops/{missing_id(Merchant)}").status_code == 404
    assert client.get(f"/staff/pledges/{missing_id(Pledge)}").status_code == 404


# --- access ------------------------------------------------------------------------------

def _staff_urls(app: Any, merchant: Merchant, pledge: Pledge) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every staff endpoint, with real ids filled in."""
    values = {"merchant_id": merchant.id, "pledge_id": pledge.id, "kind": "genuine"}
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("staff."):
            continue
        url = rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, url))
    assert len({e for e, _, _ in found}) >= 8, found
    return found


def _try(client: Any, method: str, url: str, token: str) -> Any:
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": token, "action": "revoke", "reason": "x", "approve": "1",
                                  "close_reason": "x"})


def test_anonymous_users_are_sent_to_sign_in_from_every_staff_endpoint(app, client):
    merchant = make_merchant()
    pledge = make_pledge(merchant, status="active")
    token = csrf_token(client, "/account/login")
    for endpoint, method, url in _staff_urls(app, merchant, pledge):
        response = _try(client, method, url, token)
        assert response.status_code == 302, (endpoint, method, response.status_code)
        assert "/account/login" in response.headers["Location"], endpoint
    assert fresh(pledge).status == "active"


def test_merchants_get_403_on_every_staff_endpoint(app, client):
    owner = make_user()
    merchant = make_merchant(owner=owner)
    pledge = make_pledge(merchant, status="active")
    login(client, owner)
    token = csrf_token(client, "/account/password")
    for endpoint, method, url in _staff_urls(app, merchant, pledge):
        response = _try(client, method, url, token)
        assert response.status_code == 403, (endpoint, method, response.status_code)
    assert fresh(pledge).status == "active"
    assert fresh(merchant).status == "approved"


def test_only_admins_reach_the_template_endpoints(app, client, staff):
    admin_endpoints = {ep for ep, view in app.view_functions.items()
                       if ep.startswith("staff.") and getattr(view, "access", None) == "admin"}
    assert admin_endpoints == {"staff.templates", "staff.new_template"}
    count = count_rows(PledgeTemplate)
    token = csrf_token(client, "/staff/")
    for endpoint, method, url in _staff_urls(app, make_merchant(), make_pledge(make_merchant())):
        if endpoint in admin_endpoints:
            response = client.get(url) if method == "GET" else client.post(url, data={
                "csrf_token": token, "title_zh": "t", "body_zh": "b", "title_en": "t", "body_en": "b"})
            assert response.status_code == 403, (endpoint, method)
    db.session.rollback()
    assert count_rows(PledgeTemplate) == count


# --- pledge templates ----------------------------------------------------------------------

def _template_form(kind: str, **overrides: str) -> dict[str, str]:
    data = {"title_zh": "线下无理由退货承诺（修订）", "body_zh": "新条款：{return_days}日内可退。",
            "title_en": "Offline no-reason returns pledge (revised)",
            "body_en": "REVISED WORDING: return within {return_days} days; refund {refund_method}."}
    data.update(overrides)
    return data


def test_a_template_edit_is_the_next_version_and_signed_pledges_keep_their_words(client, admin):
    merchant = make_merchant()
    signed = make_pledge(merchant, "returns", status="active")
    old = fresh(signed).template
    old_body = old.body_en

    form = client.get("/staff/templates/returns/new?lang=en")
    assert form.status_code == 200
    assert "Offline no-reason returns pledge" in form.get_data(as_text=True)  # prefilled
    for placeholder in ("{return_days}", "{refund_days}", "{refund_method}", "{exclusions}", "{conditions}"):
        assert placeholder in form.get_data(as_text=True)

    response = form_post(client, "/staff/templates/returns/new", _template_form("returns"))

    assert response.status_code == 302
    db.session.rollback()
    versions = list(db.session.scalars(sa.select(PledgeTemplate).where(PledgeTemplate.kind == "returns")
                                       .order_by(PledgeTemplate.version)))
    assert [v.version for v in versions] == list(range(1, old.version + 2))
    assert versions[-1].body_en.startswith("REVISED WORDING") and versions[-1].created_by_id == admin.id
    assert fresh(old).body_en == old_body  # never edited in place
    assert fresh(signed).template_id == old.id

    staff_page = client.get(f"/staff/pledges/{signed.id}?lang=en").get_data(as_text=True)
    public_page = client.get(f"/m/{merchant.badge_code}?lang=en").get_data(as_text=True)
    for page in (staff_page, public_page):
        assert "REVISED WORDING" not in page
        assert "without giving a reason" in page  # the words of the version it was signed on
    listing = client.get("/staff/templates").get_data(as_text=True)
    assert "REVISED" in listing or "（修订）" in listing


@pytest.mark.parametrize("body", [
    "Return within {foo} days.",
    "{conditions.__class__}",
    "{exclusions[0]}",
    "{0}",
    "an unmatched { brace",
])
@pytest.mark.parametrize("field", ["body_en", "body_zh"])
def test_a_template_with_an_unknown_placeholder_is_refused(client, admin, field, body):
    count = count_rows(PledgeTemplate)
    response = form_post(client, "/staff/templates/returns/new", _template_form("returns", **{field: body}))
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Unknown placeholders" in text
    assert 'class="field has-error"' in text
    db.session.rollback()
    assert count_rows(PledgeTemplate) == count


def test_an_unknown_template_kind_is_404(client, admin):
    assert client.get("/staff/templates/nonsense/new").status_code == 404


@pytest.mark.parametrize("body", ["{return_days:>999999999}", "{return_days:d}", "{conditions!r}"])
def test_a_template_with_a_format_spec_is_refused(client, admin, body):
    response = form_post(client, "/staff/templates/returns/new", _template_form("returns", body_en=body))
    assert response.status_code == 400
