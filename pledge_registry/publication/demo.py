"""Demo data for complaint publication: the last ended quarter published, with statements.

Deterministic from its seed: a few approved demo shops get that quarter's complaints (demo
shoppers, no real person), then the publication goes through the real services: drafted,
merchants told, two statements, every entry approved, published. Does nothing if that
quarter already has a publication or the demo has no staff login.
"""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from ..extensions import db
from ..localtime import LOCAL_TZ, local_today
from ..models import Complaint, ComplaintPublication, Merchant, MerchantStatus, User
from . import services
from .rules import PublicationRules, last_ended_quarter, quarter_bounds

STATEMENTS = ("本店已对涉及的商品质量问题全部整改，欢迎消费者监督。",
              "已加强售后培训，承诺七日内答复每一件投诉。")


def load(seed: int = 2020, staff_login: str = "staff@demo.invalid") -> ComplaintPublication | None:
    staff = db.session.scalar(select(User).where(User.email == staff_login))
    year, quarter = last_ended_quarter(local_today())
    if staff is None or db.session.scalar(select(ComplaintPublication.id).where(
            ComplaintPublication.year == year, ComplaintPublication.quarter == quarter)) is not None:
        return None
    rng = random.Random(seed)
    start, _end = quarter_bounds(year, quarter)
    shops = list(db.session.scalars(select(Merchant).where(Merchant.status == MerchantStatus.APPROVED)
                                    .order_by(Merchant.id).limit(6)))
    first = datetime.combine(start, time(10), tzinfo=LOCAL_TZ).astimezone(UTC)
    # The demo city's year already holds the quarter's cases; complaints of its own only without it.
    has_cases = db.session.scalar(select(Complaint.id).where(Complaint.received_at >= first).limit(1)) is not None
    for shop in [] if has_cases else shops:
        for _ in range(rng.randint(3, 6)):
            received = first + timedelta(days=rng.randint(0, 85), hours=rng.randint(0, 8))
            outcome = rng.choice(("resolved", "resolved", "resolved", "not_resolved", None))
            db.session.add(Complaint(
                idempotency_key=secrets.token_hex(16), merchant_id=shop.id, item="示例商品", problem_type="quality",
                account="示例投诉内容（演示数据）", wants=["refund"], shopper_name="演示", shopper_phone="13900000000",
                consent_version="demo", consent_at=received, received_at=received,
                acceptance_due_at=received + timedelta(days=1), completion_due_at=received + timedelta(days=9),
                accepted_at=received + timedelta(hours=3),
                status="closed" if outcome else "mediating", outcome=outcome,
                closed_at=received + timedelta(days=5) if outcome else None))
    db.session.commit()
    saved = services.current_rules()
    services.save_rules(PublicationRules(min_accepted=3, notice_workdays=0), staff)
    publication = services.draft(staff, year, quarter)
    services.save_rules(saved, staff)
    services.notify(staff, publication)
    for entry, statement in zip(publication.entries, STATEMENTS, strict=False):
        services.set_statement(entry.merchant.owner, entry, statement)
    for entry in publication.entries:
        services.decide(staff, entry, approve=True)
    services.publish(staff, publication)
    return publication
