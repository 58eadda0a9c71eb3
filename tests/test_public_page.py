"""The cached scan page changes at the next scan after anything it shows changes.

What the page shows is not listed here by hand: `shown_columns` renders the page (HTML in
both languages, and JSON) and records every mapped column it reads, as an attribute of a
loaded row or in the WHERE clause of a query. Every such column must be declared in its
model's `__public_page__` (public_page.py), and changing any declared or shown column
through the session must bump `public_version` and change what a scan returns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ColumnProperty, InstrumentedAttribute, RelationshipProperty
from sqlalchemy.sql import visitors

from pledge_registry.database import Base
from pledge_registry.extensions import db
from pledge_registry.models import CommercialArea, Merchant, Nomination, PledgeTemplate, Rating, RatingReply, Town
from pledge_registry.models.pledges import TERM_COLUMNS
from pledge_registry.public_page import bump_versions, declarations
from tests.factories import make_merchant, make_pledge

NOW = datetime.now(UTC)
Column = tuple[str, str]  # (table, column)


def _table_of(model: type) -> str:
    return str(model.__table__.name)  # type: ignore[attr-defined]


def declared() -> set[Column]:
    return {(_table_of(model), name) for model, page in declarations().items() for name in page.columns}


def _primary_keys() -> set[Column]:
    return {(t.name, c.name) for t in Base.metadata.tables.values() for c in t.primary_key.columns}


def make_world() -> dict[str, Any]:
    """A named, rated shop with both pledges in force, and a reply beside its rating."""
    merchant = make_merchant()
    make_pledge(merchant, "genuine")
    returns = make_pledge(merchant, "returns")
    rating = Rating(merchant_id=merchant.id, grade="B", score=75, breakdown={}, model_version="test",
                    is_current=True, cause="test", computed_at=NOW)
    nomination = Nomination(merchant_id=merchant.id, level="participant", status="approved",
                            applied_by_id=merchant.owner_id, title_expires_on=date.today() + timedelta(days=200))
    reply = RatingReply(merchant_id=merchant.id, text="我们已整改。", created_at=NOW)
    db.session.add_all([rating, nomination, reply])
    db.session.commit()
    other = make_merchant()  # somewhere for a row to move to
    return {"merchant": merchant, "pledge": returns, "rating": rating, "nomination": nomination,
            "rating_reply": reply, "town": merchant.town, "commercial_area": merchant.area,
            "pledge_template": returns.template, "other": other}


_VOLATILE = re.compile(r"Page generated[^<]*|本页于[^<]*")  # the line with the render time


def scan(client: Any, code: str) -> tuple[Any, ...]:
    """What a shopper's scan returns, in every form, without the render time."""
    out: list[Any] = []
    for lang in ("zh", "en"):
        client.set_cookie("lang", lang)
        html = client.get(f"/m/{code}")
        assert html.status_code == 200
        out.append(_VOLATILE.sub("", html.get_data(as_text=True)))
    facts = client.get(f"/m/{code}.json").get_json()
    facts.pop("generated_at")
    out.append(json.dumps(facts, sort_keys=True, ensure_ascii=False))
    return tuple(out)


def version(merchant_id: int) -> int:
    return db.session.execute(sa.select(Merchant.public_version).where(Merchant.id == merchant_id)).scalar_one()


@contextmanager
def recording_reads() -> Iterator[set[Column]]:
    """Every mapped column read while the block runs: loaded attributes, the foreign keys of
    relationships followed, and the columns of each query's WHERE clause."""
    seen: set[Column] = set()
    original = InstrumentedAttribute.__get__

    def get(self: InstrumentedAttribute, instance: Any, owner: Any) -> Any:
        if instance is not None:
            prop = self.property
            if isinstance(prop, ColumnProperty):
                seen.update((c.table.name, c.name) for c in prop.columns if isinstance(c, sa.Column))
            elif isinstance(prop, RelationshipProperty):
                seen.update((c.table.name, c.name) for c in prop.local_columns)
        return original(self, instance, owner)

    def on_execute(state: Any) -> None:
        where = getattr(state.statement, "whereclause", None)
        if where is not None:
            seen.update((el.table.name, el.name) for el in visitors.iterate(where)
                        if isinstance(el, sa.Column) and isinstance(el.table, sa.Table))

    InstrumentedAttribute.__get__ = get  # type: ignore[method-assign]
    event.listen(db.session, "do_orm_execute", on_execute)
    try:
        yield seen
    finally:
        InstrumentedAttribute.__get__ = original  # type: ignore[method-assign]
        event.remove(db.session, "do_orm_execute", on_execute)


def shown_columns(client: Any, app: Any, code: str) -> set[Column]:
    """The columns the scan page and its JSON read, rendered afresh (not from the cache)."""
    app.extensions.get("scan_cache") and app.extensions["scan_cache"].clear()
    with recording_reads() as seen:
        scan(client, code)
    return seen - _primary_keys() - {("merchant", "public_version")}


def test_every_column_the_scan_page_shows_is_declared(app: Any, client: Any) -> None:
    world = make_world()
    shown = shown_columns(client, app, world["merchant"].badge_code)
    # The recorder sees reads of every kind: attributes, relationships, query criteria.
    assert {("merchant", "shop_name"), ("merchant", "town_id"), ("pledge", "template_id"),
            ("rating", "is_current"), ("nomination", "title_expires_on"), ("town", "name")} <= shown
    assert shown - declared() == set(), "declare these in the model's __public_page__"


def _new_value(obj: Any, name: str, world: dict[str, Any]) -> Any:
    """A different value for the column, valid for its constraints and visible if shown."""
    choices = {"status": {"merchant": "closed", "pledge": "suspended", "nomination": "delisted"},
               "category": {"merchant": "clothing"}, "level": {"nomination": "demonstration"},
               "grade": {"rating": "A"}, "refund_method": {"pledge": "cash"}}
    table = obj.__table__.name
    if name in choices:
        return choices[name][table]
    value = getattr(obj, name)
    if name == "merchant_id":
        return world["other"].id
    if name == "town_id":
        return db.session.scalar(sa.select(Town.id).where(Town.id != value).order_by(Town.id))
    if name == "area_id":
        return db.session.scalar(sa.select(CommercialArea.id).where(CommercialArea.id != value)
                                 .order_by(CommercialArea.id))
    if name == "badge_code":
        return "zz" + value[2:]
    if name == "credit_code":
        return value[:-1] + ("0" if value[-1] != "0" else "1")
    if isinstance(value, bool):
        return not value
    if isinstance(value, datetime):
        return value - timedelta(days=1)
    if isinstance(value, date):
        return value + timedelta(days=1)
    if isinstance(value, int | float):
        return value + 100 if name == "version" else value - 1 if isinstance(value, float) else value + 1
    if isinstance(value, list):
        return [*value, "fresh"]
    if name == "removed_at":
        return NOW
    if isinstance(value, str):
        return value + "改"
    raise AssertionError(f"no test value for {table}.{name} ({value!r})")


def _cases() -> list[Column]:
    """Every declared column; the test above makes every column the page reads one of them."""
    return sorted(declared())


# render_terms fills in a template's title too, but the scan page prints only the terms'
# paragraphs: a new title bumps the version (declared) without changing what a scan shows.
READ_NOT_PRINTED = {("pledge_template", "title_zh"), ("pledge_template", "title_en")}
# The state a column needs to be on the page at all.
PREPARE = {("pledge", "status_note"): {"status": "suspended"}}


@pytest.mark.parametrize("column", _cases(), ids="{0[0]}.{0[1]}".format)
def test_a_change_to_a_shown_column_shows_at_the_next_scan(app: Any, client: Any, column: Column) -> None:
    table, name = column
    world = make_world()
    merchant = world["merchant"]
    obj = world[table]
    for prepared, value in PREPARE.get(column, {}).items():
        setattr(obj, prepared, value)
    db.session.commit()
    before, before_version = scan(client, merchant.badge_code), version(merchant.id)

    setattr(obj, name, _new_value(obj, name, world))
    if table == "pledge" and name in TERM_COLUMNS:
        # A signed pledge's terms never change in place; new terms are a new pledge (below).
        with pytest.raises(ValueError, match="terms cannot change"):
            db.session.commit()
        db.session.rollback()
        return
    db.session.commit()

    assert version(merchant.id) > before_version
    after = scan(client, db.session.get(Merchant, merchant.id).badge_code)
    if column in READ_NOT_PRINTED:
        assert after == before
    else:
        assert after != before


def test_a_new_pledge_and_a_deleted_row_show_at_the_next_scan(app: Any, client: Any) -> None:
    world = make_world()
    merchant = world["merchant"]
    before, before_version = scan(client, merchant.badge_code), version(merchant.id)
    world["pledge"].status = "superseded"
    db.session.flush()
    make_pledge(merchant, "returns", return_days=30)  # renewed with new terms
    assert version(merchant.id) > before_version
    assert scan(client, merchant.badge_code) != before

    before, before_version = scan(client, merchant.badge_code), version(merchant.id)
    db.session.delete(db.session.get(Nomination, world["nomination"].id))
    db.session.commit()
    assert version(merchant.id) > before_version
    assert scan(client, merchant.badge_code) != before


def test_one_bump_per_merchant_per_flush_and_none_for_what_the_page_does_not_show(app: Any) -> None:
    world = make_world()
    merchant, pledge = world["merchant"], world["pledge"]
    start = version(merchant.id)
    merchant.contact_phone = "13900000000"   # not on the public page
    world["nomination"].town_reason = "ok"   # nor this
    db.session.commit()
    assert version(merchant.id) == start
    merchant.shop_name = "新店名"
    merchant.opening_hours = "10:00-22:00"
    pledge.status = "suspended"
    db.session.flush()
    assert merchant.public_version == start + 1  # the loaded object is not left stale
    db.session.commit()
    assert version(merchant.id) == start + 1


def test_the_masking_hides_only_the_render_time(app: Any, client: Any) -> None:
    """A bump with no change re-renders the page; what a scan returns must then be equal,
    or the tests above could pass on the render time alone."""
    world = make_world()
    merchant = world["merchant"]
    before = scan(client, merchant.badge_code)
    bump_versions([merchant.id])
    db.session.commit()
    assert scan(client, merchant.badge_code) == before


def test_bump_versions_takes_any_number_of_merchants(app: Any) -> None:
    merchant = make_merchant()
    start = version(merchant.id)
    bump_versions([merchant.id, *range(10**6, 10**6 + 40_000)])  # more than SQLite's parameter limit
    db.session.commit()
    assert version(merchant.id) == start + 1


def test_a_declaration_naming_no_column_is_refused(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from pledge_registry import public_page

    monkeypatch.setattr(PledgeTemplate, "__public_page__",
                        public_page.PublicPage({"titel_zh"}, merchant="id"))
    with pytest.raises(RuntimeError, match="titel_zh"):
        public_page.init_app(app)
