"""The deadline settings page shows each order's legal limits beside the bureau's targets,
with the article (only where it was checked) and the source named, in both languages."""

from __future__ import annotations

from typing import Any

import pytest

from pledge_registry.complaints.labels import chinese_number
from pledge_registry.complaints.legal_rules import SAMR_ORDER_20, SAMR_ORDER_121, Step
from tests.factories import make_user
from tests.helpers import signed_in_client, text

PAGE = "/staff/complaints/settings/deadlines"


@pytest.mark.parametrize(("n", "written"), [(1, "一"), (7, "七"), (10, "十"), (14, "十四"), (20, "二十"),
                                            (21, "二十一"), (99, "九十九")])
def test_article_numbers_as_the_orders_write_them(n: int, written: str) -> None:
    assert chinese_number(n) == written


def test_order_20s_articles_are_named_and_121s_are_not() -> None:
    assert [(lim.step, lim.article) for lim in SAMR_ORDER_20.limits] == [
        (Step.ACCEPTANCE, 14), (Step.MEDIATION, 21), (Step.TERMINATION_NOTICE, 21)]
    assert {lim.article for lim in SAMR_ORDER_121.limits} == {None}


def test_the_page_in_english(app: Any) -> None:
    admin = signed_in_client(app, make_user("admin"))
    admin.set_cookie("lang", "en")
    page = admin.get(PAGE)
    assert page.status_code == 200
    body = text(page)
    assert "Measures for Handling Complaints and Reports in Market Regulation (SAMR Order No. 121)" in body
    assert "SAMR Order No. 20 of 2019" in body
    assert "60 calendar days" in body and "45 working days" in body and "15 working days, extendable once by 15" in body
    assert "Article 14" in body and "Article 21" in body and "not checked" in body
    assert "In force from 2026-04-15" in body and "No published copy of the articles" in body
    assert "1 working day<" in body or "1 working day\n" in body  # the bureau's target beside them


def test_the_page_in_chinese(app: Any) -> None:
    admin = signed_in_client(app, make_user("admin"))
    body = text(admin.get(PAGE))
    assert "《市场监督管理投诉举报处理办法》" in body and "国家市场监督管理总局令第121号" in body
    assert "《市场监督管理投诉举报处理暂行办法》" in body
    assert "第十四条" in body and "第二十一条" in body and "60个自然日" in body
    assert "Article" not in body and "calendar days" not in body


def test_only_admins_see_it(app: Any) -> None:
    for role in ("staff", "merchant"):
        assert signed_in_client(app, make_user(role)).get(PAGE).status_code == 403
