"""The merchant search: the n-gram index kept in step with the merchant row, and the searches
over it (the directory's, of listed shops; the staff's, of every shop) finding what a plain
LIKE over the same fields finds."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from pledge_registry.extensions import db
from pledge_registry.models import (
    CommercialArea,
    Merchant,
    MerchantSearchGram,
    MerchantSearchText,
    MerchantUnlistedGram,
    MerchantUnlistedText,
    Town,
)
from pledge_registry.search import directory, index, staff
from pledge_registry.search.directory import DirectoryQuery, search_directory
from tests.factories import make_merchant, make_pledge


def snapshot() -> tuple[set[tuple], set[tuple]]:
    grams = set(db.session.execute(sa.select(*MerchantSearchGram.__table__.c)).tuples())
    texts = set(db.session.execute(sa.select(*MerchantSearchText.__table__.c)).tuples())
    return grams, texts


def unlisted_snapshot() -> tuple[set[tuple], set[tuple]]:
    grams = set(db.session.execute(sa.select(*MerchantUnlistedGram.__table__.c)).tuples())
    texts = set(db.session.execute(sa.select(*MerchantUnlistedText.__table__.c)).tuples())
    return grams, texts


def assert_index_is_a_rebuild() -> None:
    kept = snapshot(), unlisted_snapshot()
    index.rebuild()
    assert kept == (snapshot(), unlisted_snapshot())


def staff_found(text: str) -> list[int]:
    return staff.find_merchant_ids(text, 1000)


def found(text: str = "", **filters: Any) -> list[int]:
    return [m.id for m in search_directory(DirectoryQuery(text, **filters), page=1, per_page=1000).items]


def like(text: str, any_status: bool = False) -> list[int]:
    """The reference: approved shops (or shops of any status) whose fields contain the text,
    by a plain LIKE."""
    query = sa.select(Merchant.id).order_by(Merchant.id.desc())
    if not any_status:
        query = query.where(Merchant.status == "approved")
    if text:
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(sa.or_(*(sa.func.lower(c).like(pattern, escape="\\") for c in (
            Merchant.shop_name, Merchant.legal_name, Merchant.address, Merchant.credit_code))))
    return list(db.session.scalars(query))


def second_town() -> Town:
    return db.session.scalars(sa.select(Town).order_by(Town.id)).all()[1]


def test_the_index_follows_creates_edits_closes_and_deletes(app) -> None:
    shop = make_merchant(shop_name="源美物业")
    pending = make_merchant(shop_name="待审商行", status="pending")
    assert_index_is_a_rebuild()
    assert found("物业") == [shop.id] and found("待审") == []
    assert staff_found("物业") == [shop.id] and staff_found("待审") == [pending.id]
    assert {row[:2] for row in unlisted_snapshot()[1]} == {(pending.id, "pending")}
    town = second_town()
    area = db.session.scalar(sa.select(CommercialArea).where(CommercialArea.town_id == town.id))
    for column, value in [("shop_name", "恒瑞酒店"), ("legal_name", "太仓市恒瑞有限公司"),
                          ("address", "郑和路8号"), ("credit_code", "91320585MA1XYZ0000"),
                          ("town_id", town.id), ("area_id", area.id if area else None), ("category", "beauty")]:
        setattr(shop, column, value)
        db.session.commit()
        assert_index_is_a_rebuild()
    assert found("酒店", town_id=town.id, category="beauty") == [shop.id]
    assert found("xyz0") == [shop.id] and found("物业") == []
    pending.status = "approved"
    db.session.commit()
    assert found("待审") == [pending.id] and staff_found("待审") == [pending.id]
    assert unlisted_snapshot() == (set(), set())  # listed now: in the directory's rows only
    assert_index_is_a_rebuild()
    shop.status = "closed"
    db.session.commit()
    assert found("酒店") == [] and staff_found("酒店") == [shop.id]
    assert {row[:2] for row in unlisted_snapshot()[1]} == {(shop.id, "closed")}
    assert_index_is_a_rebuild()
    db.session.delete(pending)
    db.session.commit()
    assert found("待审") == [] and staff_found("待审") == []
    assert_index_is_a_rebuild()
    db.session.delete(shop)
    db.session.commit()
    assert snapshot() == (set(), set()) and unlisted_snapshot() == (set(), set())


def test_an_unsearched_column_leaves_the_index_alone(app) -> None:
    shop = make_merchant(shop_name="源美物业")
    before = snapshot()
    statements: list[str] = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    shop.opening_hours = "08:00-20:00"
    db.session.commit()
    assert not [s for s in statements if "merchant_search" in s]
    assert snapshot() == before


QUERIES = ["物", "物业", "源美物", "源美物业", "店", "测试小店1", "人民路", "郑和", "无此店", "太仓市测试",
           "9", "91", "9132", "0585", "abc", "a_b", "_", "%", "50%", "\\", "a%b", "x", "", "物" * 200,
           "业物", "有限物业"]


@pytest.fixture
def varied_shops(app) -> list[Merchant]:
    shops = [make_merchant(shop_name=name, address=address) for name, address in [
        ("源美物业", "人民路1号"), ("华兴物业服务", "郑和路2号"), ("50%折扣店", "上海路3号"),
        ("a_b商行", "新华路4号"), ("abc超市", "人民路5号"), ("a%b便利店", "县府路6号"),
        ("物业物业", "人民路7号"), ("\\反斜杠店", "人民路8号")]]
    make_merchant(shop_name="待审物业", status="pending")
    make_merchant(shop_name="已关物业", status="closed")
    make_merchant(shop_name="被拒物业", status="rejected")
    return shops


@pytest.mark.parametrize("query", QUERIES)
def test_the_search_finds_what_a_plain_like_finds(varied_shops, query: str) -> None:
    query = query[:50]
    assert found(query) == like(query)


@pytest.mark.parametrize("query", QUERIES)
def test_the_staff_search_finds_every_status_as_a_plain_like_does(varied_shops, query: str) -> None:
    assert staff_found(query) == (like(query[:directory.MAX_QUERY], any_status=True) if query else [])


def test_the_staff_search_keeps_the_newest(varied_shops) -> None:
    everything = like("物业", any_status=True)
    assert len(everything) > 3
    assert staff.find_merchant_ids("物业", 3) == everything[:3]
    assert staff.find_merchant_ids("物业", len(everything) + 5) == everything


def test_a_credit_code_fragment_finds_its_shop(varied_shops) -> None:
    shop = varied_shops[3]
    fragment = shop.credit_code[5:11]
    assert shop.id in found(fragment) and found(fragment) == like(fragment)
    assert found(fragment.lower()) == found(fragment)


def test_the_query_is_normalised_like_the_text(varied_shops) -> None:
    abc = varied_shops[4].id
    assert found("ＡＢＣ") == found("ABC") == found(" a b c ") == [abc]
    assert found("物 业") == found("物业")


def test_filters_combine_with_the_query(varied_shops) -> None:
    first = varied_shops[0]
    other = make_merchant(shop_name="源美物业二店", town_id=second_town().id, category="property")
    make_pledge(other, "returns")
    assert set(found("物业")) >= {first.id, other.id}
    assert found("物业", town_id=other.town_id) == [other.id]
    assert found("源美", category="property") == [other.id]
    assert found("源美物业", pledge_kind="returns") == [other.id]
    assert found("源美物业", pledge_kind="genuine") == []
    assert found("", town_id=other.town_id) == [other.id]


@pytest.mark.parametrize("query", ["物", "物业", "源美物业", "人民路", ""])
def test_filtered_searches_walk_either_side_and_agree(varied_shops, query: str) -> None:
    town = second_town()
    for n in range(3):  # more shops in the other town than some of the query's grams have
        make_merchant(shop_name=f"源美物业{n}", town_id=town.id, category="property")
    everywhere = like(query)
    for filters, keep in [({"town_id": town.id}, lambda m: m.town_id == town.id),
                          ({"category": "property"}, lambda m: m.category == "property"),
                          ({"town_id": town.id, "category": "food"}, lambda m: False)]:
        expected = [i for i in everywhere if keep(db.session.get(Merchant, i))]
        assert found(query, **filters) == expected, filters


def test_past_the_cap_the_count_says_more_and_paging_stops_there(app, client, monkeypatch) -> None:
    monkeypatch.setattr(directory, "COUNT_CAP", 5)
    shops = [make_merchant(shop_name=f"物业{n}") for n in range(8)]
    result = search_directory(DirectoryQuery("物业"), page=1, per_page=2)
    assert (result.total, result.capped, result.pages) == (5, True, 3)
    assert [m.id for m in result.items] == [shops[7].id, shops[6].id]
    last = search_directory(DirectoryQuery("物业"), page=99, per_page=2)
    assert (last.page, last.has_next, [m.id for m in last.items]) == (3, False, [shops[3].id])
    exact = search_directory(DirectoryQuery("物业7"), page=1, per_page=2)
    assert (exact.total, exact.capped) == (1, False)
    html = client.get("/merchants?q=物业&lang=en").get_data(as_text=True)
    assert "More than 5 shops found" in html
    html = client.get("/merchants?q=物业&lang=zh").get_data(as_text=True)
    assert "超过 5 家" in html


def test_the_directory_page_lists_matches(varied_shops, client) -> None:
    html = client.get("/merchants?q=物业").get_data(as_text=True)
    assert "源美物业" in html and "华兴物业服务" in html and "待审物业" not in html and "50%折扣店" not in html


@pytest.mark.parametrize("args", [
    {"q": "\x00"}, {"q": "物\x00业"}, {"q": "\x1f\x7f"}, {"q": "%_%"}, {"q": "物" * 200}, {"q": "\U0001f600"},
    {"q": "物业", "page": "-3"}, {"q": "物业", "page": "99999999999"}, {"town": "abc", "q": "店"},
    {"town": "99999999999999"}, {"category": "nope", "q": "店"}, {"pledge": "x"}, {"q": "\u200b\u3000"},
])
def test_odd_input_never_fails(varied_shops, client, args: dict[str, str]) -> None:
    assert client.get("/merchants", query_string=args).status_code == 200
