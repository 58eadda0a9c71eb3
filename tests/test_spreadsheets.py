"""The shared spreadsheet reader and writer, on files as spreadsheet programs write them."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from pledge_registry import spreadsheets
from pledge_registry.spreadsheets import SheetError

COLUMNS = {"credit_code": ("统一社会信用代码", "credit code"), "shop_name": ("店铺名称", "shop name"),
           "opened_on": ("开业日期", "opened on")}
REQUIRED = ("credit_code", "shop_name")


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_csv_as_excel_and_wps_save_it(encoding: str) -> None:
    # Excel on a Chinese Windows saves "CSV" in GB18030/GBK, with CRLF; "CSV UTF-8" has a BOM.
    text = "\r\n统一社会信用代码,店铺名称,备注\r\n91320585MA1XXXXX0X,华发·鲜果铺,\r\n,,\r\n"
    rows = spreadsheets.header_rows(spreadsheets.read_table("商户.csv", text.encode(encoding)),
                                    COLUMNS, REQUIRED)
    assert rows == [(3, {"credit_code": "91320585MA1XXXXX0X", "shop_name": "华发·鲜果铺"})]


def test_semicolon_and_tab_separated_files_are_read() -> None:
    for sep in (";", "\t"):
        data = f"credit code{sep}shop name\nA{sep}B\nC{sep}D\n".encode()
        rows = spreadsheets.header_rows(spreadsheets.read_table("x.txt", data), COLUMNS, REQUIRED)
        assert [cells["shop_name"] for _, cells in rows] == ["B", "D"]


def test_xlsx_written_by_openpyxl_keeps_types() -> None:
    data = _xlsx([["Credit Code", "Shop Name", "Opened On", "extra"],
                  ["91320585MA1XXXXX0X", "Shop", datetime(2024, 3, 5), 1]])
    rows = spreadsheets.header_rows(spreadsheets.read_table("x.xlsx", data), COLUMNS, REQUIRED)
    assert rows == [(2, {"credit_code": "91320585MA1XXXXX0X", "shop_name": "Shop",
                         "opened_on": datetime(2024, 3, 5)})]
    assert spreadsheets.parse_date(rows[0][1]["opened_on"]) == date(2024, 3, 5)


@pytest.mark.parametrize(("filename", "data", "code"), [
    ("x.pdf", b"%PDF-1.4", "file_type"),
    ("x.xlsx", b"PK\x03\x04 not really a zip", "bad_xlsx"),
    ("x.csv", b"\xff\xfe\x00\x00\x81\x30", "encoding"),
    ("x.csv", b"\r\n\r\n", "empty"),
    ("x.csv", "店铺名称\n".encode(), "missing_columns"),
    ("x.csv", "店铺名称,shop name,credit code\n".encode(), "duplicate_column"),
    ("x.csv", "店铺名称,credit code\n".encode(), "no_rows"),
])
def test_file_level_problems(filename: str, data: bytes, code: str) -> None:
    with pytest.raises(SheetError) as caught:
        spreadsheets.header_rows(spreadsheets.read_table(filename, data), COLUMNS, REQUIRED)
    assert caught.value.code == code
    assert spreadsheets.describe(caught.value.as_row_error(), {}, {}) != code  # a sentence for each


def test_one_of_several_columns_is_enough() -> None:
    table = [["shop name", "opened on"], ["x", "2024-01-01"]]
    spreadsheets.header_rows(table, COLUMNS, (("credit_code", "opened_on"),))
    with pytest.raises(SheetError) as caught:
        spreadsheets.header_rows([["shop name"], ["x"]], COLUMNS, (("credit_code", "opened_on"),))
    assert caught.value.params["columns"] == ["credit_code"]


def test_too_many_rows() -> None:
    data = ("credit code,shop name\n" + "a,b\n" * 11).encode()
    with pytest.raises(SheetError) as caught:
        spreadsheets.read_table("x.csv", data, max_rows=10)
    assert caught.value.code == "too_many_rows"


def test_csv_export_opens_in_excel_and_defuses_formulas() -> None:
    data = spreadsheets.write_csv(["名称", "金额"], [["=HYPERLINK(\"x\")", 12], ["鲜果", None]],
                                  preamble=[["统计期间", "2026Q2"]])
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.splitlines() == ["统计期间,2026Q2", "名称,金额", "\"'=HYPERLINK(\"\"x\"\")\",12", "鲜果,"]
    assert spreadsheets.read_table("x.csv", data)[2][0] == "'=HYPERLINK(\"x\")"


def test_xlsx_export_reads_back() -> None:
    data = spreadsheets.write_xlsx(["名称", "数量"], [["-1 bad", 3]], title="登记", preamble=[["期间"]])
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.title == "登记"
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["期间", None], ["名称", "数量"],
                                                                    ["'-1 bad", 3]]
    assert sheet.freeze_panes == "A3"
