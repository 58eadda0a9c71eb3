"""Complaint publication: counting a quarter under the configured rules, telling the
merchants, their statements, the officer's decision per entry, publishing, and the public
page and CSV that state the period and rules and publish nothing personal."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from pledge_registry.extensions import db
from pledge_registry.localtime import local_today
from pledge_registry.models import (
    ComplaintPublication,
    Merchant,
    OutboxMessage,
    PublicationEntry,
    PublicationEntryEvent,
)
from pledge_registry.publication import services
from pledge_registry.publication.rules import PublicationRules, last_ended_quarter, quarter_bounds, share
from tests.factories import make_complaint, make_merchant, make_user
from tests.helpers import form_post, login, signed_in_client, text

pytestmark = pytest.mark.usefixtures("english")

IN_Q2 = datetime(2026, 5, 10, 3, 0, tzinfo=UTC)
SHOPPER_PHONE = "13987654321"   # the factories' complaint
SHOPPER_NAME = "王五"
ACCOUNT = "车骑了三天电池就鼓包了，商家不给退"
CONTACT_PHONE = "13812345678"   # the factories' merchant contact


def accepted(merchant: Merchant, outcome: str | None = None, **overrides: Any) -> Any:
    fields: dict[str, Any] = {"status": "accepted", "accepted_at": IN_Q2 + timedelta(hours=5)}
    if outcome:
        fields.update(status="closed", outcome=outcome, closed_at=IN_Q2 + timedelta(days=3))
    fields.update(overrides)
    return make_complaint(merchant, received_at=fields.pop("received_at", IN_Q2), **fields)


@pytest.fixture
def quarter(app: Any) -> dict[str, Any]:
    """Shop A: 4 complaints in 2026Q2 (2 resolved, 1 mediating, 1 not accepted), plus what is
    not counted; shop B: 1 accepted complaint (under the rule of 3)."""
    a = make_merchant(shop_name="华发鲜果铺")
    b = make_merchant(shop_name="南洋电器")
    first = accepted(a, "resolved")
    accepted(a, "resolved")
    accepted(a, status="mediating")
    make_complaint(a, received_at=IN_Q2)
    accepted(a, "resolved", duplicate_of_id=first.id)                       # a second filing of one case
    accepted(a, "resolved", request_type="report")                          # a report is not a complaint
    accepted(a, "resolved", received_at=datetime(2026, 7, 1, 1, tzinfo=UTC))   # 1 July 09:00 local: Q3
    accepted(a, "resolved", received_at=datetime(2026, 3, 31, 15, 30, tzinfo=UTC))  # 31 March 23:30 local: Q1
    accepted(b, "resolved")
    staff = make_user("staff")
    admin = make_user("admin")
    return {"a": a, "b": b, "staff": staff, "admin": admin}


def in_english(client: Any) -> Any:
    client.set_cookie("lang", "en")
    return client


def draft_q2(client: Any, staff: Any) -> ComplaintPublication:
    login(client, staff)
    response = form_post(client, "/staff/publications", {"year": "2026", "quarter": "2"})
    assert response.status_code == 302, text(response)[:800]
    return db.session.scalar(sa.select(ComplaintPublication))


def test_pure_rules() -> None:
    assert quarter_bounds(2026, 4) == (date(2026, 10, 1), date(2027, 1, 1))
    assert quarter_bounds(2026, 1) == (date(2026, 1, 1), date(2026, 4, 1))
    assert last_ended_quarter(date(2026, 2, 1)) == (2025, 4)
    assert last_ended_quarter(date(2026, 12, 2)) == (2026, 3)
    assert str(share(2, 3)) == "66.7" and share(1, 0) is None and str(share(3, 3)) == "100.0"
    with pytest.raises(ValueError):
        PublicationRules.from_dict({"min_accepted": 0})
    with pytest.raises(ValueError):
        PublicationRules.from_dict({"notice_workdays": 31})


def test_whole_flow_and_nothing_personal_published(app: Any, client: Any, quarter: dict[str, Any]) -> None:
    a, b = quarter["a"], quarter["b"]
    admin = in_english(signed_in_client(app, quarter["admin"]))
    response = form_post(admin, "/staff/publications/rules", {"min_accepted": "3", "notice_workdays": "0"})
    assert response.status_code == 302

    publication = draft_q2(client, quarter["staff"])
    entries = publication.entries
    assert [(e.merchant_id, e.received, e.accepted, e.mediation_ended, e.resolved) for e in entries] == [
        (a.id, 4, 3, 2, 2)]
    assert publication.rules["min_accepted"] == 3
    assert form_post(client, "/staff/publications", {"year": "2026", "quarter": "2"}).status_code == 409

    # Nothing is public before publication.
    anonymous = in_english(app.test_client())
    assert anonymous.get("/complaint-publication/2026/2").status_code == 404

    response = form_post(client, f"/staff/publications/{publication.id}/notify", {},
                         form_url=f"/staff/publications/{publication.id}")
    assert response.status_code == 302
    message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.template == "publication_notice"))
    assert message is not None and message.recipient == a.contact_phone
    assert message.context["period"] == "2026Q2"

    entry = entries[0]
    owner = in_english(signed_in_client(app, db.session.get(Merchant, a.id).owner))
    assert "华发鲜果铺 is included" in text(owner.get("/portal/"))
    url = f"/portal/publication-entries/{entry.id}/statement"
    assert owner.get(url).status_code == 200
    assert form_post(owner, url, {"statement": "已整改\x07"}).status_code == 400
    long = form_post(owner, url, {"statement": "很" * 201})
    assert long.status_code == 400 and "很" * 201 in text(long)  # input kept
    assert form_post(owner, url, {"statement": "本店已全部整改，欢迎监督。"}).status_code == 302

    other = signed_in_client(app, db.session.get(Merchant, b.id).owner)
    assert other.get(url).status_code == 404
    assert form_post(other, url, {"statement": "x"}, form_url="/portal/").status_code == 404

    detail = f"/staff/publications/{publication.id}"
    publish = f"{detail}/publish"
    assert form_post(client, publish, {}, form_url=detail).status_code == 409  # undecided
    decision = f"/staff/publication-entries/{entry.id}/decision"
    prefix = f"e{entry.id}-"
    assert form_post(client, decision, {prefix + "withhold": "1"}, form_url=detail).status_code == 400
    assert form_post(client, decision, {prefix + "approve": "1"}, form_url=detail).status_code == 302

    # A change of statement after approval puts the entry back before the officer.
    assert form_post(owner, url, {"statement": "本店已全部整改。"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(PublicationEntry, entry.id).status == "pending"
    assert form_post(client, publish, {}, form_url=detail).status_code == 409
    assert form_post(client, decision, {prefix + "approve": "1"}, form_url=detail).status_code == 302
    assert form_post(client, publish, {}, form_url=detail).status_code == 302
    events = db.session.scalars(sa.select(PublicationEntryEvent.to_status).order_by(PublicationEntryEvent.id)).all()
    assert events == ["pending", "approved", "pending", "approved"]

    page = anonymous.get("/complaint-publication/2026/2")
    assert page.status_code == 200
    body = text(page)
    for shown in ("华发鲜果铺", "本店已全部整改。", "66.7%", "100.0%", "2026-04-01", "2026-06-30",
                  "at least 3 accepted complaints"):
        assert shown in body
    assert "南洋电器" not in body
    csv = anonymous.get("/complaint-publication/2026/2.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    data = csv.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "Complaint publication,2026Q2"
    assert lines[1] == "Period,2026-04-01,2026-06-30"
    assert "at least 3 accepted complaints" in lines[2]
    assert f"华发鲜果铺,{a.legal_name},{a.credit_code}," in data.decode("utf-8-sig")
    assert ",4,3,66.7%,100.0%,本店已全部整改。" in lines[-1]
    for secret in (SHOPPER_PHONE, SHOPPER_NAME, ACCOUNT, CONTACT_PHONE, a.contact_name, "电动自行车"):
        assert secret not in body
        assert secret not in data.decode("utf-8-sig")
    assert "/complaint-publication/2026/2" in text(anonymous.get("/complaint-publication"))
    assert 'href="/complaint-publication"' in text(anonymous.get("/"))  # the footer's link

    # Published: no more statements, no more decisions.
    assert form_post(owner, url, {"statement": "又改了"}).status_code == 409


def test_chinese_public_page(app: Any, quarter: dict[str, Any]) -> None:
    publication = services.draft(quarter["staff"], 2026, 2)
    services.save_rules(PublicationRules(min_accepted=3, notice_workdays=0), quarter["admin"])
    publication.rules = {**publication.rules, "notice_workdays": 0}
    db.session.commit()
    services.notify(quarter["staff"], publication)
    services.decide(quarter["staff"], publication.entries[0], approve=True)
    services.publish(quarter["staff"], publication)
    chinese = app.test_client()
    body = text(chinese.get("/complaint-publication/2026/2"))
    assert "消费投诉公示" in body and "调解成功率" in body
    assert "Complaint publication" not in body


def test_refusals(app: Any, client: Any, quarter: dict[str, Any]) -> None:
    login(client, quarter["staff"])
    year, q = local_today().year, (local_today().month - 1) // 3 + 1
    response = form_post(client, "/staff/publications", {"year": str(year), "quarter": str(q)})
    assert response.status_code == 400 and "has not ended" in text(response)
    publication = services.draft(quarter["staff"], 2026, 2)
    # The notice period (5 working days by default) runs: no publication yet.
    services.notify(quarter["staff"], publication)
    services.decide(quarter["staff"], publication.entries[0], approve=False, note="数据核实中")
    with pytest.raises(services.PublicationError) as caught:
        services.publish(quarter["staff"], publication)
    assert caught.value.code == "notice_running"
    later = datetime.combine(publication.notice_ends_on, datetime.min.time(), tzinfo=UTC) + timedelta(hours=2)
    services.publish(quarter["staff"], publication, now=later)
    # A withheld entry is not published.
    assert "华发鲜果铺" not in text(in_english(app.test_client()).get("/complaint-publication/2026/2"))
    with pytest.raises(services.PublicationError):
        services.notify(quarter["staff"], publication)


def test_merchants_and_stations_cannot_run_it(app: Any, quarter: dict[str, Any]) -> None:
    merchant = signed_in_client(app, db.session.get(Merchant, quarter["a"].id).owner)
    assert merchant.get("/staff/publications").status_code == 403
    staff = signed_in_client(app, quarter["staff"])
    assert staff.get("/staff/publications/rules").status_code == 403  # admins only
    assert staff.get("/staff/publications").status_code == 200


def test_demo_publishes_the_last_quarter(app: Any, runner: Any) -> None:
    out = runner.invoke(args=["demo", "load", "--merchants", "30"])
    assert out.exit_code == 0, out.output
    year, quarter = last_ended_quarter(local_today())
    publication = db.session.scalar(sa.select(ComplaintPublication))
    assert (publication.year, publication.quarter, publication.status) == (year, quarter, "published")
    assert publication.entries and sum(1 for e in publication.entries if e.statement) >= 1
    body = text(in_english(app.test_client()).get(f"/complaint-publication/{year}/{quarter}"))
    assert publication.entries[0].shop_name in body and "13900000000" not in body
