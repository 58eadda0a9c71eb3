"""The migrations that add the business tallies and the open cases by deadline day, on a
database with complaints in it: the rows they write are those a fresh count makes, on both
engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from pledge_registry.analysis import tally
from pledge_registry.extensions import db
from pledge_registry.models import ComplaintTally, Town
from tests.factories import make_complaint, make_merchant

BEFORE = "c5e1a7d3f920"   # the revision before the business tallies


def business_rows() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintTally)
                             .where(ComplaintTally.dimension == "business")) or 0


def test_an_existing_database_gets_the_business_tallies_a_recount_would_make(app: Any) -> None:
    t1, t2 = db.session.scalars(sa.select(Town).order_by(Town.id).limit(2))
    chain = [make_merchant(town_id=town.id, credit_code="91320585MA1CHAIN0X") for town in (t1, t2, t2)]
    single = make_merchant(town_id=t1.id)
    start = datetime(2026, 9, 29, 20, tzinfo=UTC)   # across a month's end in local time
    for i, shop in enumerate([*chain, single, chain[0]]):
        for day in range(i + 1):
            received = start + timedelta(days=day, hours=3 * i)
            make_complaint(shop, received_at=received, commit=False, request_type="report" if i == 4 else "complaint")
    db.session.commit()
    expected = {k: v for k, v in tally.recount(db.session).items() if k[4] == "business"}
    assert expected and business_rows() == len(expected)
    db.session.remove()

    downgrade(revision=BEFORE)   # the database as it stood: merchant rows, no business rows
    assert business_rows() == 0
    db.session.remove()
    upgrade(revision="heads")

    assert {k: v for k, v in tally.stored(db.session).items() if k[4] == "business"} == expected
    assert tally.stored(db.session) == tally.recount(db.session)


OPEN_BEFORE = "b6ccf00ced46"   # the revision before the open cases by deadline day


def test_an_existing_database_gets_the_open_cases_by_deadline_a_recount_would_make(app: Any) -> None:
    t1, t2 = db.session.scalars(sa.select(Town).order_by(Town.id).limit(2))
    shops = [make_merchant(town_id=t1.id, category="food"),
             make_merchant(town_id=t2.id, credit_code="91320585MA1CHAIN0X")]
    start = datetime(2026, 11, 3, 15, 30, tzinfo=UTC)   # 23:30 local: the deadlines' days differ from UTC's
    for i, status in enumerate(("received", "accepted", "with_merchant", "mediating", "received", "closed")):
        received = start + timedelta(days=i)
        closing = {"outcome": "resolved", "closed_at": received + timedelta(days=1)} if status == "closed" else {}
        make_complaint(shops[i % 2], received_at=received, commit=False, status=status,
                       request_type="report" if i == 4 else "complaint",
                       accepted_at=None if status == "received" else received + timedelta(hours=2),
                       acceptance_due_at=received + timedelta(days=1, hours=i),
                       completion_due_at=received + timedelta(days=10, minutes=17 * i), **closing)
    db.session.commit()
    expected = tally.recount_open(db.session)
    assert len({k[2] for k in expected}) == 2 and tally.stored_open(db.session) == expected
    db.session.remove()

    downgrade(revision=OPEN_BEFORE)
    assert not sa.inspect(db.engine).has_table("open_case_tally")
    db.session.remove()
    upgrade(revision="heads")

    assert tally.stored_open(db.session) == expected
