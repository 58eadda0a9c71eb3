"""Importing inspections and penalties: row-level errors, encodings, .xlsx, all-or-nothing,
through the CLI (with its progress bar) and the staff page."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from pledge_registry.compliance import importer, services
from pledge_registry.extensions import db
from pledge_registry.models import Inspection, Merchant, Penalty
from tests.factories import make_merchant, make_user
from tests.helpers import count_rows, form_post, login

pytestmark = pytest.mark.usefixtures("english")

TODAY = date(2025, 6, 30)


@pytest.fixture
def shops(app: Any) -> tuple[Merchant, Merchant]:
    first = make_merchant(address="人民南路1号")
    # A branch: same credit code, another address.
    second = make_merchant(credit_code=first.credit_code, address="上海东路8号")
    return first, second


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    text = "\n".join(",".join(cell for cell in row) for row in rows) + "\n"
    return text.encode(encoding)


def count(model: Any) -> int:
    db.session.rollback()
    return count_rows(model)


INSPECTION_HEADER = ["统一社会信用代码", "经营地址", "抽查日期", "抽查内容", "抽查结果", "发现问题"]
PENALTY_HEADER = ["credit code", "shop address", "case number", "decision date", "what for", "amount"]


def test_good_inspection_rows_in_chinese(shops: tuple[Merchant, Merchant]) -> None:
    a, b = shops
    data = csv_bytes([INSPECTION_HEADER,
                      [a.credit_code, a.address, "2025-03-05", "进货凭证", "合格", ""],
                      [b.credit_code, "上海东路 8号", "2025/3/6", "价格标签", "不合格", "未明码标价"],
                      ["", "", "", "", "", ""],
                      [a.credit_code, a.address, "2025年3月7日", "计量器具", "passed", ""]])
    result = importer.parse("inspections", "x.csv", data, today=TODAY)
    assert result.errors == []
    assert [(m, d.inspected_on, d.result) for m, d in result.inspections] == [
        (a.id, date(2025, 3, 5), "passed"), (b.id, date(2025, 3, 6), "failed"), (a.id, date(2025, 3, 7), "passed")]
    assert importer.load(result, None) == 3
    assert count(Inspection) == 3


@pytest.mark.parametrize(("row", "column", "code"), [
    (["{code}", "{address}", "2025-13-01", "进货凭证", "合格", ""], "inspected_on", "bad_date"),
    (["{code}", "{address}", "yesterday", "进货凭证", "合格", ""], "inspected_on", "bad_date"),
    (["{code}", "{address}", "2099-01-01", "进货凭证", "合格", ""], "inspected_on", "future_date"),
    (["{code}", "不存在的地址", "2025-03-05", "进货凭证", "合格", ""], "address", "unknown_shop"),
    (["91320585MA1XXXXXXX", "{address}", "2025-03-05", "进货凭证", "合格", ""], "credit_code", "bad_credit_code"),
    (["{code}", "", "2025-03-05", "进货凭证", "合格", ""], "address", "address_needed"),
    (["{code}", "{address}", "2025-03-05", "进货凭证", "还行", ""], "result", "bad_result"),
    (["{code}", "{address}", "2025-03-05", "进货凭证", "不合格", ""], "findings", "findings_required"),
    (["{code}", "{address}", "2025-03-05", "", "合格", ""], "subject", "required"),
])
def test_inspection_row_errors(shops: tuple[Merchant, Merchant], row: list[str], column: str, code: str) -> None:
    a, _ = shops
    good = [a.credit_code, a.address, "2025-03-01", "价格标签", "合格", ""]
    bad = [c.format(code=a.credit_code, address=a.address) for c in row]
    result = importer.parse("inspections", "x.csv", csv_bytes([INSPECTION_HEADER, good, bad]), today=TODAY)
    assert [(e.row, e.column, e.code) for e in result.errors] == [(3, column, code)]
    assert importer.describe(result.errors[0])  # a sentence for every code
    # All or nothing: the good row is not loaded either.
    assert importer.load(result, None) == 0
    assert count(Inspection) == 0
    # --partial loads the good row.
    assert importer.load(result, None, partial=True) == 1
    assert count(Inspection) == 1


def test_unknown_merchant_duplicate_case_and_bad_amount(shops: tuple[Merchant, Merchant], app: Any) -> None:
    a, b = shops
    services.record_penalty(make_user("staff"), a,
                            services.PenaltyData("太市监罚〔2025〕1号", date(2025, 1, 1), "x", 0))
    unknown = make_merchant().credit_code  # a valid code of a shop now closed
    db.session.execute(sa.update(Merchant).where(Merchant.credit_code == unknown).values(status="closed"))
    db.session.commit()
    data = csv_bytes([PENALTY_HEADER,
                      [a.credit_code, a.address, "太市监罚〔2025〕1号", "2025-02-01", "销售假货", "2000"],
                      [b.credit_code, b.address, "太市监罚〔2025〕2号", "2025-02-02", "虚假宣传", "1500.50"],
                      [b.credit_code, b.address, "太市监罚〔2025〕2号", "2025-02-03", "虚假宣传", "100"],
                      [unknown, "某路1号", "太市监罚〔2025〕3号", "2025-02-04", "价格违法", "500"],
                      [a.credit_code, a.address, "太市监罚〔2025〕4号", "2025-02-05", "无照经营", "-5"],
                      [a.credit_code, a.address, "太市监罚〔2025〕5号", "20250206", "警告", ""]])
    result = importer.parse("penalties", "p.csv", data, today=TODAY)
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (2, "case_number", "duplicate_case"),
        (4, "case_number", "duplicate_in_file"),
        (5, "address", "unknown_shop"),
        (6, "amount", "bad_amount"),
    ]
    assert result.errors[1].params == {"row": 3}
    assert [(d.case_number, d.amount_cents) for _, d in result.penalties] == [
        ("太市监罚〔2025〕2号", 150050), ("太市监罚〔2025〕5号", 0)]


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_csv_encodings(shops: tuple[Merchant, Merchant], encoding: str) -> None:
    a, _ = shops
    data = csv_bytes([INSPECTION_HEADER, [a.credit_code, a.address, "2025-03-05", "食品标签", "不合格", "无中文标签"]],
                     encoding)
    result = importer.parse("inspections", "x.csv", data, today=TODAY)
    assert result.errors == []
    assert result.inspections[0][1].findings == "无中文标签"


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_xlsx_with_date_cells_and_badge_codes(shops: tuple[Merchant, Merchant]) -> None:
    a, b = shops
    data = xlsx_bytes([["徽章码", "处罚决定书文号", "处罚日期", "违法行为", "罚款金额"],
                       [a.badge_code, "XL-1", date(2025, 4, 1), "销售过期食品", 3000],
                       [b.badge_code.upper(), "XL-2", "2025.4.2", "价格欺诈", "¥1,200.00"],
                       ["nosuchbadge00", "XL-3", date(2025, 4, 3), "x", 1]])
    result = importer.parse("penalties", "list.xlsx", data, today=TODAY)
    assert [(e.row, e.code) for e in result.errors] == [(4, "unknown_badge")]
    assert [(m, d.decided_on, d.amount_cents) for m, d in result.penalties] == [
        (a.id, date(2025, 4, 1), 300000), (b.id, date(2025, 4, 2), 120000)]


@pytest.mark.parametrize(("filename", "data", "code"), [
    ("x.csv", b"", "empty"),
    ("x.csv", "名称,日期\n1,2\n".encode(), "missing_columns"),
    ("x.xlsx", b"PK\x03\x04 not really a zip", "bad_xlsx"),
    ("x.pdf", b"%PDF-1.4", "file_type"),
    ("x.csv", ",".join(INSPECTION_HEADER).encode() + b"\n", "no_rows"),
])
def test_file_level_errors(app: Any, filename: str, data: bytes, code: str) -> None:
    result = importer.parse("inspections", filename, data, today=TODAY)
    assert [(e.row, e.code) for e in result.errors] == [(0, code)]
    assert importer.load(result, None, partial=True) == 0


@pytest.mark.parametrize(("value", "expected"), [
    ("2025-03-05", date(2025, 3, 5)), ("2025/3/5", date(2025, 3, 5)), ("2025.03.05", date(2025, 3, 5)),
    ("2025年3月5日", date(2025, 3, 5)), ("20250305", date(2025, 3, 5)), (45721, date(2025, 3, 5)),
    ("2025-03-05 00:00:00", date(2025, 3, 5)), ("２０２５－０３－０５", date(2025, 3, 5)),
])
def test_date_formats(value: Any, expected: date) -> None:
    assert importer.parse_date(value) == expected


@pytest.mark.parametrize(("value", "cents"), [
    ("2000", 200000), ("1,500.50", 150050), ("¥800", 80000), ("300元", 30000), (None, 0), (12.5, 1250),
])
def test_amounts(value: Any, cents: int) -> None:
    assert importer.parse_amount(value) == cents


@pytest.mark.parametrize("value", ["-1", "abc", "1.005", "NaN", "1e400"])
def test_bad_amounts(value: str) -> None:
    with pytest.raises(ValueError):
        importer.parse_amount(value)


# --- CLI ---------------------------------------------------------------------------------

def test_cli_all_or_nothing_then_partial(runner: Any, shops: tuple[Merchant, Merchant], tmp_path: Path) -> None:
    a, _ = shops
    path = tmp_path / "inspections.csv"
    path.write_bytes(csv_bytes([INSPECTION_HEADER,
                                [a.credit_code, a.address, "2025-03-05", "进货凭证", "合格", ""],
                                [a.credit_code, a.address, "2025-02-30", "价格标签", "合格", ""]], "gbk"))
    result = runner.invoke(args=["compliance", "import-inspections", str(path)])
    assert result.exit_code == 1
    assert "row 3 [抽查日期] '2025-02-30'" in result.output  # the CLI speaks the default language
    assert "nothing was imported (use --partial" in result.output
    assert count(Inspection) == 0

    result = runner.invoke(args=["compliance", "import-inspections", str(path), "--partial"])
    assert result.exit_code == 0, result.output
    assert "2 row(s) read, 1 valid, 1 with errors; 1 imported." in result.output
    assert count(Inspection) == 1


def test_cli_penalties_xlsx_recorded_by(runner: Any, shops: tuple[Merchant, Merchant], tmp_path: Path) -> None:
    a, _ = shops
    officer = make_user("staff")
    path = tmp_path / "penalties.xlsx"
    path.write_bytes(xlsx_bytes([PENALTY_HEADER, [a.credit_code, a.address, "C-1", date(2025, 1, 2), "x", 10]]))
    result = runner.invoke(args=["compliance", "import-penalties", str(path), "--recorded-by", officer.login_name])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(Penalty.recorded_by_id)) == officer.id
    result = runner.invoke(args=["compliance", "import-penalties", str(path), "--recorded-by", "nobody@x.test"])
    assert result.exit_code == 1 and "no staff account" in result.output


# --- the staff page ----------------------------------------------------------------------

def test_import_page_lists_row_errors_and_keeps_input(client: Any, shops: tuple[Merchant, Merchant]) -> None:
    a, _ = shops
    login(client, make_user("staff"))
    pasted = "\n".join(",".join(r) for r in [INSPECTION_HEADER,
                                             [a.credit_code, a.address, "2025-03-05", "进货凭证", "合格", ""],
                                             [a.credit_code, a.address, "bad", "价格标签", "合格", ""]])
    response = form_post(client, "/staff/compliance/import", {"kind": "inspections", "csv_text": pasted})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'class="row-errors"' in body and "<td>3</td>" in body and "Not a date" in body
    assert "进货凭证" in body  # the pasted text is kept in the form
    assert count(Inspection) == 0

    upload = {"kind": "inspections", "partial": "y",
              "file": (io.BytesIO(pasted.encode("gbk")), "inspections.csv")}
    response = form_post(client, "/staff/compliance/import", upload, content_type="multipart/form-data")
    assert response.status_code == 200
    assert "1 rows imported" in response.get_data(as_text=True)
    assert count(Inspection) == 1


def test_import_page_requires_a_file_or_text(client: Any, app: Any) -> None:
    login(client, make_user("staff"))
    response = form_post(client, "/staff/compliance/import", {"kind": "penalties"})
    assert response.status_code == 400
