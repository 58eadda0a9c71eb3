"""Inspections and penalties by form, the right to reply, appeals, and proposals to suspend
a pledge after repeated breaches. Through HTTP with CSRF on, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from pledge_registry.compliance import services
from pledge_registry.extensions import db
from pledge_registry.models import (
    Complaint,
    Inspection,
    Merchant,
    Penalty,
    Pledge,
    PledgeEvent,
    Rating,
    RatingAppeal,
    RatingReply,
    SuspensionProposal,
)
from tests.factories import make_complaint, make_merchant, make_pledge, make_rating, make_user
from tests.helpers import count_rows, csrf_token, form_post, login, text

pytestmark = pytest.mark.usefixtures("english")

NOW = datetime.now(UTC)
TODAY = services.local_today()



def closed_complaint(merchant: Merchant, problem_type: str, upheld: bool = True,
                     closed_at: datetime | None = None) -> Complaint:
    """A complaint about `problem_type` closed as resolved (now unless `closed_at`), upheld unless said."""
    return make_complaint(merchant, problem_type=problem_type, status="closed", outcome="resolved", upheld=upheld,
                          closed_at=closed_at or datetime.now(UTC))


@pytest.fixture
def staff(app: Any) -> Any:
    return make_user("staff")


@pytest.fixture
def shop(app: Any) -> Merchant:
    return make_merchant()


# --- access ------------------------------------------------------------------------------

STAFF_PAGES = ["/staff/shops/{m}/compliance", "/staff/shops/{m}/inspections/new", "/staff/shops/{m}/penalties/new",
               "/staff/compliance/import", "/staff/appeals", "/staff/suspension-proposals"]


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_staff_pages_deny_anonymous_and_merchants(client: Any, shop: Merchant, url: str) -> None:
    url = url.format(m=shop.id)
    assert client.get(url).status_code == 302  # to the login page
    login(client, shop.owner)
    assert client.get(url).status_code == 403


def test_merchant_posts_to_staff_actions_are_refused(client: Any, shop: Merchant) -> None:
    login(client, shop.owner)
    token_page = f"/portal/shops/{shop.id}/rating/reply"
    response = form_post(client, f"/staff/shops/{shop.id}/penalties/new",
                         {"case_number": "X-1", "decided_on": "2024-01-01", "reason": "x", "amount": "1"},
                         form_url=token_page)
    assert response.status_code == 403
    assert count_rows(Penalty) == 0


@pytest.mark.parametrize("path", ["rating/reply", "rating/appeal"])
def test_merchant_a_gets_404_on_merchant_b(client: Any, shop: Merchant, path: str) -> None:
    other = make_merchant()
    make_rating(other)
    login(client, shop.owner)
    assert client.get(f"/portal/shops/{other.id}/{path}").status_code == 404
    own = f"/portal/shops/{shop.id}/{path}"
    response = form_post(client, f"/portal/shops/{other.id}/{path}", {"text": "hi", "grounds": "hi"}, form_url=own)
    assert response.status_code == 404
    assert count_rows(RatingReply) == 0
    assert count_rows(RatingAppeal) == 0


def test_staff_get_403_on_merchant_reply_page(client: Any, shop: Merchant, staff: Any) -> None:
    login(client, staff)
    assert client.get(f"/portal/shops/{shop.id}/rating/reply").status_code == 403


# --- inspections and penalties by form ----------------------------------------------------

def test_record_inspection_and_penalty(client: Any, shop: Merchant, staff: Any) -> None:
    login(client, staff)
    url = f"/staff/shops/{shop.id}/inspections/new"
    response = form_post(client, url, {"inspected_on": "2025-03-05", "subject": "进货凭证", "result": "failed",
                                       "findings": "缺少两批次进货票据"})
    assert response.status_code == 302, text(response)[:2000]
    inspection = db.session.scalar(sa.select(Inspection))
    assert (inspection.merchant_id, inspection.result, inspection.recorded_by_id) == (shop.id, "failed", staff.id)

    url = f"/staff/shops/{shop.id}/penalties/new"
    response = form_post(client, url, {"case_number": "太市监处罚〔2025〕12号", "decided_on": "2025-03-20",
                                       "reason": "销售假冒商品", "amount": "1500.50"})
    assert response.status_code == 302, text(response)[:2000]
    penalty = db.session.scalar(sa.select(Penalty))
    assert (penalty.amount_cents, penalty.recorded_by_id) == (150050, staff.id)

    file_page = text(client.get(f"/staff/shops/{shop.id}/compliance"))
    assert "缺少两批次进货票据" in file_page and "太市监处罚〔2025〕12号" in file_page and "1500.50" in file_page


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"inspected_on": "2099-01-01", "subject": "价格标签", "result": "passed"}, "inspected_on", "in the future"),
    ({"inspected_on": "2025-01-01", "subject": "价格标签", "result": "failed"}, "findings", "needs its findings"),
    ({"inspected_on": "not a date", "subject": "价格标签", "result": "passed"}, "inspected_on", None),
    ({"inspected_on": "2025-01-01", "subject": "", "result": "passed"}, "subject", None),
    ({"inspected_on": "2025-01-01", "subject": "x", "result": "maybe"}, "result", None),
])
def test_inspection_form_errors_keep_input(client: Any, shop: Merchant, staff: Any, data: dict, field: str,
                                           message: str | None) -> None:
    login(client, staff)
    response = form_post(client, f"/staff/shops/{shop.id}/inspections/new", data)
    assert response.status_code == 400
    assert f'id="{field}-error"' in text(response)
    if message:
        assert message in text(response)
    if data["subject"]:
        assert f'value="{data["subject"]}"' in text(response)
    assert count_rows(Inspection) == 0


def test_duplicate_case_number_refused(client: Any, shop: Merchant, staff: Any) -> None:
    login(client, staff)
    url = f"/staff/shops/{shop.id}/penalties/new"
    data = {"case_number": "CASE-7", "decided_on": "2025-01-02", "reason": "虚假宣传", "amount": "0"}
    assert form_post(client, url, data).status_code == 302
    response = form_post(client, url, data)
    assert response.status_code == 409
    assert "already recorded" in text(response)
    assert count_rows(Penalty) == 1


# --- the right to reply ------------------------------------------------------------------

def scan(client: Any, merchant: Merchant) -> str:
    return text(client.get(f"/m/{merchant.badge_code}"))


def test_reply_publish_replace_and_staff_removal(client: Any, shop: Merchant, staff: Any) -> None:
    make_rating(shop)
    version = shop.public_version
    login(client, shop.owner)
    url = f"/portal/shops/{shop.id}/rating/reply"
    assert form_post(client, url, {"text": "我们已整改全部问题。"}).status_code == 302
    assert form_post(client, url, {"text": "已于三月整改完毕，欢迎监督。"}).status_code == 302
    replies = list(db.session.scalars(sa.select(RatingReply).order_by(RatingReply.id)))
    assert [r.removed_at is None for r in replies] == [False, True]
    assert services.current_reply(shop.id).text == "已于三月整改完毕，欢迎监督。"
    assert db.session.get(Merchant, shop.id).public_version == version + 2
    assert "已于三月整改完毕" in text(client.get(url))  # the form shows the current reply

    too_long = form_post(client, url, {"text": "字" * 301})
    assert too_long.status_code == 400
    assert services.current_reply(shop.id).text == "已于三月整改完毕，欢迎监督。"

    client.post("/account/logout", data={"csrf_token": csrf_token(client, url)})
    login(client, staff)
    reply = services.current_reply(shop.id)
    remove = f"/staff/replies/{reply.id}/remove"
    file_url = f"/staff/shops/{shop.id}/compliance"
    assert form_post(client, remove, {"removal_reason": ""}, form_url=file_url).status_code == 400
    assert form_post(client, remove, {"removal_reason": "含辱骂内容"}, form_url=file_url).status_code == 302
    assert services.current_reply(shop.id) is None
    assert db.session.get(Merchant, shop.id).public_version == version + 3
    assert form_post(client, remove, {"removal_reason": "again"}, form_url=file_url).status_code == 409


def test_merchant_sees_removal_reason(client: Any, shop: Merchant, staff: Any) -> None:
    reply = services.publish_reply(shop.owner, shop, "骂人的话")
    services.remove_reply(staff, reply, "含辱骂内容")
    login(client, shop.owner)
    assert "含辱骂内容" in text(client.get(f"/portal/shops/{shop.id}/rating/reply"))


# --- appeals -----------------------------------------------------------------------------

def test_appeal_within_21_days_and_decided_by_another_officer(client: Any, shop: Merchant) -> None:
    recorder, other = make_user("staff"), make_user("staff")
    inspection = services.record_inspection(recorder, shop, services.InspectionData(
        TODAY - timedelta(days=3), "价格标签", "failed", "未明码标价"))
    make_rating(shop, "C")
    login(client, shop.owner)
    url = f"/portal/shops/{shop.id}/rating/appeal"
    assert "价格标签" in text(client.get(url))  # the finding is offered in the list
    response = form_post(client, url, {"finding": f"i{inspection.id}", "grounds": "当天标签已更换，附照片。"})
    assert response.status_code == 302, text(response)[:2000]
    appeal = db.session.scalar(sa.select(RatingAppeal))
    assert appeal.inspection_id == inspection.id and appeal.status == "open"
    # A second appeal while one is open is refused.
    assert form_post(client, url, {"finding": "", "grounds": "again"}).status_code == 409

    # The officer who recorded the inspection may not decide.
    with pytest.raises(services.ComplianceError) as err:
        services.decide_appeal(recorder, appeal, True, "ok")
    assert err.value.code == "own_finding"
    db.session.rollback()

    recorder_client = client.application.test_client()
    login(recorder_client, recorder)
    decision = f"/staff/appeals/{appeal.id}/decision"
    response = form_post(recorder_client, decision, {"reason": "ok", "uphold": "Uphold the appeal"},
                         form_url=f"/staff/appeals/{appeal.id}")
    assert response.status_code == 403
    assert db.session.get(RatingAppeal, appeal.id).status == "open"

    other_client = client.application.test_client()
    login(other_client, other)
    response = form_post(other_client, decision, {"reason": "照片证明已整改", "uphold": "Uphold the appeal"},
                         form_url=f"/staff/appeals/{appeal.id}")
    assert response.status_code == 302
    appeal = db.session.get(RatingAppeal, appeal.id)
    assert (appeal.status, appeal.decided_by_id, appeal.decision_reason) == ("upheld", other.id, "照片证明已整改")
    assert "照片证明已整改" in text(client.get(url))  # the merchant sees the decision


def test_appeal_after_21_days_is_refused(client: Any, shop: Merchant) -> None:
    make_rating(shop, "C", computed_at=NOW - timedelta(days=22))
    login(client, shop.owner)
    url = f"/portal/shops/{shop.id}/rating/appeal"
    response = form_post(client, url, {"finding": "", "grounds": "不服"})
    assert response.status_code == 409
    assert "21 days" in text(response)
    assert count_rows(RatingAppeal) == 0


def test_appeal_cannot_name_another_shops_finding(client: Any, shop: Merchant, staff: Any) -> None:
    other = make_merchant()
    foreign = services.record_penalty(staff, other, services.PenaltyData("P-9", TODAY, "x", 100))
    make_rating(shop)
    login(client, shop.owner)
    response = form_post(client, f"/portal/shops/{shop.id}/rating/appeal",
                         {"finding": f"p{foreign.id}", "grounds": "x"})
    assert response.status_code == 400  # not among the choices
    with pytest.raises(services.ComplianceError) as err:
        services.file_appeal(shop.owner, shop, "x", penalty_id=foreign.id)
    assert err.value.code == "unknown_finding"


def test_appeal_without_rating(client: Any, shop: Merchant) -> None:
    db.session.execute(sa.delete(Rating).where(Rating.merchant_id == shop.id))
    db.session.commit()
    login(client, shop.owner)
    response = form_post(client, f"/portal/shops/{shop.id}/rating/appeal", {"finding": "", "grounds": "x"})
    assert response.status_code == 409


# --- suspension proposals ----------------------------------------------------------------

def test_two_breaches_open_one_proposal_and_staff_decide(client: Any, shop: Merchant, staff: Any) -> None:
    genuine = make_pledge(shop, "genuine")
    returns = make_pledge(shop, "returns")
    closed_complaint(shop, "genuine_doubt")
    closed_complaint(shop, "refused_return")
    closed_complaint(shop, "genuine_doubt", upheld=False)               # not upheld: no breach
    closed_complaint(shop, "genuine_doubt", closed_at=NOW - timedelta(days=400))  # too old
    assert services.propose_suspensions() == []

    closed_complaint(shop, "genuine_doubt")
    created = services.propose_suspensions()
    assert [(p.pledge_id, p.breaches) for p in created] == [(genuine.id, 2)]
    assert services.propose_suspensions() == []  # one open proposal per pledge
    assert db.session.get(Pledge, genuine.id).status == "active"  # nothing automatic
    assert db.session.get(Pledge, returns.id).status == "active"

    login(client, staff)
    proposal = created[0]
    url = f"/staff/suspension-proposals/{proposal.id}/decision"
    listing = "/staff/suspension-proposals"
    assert shop.shop_name in text(client.get(listing))
    assert form_post(client, url, {"reason": "", "accept": "Suspend the pledge"}, form_url=listing).status_code == 400
    response = form_post(client, url, {"reason": "一年内两次售假", "accept": "Suspend the pledge"}, form_url=listing)
    assert response.status_code == 302, text(response)[:2000]
    assert db.session.get(Pledge, genuine.id).status == "suspended"
    assert db.session.get(SuspensionProposal, proposal.id).status == "accepted"
    event = db.session.scalar(sa.select(PledgeEvent).where(PledgeEvent.pledge_id == genuine.id)
                              .order_by(PledgeEvent.id.desc()))
    assert (event.to_status, event.actor_id, event.note) == ("suspended", staff.id, "一年内两次售假")
    assert 'verdict-suspended' in text(client.get(f"/m/{shop.badge_code}"))


def test_declined_proposal_returns_only_after_a_new_breach(shop: Merchant, staff: Any) -> None:
    make_pledge(shop, "returns")
    closed_complaint(shop, "refused_return", closed_at=NOW - timedelta(days=10))
    closed_complaint(shop, "refused_return", closed_at=NOW - timedelta(days=5))
    [proposal] = services.propose_suspensions()
    services.decide_proposal(staff, proposal, False, "商户已退款并整改")
    assert db.session.get(SuspensionProposal, proposal.id).status == "declined"
    assert services.propose_suspensions() == []
    closed_complaint(shop, "refused_return", closed_at=datetime.now(UTC) + timedelta(seconds=1))
    [again] = services.propose_suspensions(now=datetime.now(UTC) + timedelta(seconds=2))
    assert again.breaches == 3


def test_owner_cannot_accept_a_proposal_on_own_pledge(shop: Merchant) -> None:
    make_pledge(shop, "genuine")
    for _ in range(2):
        closed_complaint(shop, "genuine_doubt")
    [proposal] = services.propose_suspensions()
    shop.owner.role = "staff"  # an officer who also owns the shop
    db.session.commit()
    with pytest.raises(services.ComplianceError) as err:
        services.decide_proposal(shop.owner, proposal, True, "x")
    assert err.value.code == "own_submission"
    assert db.session.get(SuspensionProposal, proposal.id).status == "open"


def test_propose_suspensions_cli(runner: Any, shop: Merchant) -> None:
    make_pledge(shop, "genuine")
    for _ in range(2):
        closed_complaint(shop, "genuine_doubt")
    result = runner.invoke(args=["compliance", "propose-suspensions"])
    assert result.exit_code == 0, result.output
    assert "1 new suspension proposal" in result.output


def test_complaint_close_hook_opens_the_proposal_in_the_callers_transaction(shop: Merchant) -> None:
    pledge = make_pledge(shop, "genuine")
    closed_complaint(shop, "genuine_doubt")
    second = make_complaint(shop, problem_type="genuine_doubt", status="accepted")
    # What complaints.workflow._close does, then the hook, then the workflow's commit.
    second.status, second.outcome, second.upheld, second.closed_at = "closed", "resolved", True, datetime.now(UTC)
    assert len(services.on_complaint_closed(shop.id)) == 1
    db.session.rollback()  # the caller's transaction failed: no proposal either
    assert count_rows(SuspensionProposal) == 0
    second = db.session.get(Complaint, second.id)
    second.status, second.outcome, second.upheld, second.closed_at = "closed", "resolved", True, datetime.now(UTC)
    services.on_complaint_closed(shop.id)
    db.session.commit()
    assert db.session.scalar(sa.select(SuspensionProposal.pledge_id)) == pledge.id


def test_reply_partial_for_the_scan_page(app: Any, shop: Merchant) -> None:
    from flask import render_template

    with app.test_request_context("/"):
        assert "merchant-reply" not in render_template("compliance/_reply.html", merchant=shop)
        services.publish_reply(shop.owner, shop, "<b>已整改</b>")
        html = render_template("compliance/_reply.html", merchant=shop)
    assert "&lt;b&gt;已整改&lt;/b&gt;" in html  # escaped, never |safe
