"""Reading and writing the spreadsheets offices exchange: .xlsx workbooks and CSV files.

Offices keep their lists in Excel or WPS, with Chinese or English headers, and save CSV in
UTF-8 (with or without a byte-order mark) or, from Excel on a Chinese Windows, in GB18030/GBK.
Every importer reads its file here, in two steps:

    table = read_table(filename, data)                  # rows of cell values
    rows = header_rows(table, COLUMNS, REQUIRED)        # [(sheet row number, {column: value})]

then checks each row itself and reports `RowError`s that name the row as the spreadsheet
numbers it (the header is row 1 when nothing is above it), the canonical column and the value.
File-level problems raise `SheetError` (its `code` is a key of `FILE_MESSAGES`). Exports go
out through `write_csv` (UTF-8 with BOM, which Excel opens as Unicode) and `write_xlsx`.

No Flask here beyond lazily translated messages: the functions work on bytes and plain values.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l

from .domain import DomainError

MAX_ROWS = 20_000
CSV_NAMES = (".csv", ".txt")
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_EXCEL_EPOCH = date(1899, 12, 30)
# A cell a spreadsheet program would run as a formula when the CSV is opened (CWE-1236).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class RowError:
    """One problem in one cell, row or file."""

    row: int            # as the spreadsheet numbers it; 0 for the file as a whole
    column: str         # canonical column key, "" for the row or file
    code: str
    value: str = ""
    params: dict[str, Any] = field(default_factory=dict)


class SheetError(DomainError):
    """The file as a whole cannot be read (format, encoding, headers); `code` says why."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.params = params

    def as_row_error(self) -> RowError:
        return RowError(0, "", self.code, "", self.params)


# --- reading -----------------------------------------------------------------------------

def read_table(filename: str, data: bytes, max_rows: int = MAX_ROWS) -> list[list[Any]]:
    """The file's rows as lists of cell values (strings for CSV; typed values for .xlsx)."""
    name = filename.lower()
    if name.endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, max_rows)
    if name.endswith(CSV_NAMES) or not name:
        return _read_csv(data, max_rows)
    raise SheetError("file_type")


def _read_xlsx(data: bytes, max_rows: int) -> list[list[Any]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
        raise SheetError("bad_xlsx") from err
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append(list(row))
            if len(rows) > max_rows + 1:
                raise SheetError("too_many_rows", limit=max_rows)
        return rows
    finally:
        workbook.close()


def decode(data: bytes) -> str:
    """UTF-8 (a BOM is dropped), else GB18030 (a superset of GBK, as Excel saves on Chinese Windows)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as err:
        raise SheetError("encoding") from err


def _read_csv(data: bytes, max_rows: int) -> list[list[Any]]:
    text = decode(data)
    if "\x00" in text:
        raise SheetError("encoding")
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), dialect):
            rows.append(row)
            if len(rows) > max_rows + 1:
                raise SheetError("too_many_rows", limit=max_rows)
    except csv.Error as err:
        raise SheetError("bad_csv") from err
    return rows


def norm_header(value: Any) -> str:
    """A header cell as compared: no case, no width, no `*` (required marks), single spaces."""
    text = unicodedata.normalize("NFKC", str(value or "")).casefold().strip()
    return " ".join(text.replace("_", " ").replace("*", "").split())


def map_headers(header: Sequence[Any], columns: Mapping[str, Sequence[str]],
                required: Iterable[str | tuple[str, ...]] = ()) -> dict[str, int]:
    """Canonical column -> index in the row, from the header texts each column accepts (its
    key with spaces for underscores is always accepted). An entry of `required` that is a
    tuple needs one of its columns. Raises SheetError for a missing or repeated column;
    unknown columns are ignored (offices' sheets carry extra ones) but named when one is missing."""
    aliases = {norm_header(alias): key for key, names in columns.items() for alias in names}
    aliases.update({norm_header(key): key for key in columns})
    found: dict[str, int] = {}
    unknown = []
    for index, cell in enumerate(header):
        text = norm_header(cell)
        if not text:
            continue
        key = aliases.get(text)
        if key is None:
            unknown.append(str(cell))
        elif key in found:
            raise SheetError("duplicate_column", column=str(cell))
        else:
            found[key] = index
    missing = []
    for need in required:
        options = (need,) if isinstance(need, str) else need
        if not any(key in found for key in options):
            missing.append(options[0])
    if missing:
        raise SheetError("missing_columns", columns=missing, unknown=unknown)
    return found


def header_rows(table: list[list[Any]], columns: Mapping[str, Sequence[str]],
                required: Iterable[str | tuple[str, ...]] = ()) -> list[tuple[int, dict[str, Any]]]:
    """The data rows under the header as (sheet row number, {column: value}); blank lines
    above the header and blank rows are skipped. Raises SheetError ("empty", "no_rows", ...)."""
    first = 0
    while first < len(table) and all(cell_text(c) == "" for c in table[first]):
        first += 1
    if first == len(table):
        raise SheetError("empty")
    mapping = map_headers(table[first], columns, required)
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, raw in enumerate(table[first + 1:], start=first + 2):
        cells = {key: raw[i] if i < len(raw) else None for key, i in mapping.items()}
        if all(cell_text(v) == "" for v in cells.values()):
            continue
        rows.append((number, cells))
    if not rows:
        raise SheetError("no_rows")
    return rows


# --- values ------------------------------------------------------------------------------

def cell_text(value: Any) -> str:
    """A cell as text: "" for empty, 13800138000 for a number Excel stored as 13800138000.0."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).strip()


def parse_date(value: Any) -> date:
    """A date as offices type it: 2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日, 20240305, an
    Excel date cell, or an Excel day number. Raises ValueError."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 20000 <= value <= 80000:  # Excel's day number (1954..2119)
            return _EXCEL_EPOCH + timedelta(days=int(value))
        value = str(int(value)) if float(value).is_integer() else str(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if re.fullmatch(r"\d{8}", text):
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    match = _DATE_RE.match(text.split(" ")[0] if " " in text and ":" in text else text)
    if not match:
        raise ValueError(text)
    y, m, d = (int(g) for g in match.groups())
    return date(y, m, d)


def parse_yuan(value: Any, max_cents: int) -> int:
    """Yuan as typed (1500, 1,500.00, ¥1500, 1500元) → cents, at most `max_cents`; empty is 0.
    Raises ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if isinstance(value, bool):
        raise ValueError(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = text.replace(",", "").replace("¥", "").replace("￥", "").replace("元", "").replace("RMB", "").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation as err:
        raise ValueError(text) from err
    if not amount.is_finite() or amount < 0 or amount * 100 > max_cents:
        raise ValueError(text)
    cents = amount * 100
    if cents != cents.to_integral_value():  # more than two decimals
        raise ValueError(text)
    return int(cents)


# --- writing -----------------------------------------------------------------------------

def _safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is written with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], preamble: Iterable[Sequence[Any]] = ()) -> bytes:
    """A CSV Excel opens correctly on Chinese and English Windows alike: UTF-8 with a BOM,
    CRLF line ends. `preamble` rows (a title, the period, the rules) come before the header."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for line in preamble:
        writer.writerow([_safe_cell(c) for c in line])
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if c is None else _safe_cell(c) for c in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_xlsx(header: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "Sheet1",
               preamble: Iterable[Sequence[Any]] = ()) -> bytes:
    """One worksheet: `preamble` rows, then the header (bold, frozen), then the rows; streamed
    (write-only), so a province's registry does not sit in memory as cell objects."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    lines = [[_safe_cell(c) for c in line] for line in preamble]
    sheet.freeze_panes = f"A{len(lines) + 2}"  # before any row: a write-only sheet's views go first
    for line in lines:
        sheet.append(line)
    bold = Font(bold=True)
    head = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for row in rows:
        sheet.append([_safe_cell(c) for c in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"


# --- messages ----------------------------------------------------------------------------

FILE_MESSAGES = {
    "file_type": _l("Upload an .xlsx workbook or a .csv file."),
    "bad_xlsx": _l("This is not a readable .xlsx workbook (save it again from Excel or WPS)."),
    "bad_csv": _l("This CSV file cannot be read: save it again from Excel or WPS."),
    "encoding": _l("The file is neither UTF-8 nor GBK text: save it as CSV (UTF-8) and try again."),
    "too_many_rows": _l("The file has more than %(limit)s rows: split it."),
    "empty": _l("The file is empty."),
    "no_rows": _l("The file has a header but no rows."),
    "duplicate_column": _l("The column %(column)s appears twice."),
    "missing_columns": _l("Columns missing: %(columns)s. Name them in the header row (Chinese or English)."),
}


def describe(error: RowError, messages: Mapping[str, Any], labels: Mapping[str, Any]) -> str:
    """The error as a sentence for staff, from the importer's `messages` (falling back to the
    file-level ones) and its column `labels` (for a list of missing columns)."""
    params = dict(error.params)
    if "columns" in params:
        params["columns"] = ", ".join(str(labels.get(c, c)) for c in params["columns"])
    message = messages.get(error.code) or FILE_MESSAGES.get(error.code)
    if message is None:
        return error.code
    text = str(message)
    try:
        return text % params if "%(" in text else text
    except (KeyError, TypeError, ValueError):
        return text


__all__ = ["CSV_MIMETYPE", "FILE_MESSAGES", "MAX_ROWS", "XLSX_MIMETYPE", "RowError", "SheetError",
           "cell_text", "decode", "describe", "header_rows", "map_headers", "norm_header", "parse_date",
           "parse_yuan", "read_table", "write_csv", "write_xlsx"]
