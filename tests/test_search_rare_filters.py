"""The search by a grade or a unit title that few shops hold walks those shops (not every
listed shop): the same answer as probing each listed shop, in the same order, with the
text, the filters and the listing still applied."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from pledge_registry.extensions import db
from pledge_registry.localtime import local_today
from pledge_registry.models import Nomination
from pledge_registry.search import directory
from pledge_registry.search.directory import DirectoryQuery, search_directory
from tests.factories import make_merchant, make_rating


def _title(shop: Any, level: str, days: int = 100) -> None:
    db.session.add(Nomination(merchant_id=shop.id, level=level, status="approved", applied_by_id=shop.owner_id,
                              title_expires_on=local_today() + timedelta(days=days)))
    db.session.commit()


@pytest.fixture
def shops(app: Any) -> dict[str, Any]:
    plain = [make_merchant(shop_name=f"鑫瑞物业{i}号", category="property") for i in range(12)]
    for shop in plain:
        make_rating(shop, "B")
    rated = [make_merchant(shop_name="鑫瑞物业甲", category="property"),
             make_merchant(shop_name="鑫瑞物业乙", category="food"),
             make_merchant(shop_name="华发咖啡馆", category="food")]
    for shop in rated:
        make_rating(shop, "A")
    make_rating(make_merchant(shop_name="鑫瑞物业丙", status="pending"), "A")  # not listed
    _title(rated[0], "demonstration")
    _title(rated[2], "demonstration")
    _title(plain[0], "demonstration", days=-1)  # expired yesterday
    return {"plain": plain, "rated": rated}


def _ids(query: DirectoryQuery) -> list[int]:
    return [m.id for m in search_directory(query, page=1, per_page=50).items]


def _statements(query: DirectoryQuery) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        _ids(query)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen


@pytest.mark.parametrize("query, expected", [
    (DirectoryQuery(grade="A"), ["华发咖啡馆", "鑫瑞物业乙", "鑫瑞物业甲"]),
    (DirectoryQuery(text="物业", grade="A"), ["鑫瑞物业乙", "鑫瑞物业甲"]),
    (DirectoryQuery(text="鑫瑞物业", grade="A", category="property"), ["鑫瑞物业甲"]),
    (DirectoryQuery(text="物", grade="A", oldest_first=True), ["鑫瑞物业甲", "鑫瑞物业乙"]),
    (DirectoryQuery(unit_level="demonstration"), ["华发咖啡馆", "鑫瑞物业甲"]),
    (DirectoryQuery(text="物业", unit_level="demonstration", grade="A"), ["鑫瑞物业甲"]),
    (DirectoryQuery(text="咖啡", grade="A", town_id=-1), []),
    (DirectoryQuery(grade="C"), []),
])
def test_a_rare_grade_or_title_finds_what_probing_finds(shops, query, expected) -> None:
    names = {m.id: m.shop_name for group in shops.values() for m in group}
    assert [names[i] for i in _ids(query)] == expected
    # the same answer when the holders are not walked (every listed shop probed)
    original = directory._rare_holders
    directory._rare_holders = lambda *_args: None  # type: ignore[assignment]
    try:
        assert [names[i] for i in _ids(query)] == expected
    finally:
        directory._rare_holders = original  # type: ignore[assignment]


def test_the_holders_are_walked_only_when_rarer(shops) -> None:
    # grade A: 3 listed holders, fewer than 物业's 14 shops: the ratings are walked
    assert "ORDER BY rating.merchant_id DESC" in " ".join(_statements(DirectoryQuery(text="物业", grade="A")))
    # grade B: 12 holders, more than 华发's one shop: the gram is walked, the grade probed
    common = " ".join(_statements(DirectoryQuery(text="华发", grade="B")))
    assert "ORDER BY rating.merchant_id" not in common and "merchant_search_gram" in common
    assert _ids(DirectoryQuery(text="华发", grade="B")) == []
    assert len(_ids(DirectoryQuery(text="物业", grade="B"))) == 12
