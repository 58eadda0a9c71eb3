"""Import inspections and penalties from a spreadsheet (.xlsx) or a CSV file.

The bureau's offices keep these lists in Excel, with Chinese or English headers, and save
CSV from WPS or Excel in UTF-8 (with or without BOM) or GBK. Every row is checked before
anything is written; errors name the row as the spreadsheet numbers it (the header is
row 1), the column, and what is wrong. The shop is found by its badge code, or by its
credit code and address (the address may be left out when the code has only one shop).

Used by `flask compliance import-*` and by the staff import page: both call `parse()`
then `services.load_imported()`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import spreadsheets, uscc
from ..extensions import db
from ..imports import record_run
from ..models import LIVE_MERCHANT_STATUSES, Merchant, address_key
from ..spreadsheets import RowError, decode, parse_date, read_table
from ..spreadsheets import SheetError as ImportFileError
from . import services
from .services import InspectionData, PenaltyData

KINDS = ("inspections", "penalties")
MAX_ROWS = spreadsheets.MAX_ROWS

# Canonical column -> accepted header texts (compared case-, space- and width-insensitively).
_SHOP_COLUMNS = {
    "badge_code": ("徽章码", "徽章编码", "二维码编号", "badge code", "badge"),
    "credit_code": ("统一社会信用代码", "社会信用代码", "信用代码", "credit code",
                    "unified social credit code", "uscc"),
    "address": ("经营地址", "店铺地址", "地址", "经营场所", "shop address", "address"),
}
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "inspections": {
        **_SHOP_COLUMNS,
        "inspected_on": ("抽查日期", "检查日期", "日期", "inspection date", "inspected on", "date"),
        "subject": ("抽查内容", "检查内容", "抽查项目", "检查项目", "subject", "what was checked", "checked"),
        "result": ("抽查结果", "检查结果", "结果", "结论", "result", "outcome"),
        "findings": ("发现问题", "检查发现", "问题", "备注", "findings", "notes"),
    },
    "penalties": {
        **_SHOP_COLUMNS,
        "case_number": ("处罚决定书文号", "决定书文号", "文号", "案号", "案件编号", "case number", "case no", "case"),
        "decided_on": ("处罚日期", "处罚决定日期", "决定日期", "日期", "decision date", "decided on", "date"),
        "reason": ("违法行为", "处罚事由", "案由", "事由", "reason", "what for", "offence", "offense"),
        "amount": ("罚没金额", "罚款金额", "罚款", "金额", "金额（元）", "金额(元)", "amount", "amount (yuan)", "fine"),
    },
}
# A shop is named by its badge code or its credit code (a missing one is reported as the latter).
REQUIRED: dict[str, tuple[str | tuple[str, ...], ...]] = {
    "inspections": (("credit_code", "badge_code"), "inspected_on", "subject", "result"),
    "penalties": (("credit_code", "badge_code"), "case_number", "decided_on", "reason"),
}
RESULTS = {
    "合格": "passed", "通过": "passed", "passed": "passed", "pass": "passed", "ok": "passed",
    "不合格": "failed", "不通过": "failed", "failed": "failed", "fail": "failed",
}
_LIMITS = {"subject": 200, "findings": 2000, "case_number": 60, "reason": 500}


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    filename: str = ""
    inspections: list[tuple[int, InspectionData]] = field(default_factory=list)
    penalties: list[tuple[int, PenaltyData]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def valid(self) -> int:
        return len(self.inspections) + len(self.penalties)

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors})


# --- reading -----------------------------------------------------------------------------

def map_headers(kind: str, header: list[Any]) -> dict[str, int]:
    """Canonical column -> index in the row. Raises ImportFileError for missing or repeated columns."""
    return spreadsheets.map_headers(header, COLUMNS[kind], REQUIRED[kind])


_text = spreadsheets.cell_text


def parse_amount(value: Any) -> int:
    """Yuan as typed (1500, 1,500.00, ¥1500, 1500元) → cents. Raises ValueError."""
    return spreadsheets.parse_yuan(value, services.MAX_PENALTY_CENTS)


# --- finding the shop --------------------------------------------------------------------

class _Shops:
    """Merchants named in the file, fetched in a few batched queries."""

    def __init__(self, badge_codes: set[str], credit_codes: set[str]) -> None:
        self.by_badge: dict[str, int] = {}
        self.by_code: dict[str, list[tuple[int, str]]] = {}
        for chunk in _chunks(sorted(badge_codes)):
            for m_id, badge in db.session.execute(
                    select(Merchant.id, Merchant.badge_code).where(Merchant.badge_code.in_(chunk))):
                self.by_badge[badge] = m_id
        for chunk in _chunks(sorted(credit_codes)):
            for m_id, code, key in db.session.execute(
                    select(Merchant.id, Merchant.credit_code, Merchant.address_key)
                    .where(Merchant.credit_code.in_(chunk), Merchant.status.in_(LIVE_MERCHANT_STATUSES))
                    .order_by(Merchant.id)):
                self.by_code.setdefault(code, []).append((m_id, key))


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _clean_code(raw: str) -> str:
    return uscc.normalize(raw)


def _find_shop(row: int, cells: dict[str, Any], shops: _Shops, errors: list[RowError]) -> int | None:
    badge = _text(cells.get("badge_code")).lower()
    if badge:
        m_id = shops.by_badge.get(badge)
        if m_id is None:
            errors.append(RowError(row, "badge_code", "unknown_badge", badge))
        return m_id
    raw_code = _text(cells.get("credit_code"))
    if not raw_code:
        errors.append(RowError(row, "credit_code", "shop_required"))
        return None
    try:
        code = uscc.validate(raw_code)
    except uscc.CreditCodeError:
        errors.append(RowError(row, "credit_code", "bad_credit_code", raw_code))
        return None
    candidates = shops.by_code.get(code, [])
    address = _text(cells.get("address"))
    if address:
        key = address_key(address)
        matches = [m for m, k in candidates if k == key]
        if not matches:
            errors.append(RowError(row, "address", "unknown_shop", f"{code} {address}"))
            return None
        return matches[0]
    if len(candidates) == 1:
        return candidates[0][0]
    if not candidates:
        errors.append(RowError(row, "credit_code", "unknown_shop", code))
    else:
        errors.append(RowError(row, "address", "address_needed", code, {"shops": len(candidates)}))
    return None


# --- checking rows -----------------------------------------------------------------------

def _required_text(row: int, cells: dict[str, Any], key: str, errors: list[RowError]) -> str:
    text = _text(cells.get(key))
    if not text:
        errors.append(RowError(row, key, "required"))
    elif len(text) > _LIMITS[key]:
        errors.append(RowError(row, key, "too_long", text[:40] + "…", {"max": _LIMITS[key]}))
    return text


def _date_cell(row: int, cells: dict[str, Any], key: str, today: date, errors: list[RowError]) -> date | None:
    value = cells.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        errors.append(RowError(row, key, "required"))
        return None
    try:
        day = parse_date(value)
    except ValueError:
        errors.append(RowError(row, key, "bad_date", _text(value)))
        return None
    if day > today:
        errors.append(RowError(row, key, "future_date", day.isoformat()))
        return None
    if day.year < 2000:
        errors.append(RowError(row, key, "bad_date", day.isoformat()))
        return None
    return day


def prepare(kind: str, filename: str, data: bytes) -> tuple[ImportResult, list[tuple[int, dict[str, Any]]]]:
    """Read the file and map its columns: the rows to check (numbered as in the sheet), or
    file-level errors (row 0) in the result."""
    if kind not in KINDS:
        raise ValueError(kind)
    result = ImportResult(kind, filename=filename)
    try:
        rows = spreadsheets.header_rows(read_table(filename, data), COLUMNS[kind], REQUIRED[kind])
    except ImportFileError as err:
        result.errors.append(err.as_row_error())
        return result, []
    result.rows = len(rows)
    return result, rows


def parse(kind: str, filename: str, data: bytes, today: date | None = None) -> ImportResult:
    """Read and check every row. Never writes; file-level problems come back as row 0 errors."""
    result, rows = prepare(kind, filename, data)
    return check(result, rows, today)


def check(result: ImportResult, rows: list[tuple[int, dict[str, Any]]], today: date | None = None,
          progress: Callable[[int], None] | None = None) -> ImportResult:
    """Check prepared rows, adding records and row errors to `result`; `progress(1)` per row."""
    kind = result.kind
    today = today or services.local_today()
    if not rows:
        return result
    shops = _Shops(
        {_text(c.get("badge_code")).lower() for _, c in rows if _text(c.get("badge_code"))},
        {_clean_code(_text(c.get("credit_code"))) for _, c in rows if _text(c.get("credit_code"))},
    )
    taken = (services.case_numbers_taken(_text(c.get("case_number")) for _, c in rows)
             if kind == "penalties" else set())
    seen: dict[tuple, int] = {}
    for number, cells in rows:
        errors: list[RowError] = []
        merchant_id = _find_shop(number, cells, shops, errors)
        if kind == "inspections":
            record = _inspection_row(number, cells, today, errors)
            key: tuple | None = None
            if record is not None and merchant_id is not None:
                key = (merchant_id, record.inspected_on, record.subject)
                if key in seen:
                    errors.append(RowError(number, "subject", "duplicate_in_file", record.subject,
                                           {"row": seen[key]}))
                elif services.inspection_exists(*key):
                    errors.append(RowError(number, "subject", "duplicate_inspection", record.subject))
        else:
            record = _penalty_row(number, cells, today, errors)  # type: ignore[assignment]
            case = _text(cells.get("case_number"))
            key = ("case", case) if case else None
            if key and key in seen:
                errors.append(RowError(number, "case_number", "duplicate_in_file", case, {"row": seen[key]}))
            elif case in taken:
                errors.append(RowError(number, "case_number", "duplicate_case", case))
        if key and key not in seen:
            seen[key] = number
        if errors:
            result.errors.extend(errors)
        elif kind == "inspections":
            result.inspections.append((merchant_id, record))  # type: ignore[arg-type]
        else:
            result.penalties.append((merchant_id, record))  # type: ignore[arg-type]
        if progress:
            progress(1)
    return result


def _inspection_row(row: int, cells: dict[str, Any], today: date,
                    errors: list[RowError]) -> InspectionData | None:
    day = _date_cell(row, cells, "inspected_on", today, errors)
    subject = _required_text(row, cells, "subject", errors)
    raw_result = _text(cells.get("result"))
    result = RESULTS.get(unicodedata.normalize("NFKC", raw_result).casefold())
    if not raw_result:
        errors.append(RowError(row, "result", "required"))
    elif result is None:
        errors.append(RowError(row, "result", "bad_result", raw_result))
    findings = _text(cells.get("findings"))
    if len(findings) > _LIMITS["findings"]:
        errors.append(RowError(row, "findings", "too_long", findings[:40] + "…",
                               {"max": _LIMITS["findings"]}))
    elif result == "failed" and not findings:
        errors.append(RowError(row, "findings", "findings_required"))
    if day is None or result is None or not subject:
        return None
    return InspectionData(inspected_on=day, subject=subject, result=result, findings=findings)


def _penalty_row(row: int, cells: dict[str, Any], today: date, errors: list[RowError]) -> PenaltyData | None:
    case = _required_text(row, cells, "case_number", errors)
    day = _date_cell(row, cells, "decided_on", today, errors)
    reason = _required_text(row, cells, "reason", errors)
    try:
        cents = parse_amount(cells.get("amount"))
    except ValueError:
        errors.append(RowError(row, "amount", "bad_amount", _text(cells.get("amount"))))
        cents = None
    if day is None or cents is None or not case or not reason:
        return None
    return PenaltyData(case_number=case, decided_on=day, reason=reason, amount_cents=cents)


COLUMN_LABELS = {
    "badge_code": _l("Badge code"), "credit_code": _l("Credit code"), "address": _l("Shop address"),
    "inspected_on": _l("Inspection date"), "subject": _l("What was checked"), "result": _l("Result"),
    "findings": _l("Findings"), "case_number": _l("Case number"), "decided_on": _l("Decision date"),
    "reason": _l("What for"), "amount": _l("Amount (yuan)"),
}
MESSAGES = {  # beside spreadsheets.FILE_MESSAGES for the file as a whole
    "unknown_badge": _l("No shop has this badge code."),
    "shop_required": _l("Give the shop's badge code, or its credit code and address."),
    "bad_credit_code": _l("Not a valid unified social credit code."),
    "unknown_shop": _l("No registered shop with this credit code and address."),
    "address_needed": _l("This credit code has %(shops)s shops: give the shop address."),
    "required": _l("This column is required."),
    "too_long": _l("Too long: at most %(max)s characters."),
    "bad_date": _l("Not a date: write it as 2024-03-15."),
    "future_date": _l("This date is in the future."),
    "bad_result": _l("The result must be 合格 / 不合格 (passed / failed)."),
    "findings_required": _l("A failed inspection needs its findings."),
    "bad_amount": _l("Not an amount in yuan (e.g. 2000 or 1500.50)."),
    "duplicate_in_file": _l("Same as row %(row)s of this file."),
    "duplicate_inspection": _l("This inspection is already recorded (same shop, date and subject)."),
    "duplicate_case": _l("This case number is already recorded."),
}


def describe(error: RowError) -> str:
    """The error as a sentence for staff."""
    return spreadsheets.describe(error, MESSAGES, COLUMN_LABELS)


def column_label(key: str) -> str:
    return str(COLUMN_LABELS.get(key, key)) if key else ""


def load(result: ImportResult, officer: Any, partial: bool = False) -> int:
    """Write the checked rows: none when any row failed, unless `partial` (then the good rows).
    The import run (in the officer's town, if any) is recorded in the same transaction."""
    if result.errors and (not partial or any(e.row == 0 for e in result.errors)):
        return 0
    if not result.valid:
        return 0
    run = record_run(result.kind, filename=result.filename, rows_read=result.rows, created=result.valid,
                     errors=result.error_rows, officer=officer, town_id=getattr(officer, "town_id", None))
    try:
        return services.load_imported(officer, inspections=result.inspections, penalties=result.penalties)
    except services.ComplianceError:
        if run in db.session:  # refused before the commit: the run is not left for another one
            db.session.expunge(run)
        raise


__all__ = ["COLUMNS", "ImportFileError", "ImportResult", "RowError", "decode", "load",
           "map_headers", "parse", "parse_amount", "parse_date", "read_table"]
