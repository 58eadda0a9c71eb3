"""Rows for tests: `make_<thing>(**overrides)` writes one, committed, with plausible values
for every field a test does not care about. Each needs an app context (the `app` fixture).

Rows are written straight into the tables unless the name says otherwise: the services
that make them in production have tests of their own.
"""

from __future__ import annotations

import itertools
import random
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from pledge_registry import demo
from pledge_registry.complaints import filing
from pledge_registry.complaints.workflow import NewComplaint
from pledge_registry.extensions import db
from pledge_registry.models import (
    Complaint,
    Merchant,
    Pledge,
    PledgeTemplate,
    Rating,
    SupervisionStation,
    SurveyResponse,
    Town,
    User,
    address_key,
)
from tests.helpers import FAST_SCRYPT, SHOPPER_NAME, SHOPPER_PHONE, TEST_PASSWORD

_HASH = generate_password_hash(TEST_PASSWORD, method=FAST_SCRYPT)
_counter = itertools.count()


def make_user(role: str = "merchant", **overrides: Any) -> User:
    """A user who signs in with TEST_PASSWORD."""
    n = next(_counter)
    fields: dict[str, Any] = {"email": f"user{n}@example.test", "display_name": f"User {n}",
                              "password_hash": _HASH, "role": role}
    fields.update(overrides)
    user = User(**fields)
    db.session.add(user)
    db.session.commit()
    return user


def make_station_officer(station: SupervisionStation, **overrides: Any) -> User:
    """An officer of a supervision station: sees only that station's cases."""
    return make_user("station", station_id=station.id, **overrides)


def make_merchant(owner: User | None = None, status: str = "approved", **overrides: Any) -> Merchant:
    """A shop in the first town (and its first commercial area), owned by a new user unless given."""
    owner = owner or make_user()
    town = db.session.scalar(sa.select(Town).order_by(Town.id))
    n = next(_counter)
    fields: dict[str, Any] = {
        "owner_id": owner.id, "credit_code": demo.random_credit_code(random.Random(n)),
        "legal_name": f"太仓市测试{n}有限公司", "shop_name": f"测试小店{n}", "address": f"人民路{n}号",
        "town_id": town.id, "area_id": town.areas[0].id if town.areas else None, "category": "food",
        "contact_name": "张三", "contact_phone": "13812345678", "opening_hours": "09:00-21:00",
        "status": status,
    }
    fields.update(overrides)
    fields.setdefault("address_key", address_key(fields["address"]))
    merchant = Merchant(**fields)
    db.session.add(merchant)
    db.session.commit()
    return merchant


def make_pledge(merchant: Merchant, kind: str = "genuine", status: str = "active", **overrides: Any) -> Pledge:
    """A pledge on the newest template of `kind`; in force for the past 10 days when `status` implies it."""
    template = db.session.scalar(sa.select(PledgeTemplate).where(PledgeTemplate.kind == kind)
                                 .order_by(PledgeTemplate.version.desc()))
    now = datetime.now(UTC)
    fields: dict[str, Any] = {"merchant_id": merchant.id, "kind": kind, "template_id": template.id,
                              "status": status, "signed_by_id": merchant.owner_id,
                              "submitted_at": now}
    if kind == "returns":
        fields.update(return_days=15, refund_method="original", refund_days=3,
                      conditions="商品完好", excluded_goods=["custom"])
    if status in ("active", "suspended", "revoked", "expired"):
        fields.update(activated_at=now - timedelta(days=10), expires_at=now + timedelta(days=355))
    fields.update(overrides)
    pledge = Pledge(**fields)
    db.session.add(pledge)
    db.session.commit()
    db.session.refresh(merchant)
    return pledge


def make_pledged_merchant(since: datetime, **overrides: Any) -> Merchant:
    """An approved shop with both pledges in force since `since`."""
    merchant = make_merchant(**overrides)
    for kind in ("genuine", "returns"):
        make_pledge(merchant, kind, activated_at=since)
    return merchant


_SCORES = {"A": 90, "B": 75, "C": 60, "D": 40}


def make_rating(merchant: Merchant, grade: str = "B", computed_at: datetime | None = None) -> Rating:
    """The shop's current rating, with `grade` (the one it had before is kept as history)."""
    db.session.execute(sa.update(Rating).where(Rating.merchant_id == merchant.id).values(is_current=False))
    rating = Rating(merchant_id=merchant.id, grade=grade, score=_SCORES.get(grade, 0), breakdown={},
                    model_version="test", is_current=True, cause="test",
                    computed_at=computed_at or datetime.now(UTC))
    db.session.add(rating)
    db.session.commit()
    return rating


def make_station(area_id: int, name: str | None = None) -> SupervisionStation:
    """A consumer-rights supervision station for the commercial area `area_id`."""
    station = SupervisionStation(name=name or f"测试监督站{next(_counter)}", area_id=area_id)
    db.session.add(station)
    db.session.commit()
    return station


def make_complaint(merchant: Merchant, received_at: datetime | None = None, survey: str | None = None,
                   commit: bool = True, **overrides: Any) -> Complaint:
    """A complaint received at `received_at` (now by default) and not yet accepted; the
    overrides move it on. `survey` adds the shopper's answer to the satisfaction survey.
    With commit=False it is only added to the session: many cases, one flush (one tally update)."""
    received = received_at or datetime.now(UTC)
    fields: dict[str, Any] = {
        "idempotency_key": secrets.token_hex(16), "merchant_id": merchant.id, "item": "电动自行车",
        "problem_type": "quality", "account": "车骑了三天电池就鼓包了，商家不给退", "wants": ["refund"],
        "shopper_name": "王五", "shopper_phone": "13987654321", "consent_version": "test",
        "consent_at": received, "received_at": received, "status": "received",
        "acceptance_due_at": received + timedelta(days=5), "completion_due_at": received + timedelta(days=20),
    }
    fields.update(overrides)
    complaint = Complaint(**fields)
    db.session.add(complaint)
    if not commit:
        return complaint
    db.session.flush()
    if survey:
        db.session.add(SurveyResponse(complaint_id=complaint.id, answer=survey))
    db.session.commit()
    return complaint


def new_complaint(merchant: Merchant, **overrides: Any) -> NewComplaint:
    """What a shopper's complaint form hands the workflow (from SHOPPER_PHONE), with a key of its own."""
    fields: dict[str, Any] = {
        "idempotency_key": secrets.token_hex(16), "merchant_id": merchant.id, "request_type": "complaint",
        "item": "电动自行车", "purchased_on": None, "amount_paid_cents": 259900, "problem_type": "quality",
        "account": "骑了两天电池就坏了。", "wants": ("refund",), "shopper_name": SHOPPER_NAME,
        "shopper_phone": SHOPPER_PHONE, "consent": True,
    }
    fields.update(overrides)
    return NewComplaint(**fields)


def make_filed_complaint(merchant: Merchant, now: datetime | None = None, **overrides: Any) -> Complaint:
    """A complaint filed through the workflow (deadlines, station, tracking code, messages)."""
    complaint, created = filing.file_complaint(new_complaint(merchant, **overrides), now=now)
    assert created, "filed again under a key already used"
    return complaint
