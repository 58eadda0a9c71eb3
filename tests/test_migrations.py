"""Migrations that convert rows: a database at the revision before, holding rows as the code
of that time wrote them, upgrades to the rows the code now reads (and downgrades back).

The shared test databases start empty at the head (tests/databases.py); these tests need a
database of their own, taken down and up between revisions, on each engine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from pledge_registry import create_app, demo
from pledge_registry.extensions import db
from pledge_registry.models import Nomination, NominationEvent
from tests import databases
from tests.factories import make_merchant, make_user
from tests.helpers import base_config

DELISTING_REASONS = "b6ccf00ced46"
BEFORE_DELISTING_REASONS = "a7d2c4e9b615"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture(params=["sqlite", "postgresql"])
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """An app on an empty database of this test's own, upgraded to the head."""
    admin = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    else:
        if not PG_URL:
            pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
        name = databases.postgresql_name() + "_migrations"
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    app = create_app(base_config(url, tmp_path))
    with app.app_context():
        upgrade(revision="heads")
        demo.ensure_places()
        yield app
        db.session.remove()
        db.engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _rows(sql: str, **params: Any) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


def _execute(sql: str, **params: Any) -> None:
    with db.engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def test_delisting_reasons_from_and_to_the_english_lines(own_database: Any) -> None:
    shop = make_merchant()
    officer = make_user("staff")
    flagged = Nomination(merchant_id=shop.id, level="demonstration", status="approved", applied_by_id=shop.owner_id,
                         delisting_reasons={"grade": {"grade": "B", "required": "A"}, "complaints": {"overdue": 3}})
    other = Nomination(merchant_id=shop.id, level="participant", status="approved", applied_by_id=shop.owner_id)
    db.session.add_all([flagged, other])
    db.session.flush()
    db.session.add_all([
        NominationEvent(nomination_id=flagged.id, from_status="submitted", to_status="town_approved",
                        actor_id=officer.id, note="推荐"),
        NominationEvent(nomination_id=flagged.id, from_status="approved", to_status="approved",
                        system_note={"kind": "flagged", "reasons": flagged.delisting_reasons}),
        NominationEvent(nomination_id=flagged.id, from_status="approved", to_status="approved",
                        system_note={"kind": "cleared"}),
        NominationEvent(nomination_id=flagged.id, from_status="approved", to_status="approved",
                        actor_id=officer.id, note="复核合格", system_note={"kind": "renewed", "until": "2027-03-14"}),
        NominationEvent(nomination_id=other.id, from_status="approved", to_status="expired"),
    ])
    db.session.commit()
    ids = (flagged.id, other.id)
    db.session.remove()

    downgrade(revision=BEFORE_DELISTING_REASONS)
    assert _rows("SELECT delisting_flag FROM nomination ORDER BY id") == [
        ("rating B below A; 3 complaint(s) overdue",), ("",)]
    assert [r[0] for r in _rows("SELECT note FROM nomination_event ORDER BY id")] == [
        "推荐", "flagged for delisting: rating B below A; 3 complaint(s) overdue",
        "meets the rules again: delisting flag cleared", "renewed until 2027-03-14: 复核合格", "title term ended"]

    # Lines exactly as the code before the revision wrote them, every rule failing.
    every_rule = ("registration no longer approved; rating not rated below B; pledges required: 1, "
                  "active long enough: 0; penalty decided on 2026-03-02; 1 complaint(s) overdue")
    _execute("UPDATE nomination SET delisting_flag = :line WHERE id = :id", line=every_rule, id=ids[1])
    _execute("UPDATE nomination_event SET note = :note WHERE note = 'meets the rules again: delisting flag cleared'",
             note="flagged for delisting: rating NR below A; pledges required: 2, active long enough: 1")

    upgrade(revision=DELISTING_REASONS)
    assert _rows("SELECT version_num FROM alembic_version") == [(DELISTING_REASONS,)]
    first, second = (db.session.get(Nomination, i) for i in ids)
    assert first.delisting_reasons == {"grade": {"grade": "B", "required": "A"}, "complaints": {"overdue": 3}}
    assert second.delisting_reasons == {
        "registration": {}, "grade": {"grade": None, "required": "B"},
        "pledges": {"required": 1, "long_enough": 0}, "penalty": {"last": "2026-03-02"},
        "complaints": {"overdue": 1}}
    events = db.session.scalars(sa.select(NominationEvent).order_by(NominationEvent.id)).all()
    assert [(e.note, e.system_note) for e in events] == [
        ("推荐", None),
        ("", {"kind": "flagged", "reasons": first.delisting_reasons}),
        ("", {"kind": "flagged", "reasons": {"grade": {"grade": None, "required": "A"},
                                             "pledges": {"required": 2, "long_enough": 1}}}),
        ("复核合格", {"kind": "renewed", "until": "2027-03-14"}),
        ("", None),
    ]
    # A unit that meets its rules is NULL, not a JSON null: the staff queue lists the flagged only.
    assert db.session.scalars(sa.select(Nomination.id).where(Nomination.delisting_reasons.is_not(None))
                              .order_by(Nomination.id)).all() \
        == list(ids)
    db.session.remove()
    # SQLite rebuilt the table to drop the old column: its indexes stand again.
    indexes = {i["name"] for i in sa.inspect(db.engine).get_indexes("nomination")}
    assert {"uq_nomination_live", "ix_nomination_status_created", "ix_nomination_merchant_id"} <= indexes
