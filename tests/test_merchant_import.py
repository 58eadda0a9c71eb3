"""Merchants in bulk: files as spreadsheet programs write them (.xlsx by openpyxl, CSV in
GB18030 as Excel saves it on a Chinese Windows, UTF-8 with a BOM), row-level errors with the
credit-code check, a dry run, idempotence by credit code and address, the state the file
gives, owners by mobile number, and the search index kept in step."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from pledge_registry import demo
from pledge_registry.extensions import db
from pledge_registry.models import Merchant, MerchantEvent, MerchantSearchText, Town, User
from pledge_registry.registry import bulk
from pledge_registry.search.directory import DirectoryQuery, search_directory
from tests.factories import make_user
from tests.helpers import count_rows

pytestmark = pytest.mark.usefixtures("english")

HEADER = ["统一社会信用代码", "经营者名称", "店铺名称", "经营地址", "行业类别", "联系人", "联系电话",
          "营业时间", "状态"]
FIRM = "太仓市甲乙贸易有限公司"
CODE_A = demo.random_credit_code(random.Random(1))
CODE_B = demo.random_credit_code(random.Random(2))


def rows() -> list[list[str]]:
    return [HEADER,
            [CODE_A, FIRM, "甲乙鲜果", "城厢镇人民路1号", "餐饮", "李四", "13911112222", "9:00-21:00", "已通过"],
            [CODE_A, FIRM, "甲乙鲜果二店", "城厢镇上海路8号", "餐饮", "李四", "13911112222", "", "待审核"],
            [CODE_B, "太仓市丙丁电器商行", "丙丁电器", "城厢镇郑和路3号", "家电", "赵六", "13933334444", "", "已关闭"]]


def csv_bytes(table: list[list[str]], encoding: str) -> bytes:
    return "\r\n".join(",".join(r) for r in table).encode(encoding) + b"\r\n"


def xlsx_bytes(table: list[list[Any]]) -> bytes:
    book = Workbook()
    for r in table:
        book.active.append([int(c) if c.isdigit() and len(c) == 11 else c for c in r])  # phones as numbers
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def town(app: Any) -> Town:
    return db.session.scalar(sa.select(Town).order_by(Town.id))


@pytest.mark.parametrize(("filename", "make"), [
    ("商户.xlsx", xlsx_bytes),
    ("商户.csv", lambda t: csv_bytes(t, "gb18030")),
    ("merchants.csv", lambda t: csv_bytes(t, "utf-8-sig")),
])
def test_files_as_offices_save_them(town: Town, filename: str, make: Any) -> None:
    result = bulk.parse(town, filename, make(rows()))
    assert result.errors == [], [bulk.describe(e) for e in result.errors]
    assert bulk.load(result, None) == 3
    shops = db.session.scalars(sa.select(Merchant).order_by(Merchant.id)).all()
    assert [(m.shop_name, m.status, m.category, m.town_id) for m in shops] == [
        ("甲乙鲜果", "approved", "food", town.id), ("甲乙鲜果二店", "pending", "food", town.id),
        ("丙丁电器", "closed", "appliances", town.id)]
    assert shops[0].owner_id == shops[1].owner_id  # branches share the owner of one mobile
    assert count_rows(User) == 2 and count_rows(MerchantEvent) == 3
    # The approved shop is in the directory's index, in the same transaction.
    assert db.session.scalars(sa.select(MerchantSearchText.merchant_id)).all() == [shops[0].id]
    assert [m.id for m in search_directory(DirectoryQuery("甲乙"), 1, 20).items] == [shops[0].id]
    # Again: each shop once.
    again = bulk.parse(town, filename, make(rows()))
    assert again.errors == [] and len(again.existing) == 3 and bulk.load(again, None) == 0
    assert count_rows(Merchant) == 3


def test_row_errors_and_nothing_written(town: Town) -> None:
    bad_code = CODE_A[:-1] + ("0" if CODE_A[-1] != "0" else "1")
    table = [
        *rows(),
        [bad_code, "某公司", "某店", "某路1号", "餐饮", "王", "13911112222", "", "已通过"],
        [CODE_B, "某公司", "某店", "某路2号", "珠宝", "王", "1391111222", "", "营业"],
        [CODE_A, FIRM, "甲乙鲜果", "城厢镇人民路 1号", "餐饮", "李四", "13911112222", "", "已通过"],
    ]
    result = bulk.parse(town, "x.csv", csv_bytes(table, "utf-8"))
    found = {(e.row, e.column, e.code) for e in result.errors}
    assert found == {(5, "credit_code", "bad_credit_code"), (6, "category", "bad_category"),
                     (6, "contact_phone", "bad_phone"), (6, "status", "bad_status"),
                     (7, "address", "duplicate_in_file")}
    assert all(bulk.describe(e) != e.code for e in result.errors)
    assert bulk.load(result, None) == 0
    assert count_rows(Merchant) == 0


def test_a_staff_login_is_not_made_an_owner(town: Town) -> None:
    make_user("staff", email=None, phone="13911112222")
    result = bulk.parse(town, "x.csv", csv_bytes(rows(), "utf-8"))
    assert bulk.load(result, None) == 0
    assert [e.code for e in result.errors] == ["phone_of_staff", "phone_of_staff"]
    assert count_rows(Merchant) == 0


def test_cli_dry_run_then_import(runner: Any, town: Town, tmp_path: Path) -> None:
    path = tmp_path / "商户.csv"
    path.write_bytes(csv_bytes(rows(), "gb18030"))
    out = runner.invoke(args=["merchants", "import", str(path), "--town", town.name, "--dry-run"])
    assert out.exit_code == 0, out.output
    assert "Checking 3 row(s)" in out.output and "3 new" in out.output and "dry run" in out.output
    assert count_rows(Merchant) == 0
    out = runner.invoke(args=["merchants", "import", str(path), "--town", town.name])
    assert out.exit_code == 0, out.output
    assert "3 registered" in out.output and count_rows(Merchant) == 3
    out = runner.invoke(args=["merchants", "import", str(path), "--town", "无此镇"])
    assert out.exit_code != 0 and "no town" in out.output
    path.write_bytes(csv_bytes([HEADER[:3]], "utf-8"))
    out = runner.invoke(args=["merchants", "import", str(path), "--town", town.name])
    assert out.exit_code != 0 and "file" in out.output


def test_the_sample_file_in_docs_imports(app: Any) -> None:
    town = db.session.scalar(sa.select(Town).where(Town.name == "沙溪镇"))
    sample = Path(__file__).parent.parent / "docs" / "sample_merchants.csv"
    result = bulk.parse(town, sample.name, sample.read_bytes())
    assert result.errors == [] and len(result.new) == 4
