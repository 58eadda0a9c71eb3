"""A channel's export in bulk: the cases 12345 (or 12315, a referral list ...) sent the bureau,
from the .xlsx or CSV file that channel's system writes, filed as complaints.intake files one.

The file's columns are named by a mapping (file header → our field), kept as a setting an
admin edits (`/staff/complaints/settings/channel-mappings`); the built-in mappings below are
where a bureau starts, and a file whose headers are our own field names always reads. Every
row is checked before anything is written, and nothing is written while any row has an error.
A row whose (channel, reference) filed a case before is reported with that case's number and
left as it is: importing the same file twice files each request once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import spreadsheets, uscc
from ..extensions import db
from ..forms import MOBILE_RE, is_control_char
from ..imports import channel_kind, record_run
from ..localtime import LOCAL_TZ
from ..models import PROBLEM_TYPES, Complaint, Merchant, Setting, User, address_key
from ..spreadsheets import RowError, SheetError
from . import intake

SETTING_KEY = "channel_import_mappings"

# Our fields, what each holds, and which a mapping must name.
FIELDS = ("channel_ref", "received_at", "account", "badge_code", "credit_code", "address", "request_type",
          "problem_type", "item", "purchased_on", "amount_paid", "shopper_name", "shopper_phone")
REQUIRED: tuple[str | tuple[str, ...], ...] = ("channel_ref", "received_at", "account", ("badge_code", "credit_code"))
LIMITS = {"item": 200, "account": 2000, "shopper_name": 50, "address": 200}

# Where a bureau starts: the column names these channels' exports commonly use. The 12315
# and 12345 systems publish no export format, so these are editable, not authoritative.
DEFAULT_MAPPINGS: dict[str, dict[str, str]] = {
    "12345": {
        "工单编号": "channel_ref", "工单号": "channel_ref", "受理时间": "received_at", "来电时间": "received_at",
        "诉求内容": "account", "工单内容": "account", "诉求类型": "request_type", "问题分类": "problem_type",
        "统一社会信用代码": "credit_code", "被反映单位地址": "address", "商户码": "badge_code",
        "商品或服务": "item", "消费日期": "purchased_on", "涉及金额": "amount_paid",
        "来电人": "shopper_name", "联系电话": "shopper_phone",
    },
    "12315": {
        "投诉单号": "channel_ref", "登记编号": "channel_ref", "登记时间": "received_at", "投诉时间": "received_at",
        "投诉内容": "account", "诉求内容": "account", "类型": "request_type", "问题类别": "problem_type",
        "被投诉人统一社会信用代码": "credit_code", "统一社会信用代码": "credit_code", "被投诉人地址": "address",
        "商品或服务名称": "item", "消费日期": "purchased_on", "涉及金额": "amount_paid",
        "投诉人姓名": "shopper_name", "投诉人电话": "shopper_phone",
    },
}
REQUEST_TYPES = {"投诉": "complaint", "举报": "report", "咨询": "consultation", "complaint": "complaint",
                 "report": "report", "consultation": "consultation"}
PROBLEM_NAMES = {
    "quality": ("质量", "产品质量", "商品质量"), "genuine_doubt": ("假冒", "假货", "正品", "假冒伪劣"),
    "refused_return": ("退货", "拒绝退货", "无理由退货"), "contract_terms": ("合同", "格式条款", "合同条款"),
    "advertising": ("广告", "虚假宣传", "虚假广告"), "price": ("价格", "收费"), "service": ("服务", "售后服务"),
    "safety": ("安全", "人身安全"), "other": ("其他",),
}
_PROBLEMS = {unicodedata.normalize("NFKC", n).casefold(): code
             for code, names in PROBLEM_NAMES.items() for n in (*names, code)}
_MOBILE = re.compile(MOBILE_RE)
_TIME_RE = re.compile(r"^(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?$")
MAX_AMOUNT_CENTS = 10_000_000 * 100


class MappingError(ValueError):
    """A mapping that cannot be saved; `code` says why, `detail` names the line or field."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


# --- the mappings (a setting) ---------------------------------------------------------------

def mappings() -> dict[str, dict[str, str]]:
    """Every mapping by name: the stored ones, over the built-in ones of the same name."""
    stored = db.session.scalar(select(Setting.value).where(Setting.key == SETTING_KEY)) or {}
    return {**DEFAULT_MAPPINGS, **{name: dict(m) for name, m in stored.items()}}


def mapping(name: str) -> dict[str, str] | None:
    return mappings().get(name)


def validate_mapping(value: Mapping[str, str]) -> dict[str, str]:
    """The mapping with its headers as compared; raises MappingError (unknown field, a
    required field not mapped, a header twice)."""
    out: dict[str, str] = {}
    for header, target in value.items():
        key = spreadsheets.norm_header(header)
        if not key or len(header) > 60 or any(is_control_char(c) for c in header):
            raise MappingError("bad_header", header[:60])
        if target not in FIELDS:
            raise MappingError("unknown_field", target[:60])
        if key in {spreadsheets.norm_header(h) for h in out}:
            raise MappingError("header_twice", header)
        out[header.strip()] = target
    for need in REQUIRED:
        options = (need,) if isinstance(need, str) else need
        if not any(o in out.values() for o in options):
            raise MappingError("required_field", " / ".join(options))
    return out


def parse_lines(text: str) -> dict[str, str]:
    """`header = field` lines (blank lines and `#` comments skipped) as a mapping; raises MappingError."""
    value: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header, sep, target = line.rpartition("=")
        if not sep or not header.strip() or not target.strip():
            raise MappingError("bad_line", str(number))
        if header.strip() in value:
            raise MappingError("header_twice", header.strip())
        value[header.strip()] = target.strip()
    return validate_mapping(value)


def as_lines(value: Mapping[str, str]) -> str:
    return "\n".join(f"{header} = {target}" for header, target in value.items())


def save_mapping(name: str, value: Mapping[str, str], admin: User) -> None:
    """Store one mapping (validated again here: the rule is the service's, not the form's)."""
    checked = validate_mapping(value)
    row = db.session.get(Setting, SETTING_KEY)
    if row is None:
        db.session.add(Setting(key=SETTING_KEY, value={name: checked}, updated_by_id=admin.id))
    else:
        row.value = {**row.value, name: checked}  # a new dict: the JSON column sees the change
        row.updated_by_id = admin.id
    db.session.commit()


def columns_of(value: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """The mapping as spreadsheets.header_rows reads it: field → the headers naming it."""
    columns: dict[str, list[str]] = {f: [] for f in FIELDS}
    for header, target in value.items():
        columns[target].append(header)
    return {f: tuple(h) for f, h in columns.items()}


# --- one file -------------------------------------------------------------------------------

@dataclass
class ImportResult:
    channel: str
    rows: int = 0
    filename: str = ""
    new: list[tuple[int, intake.ChannelRequest]] = field(default_factory=list)
    existing: list[tuple[int, int]] = field(default_factory=list)   # (sheet row, case number)
    errors: list[RowError] = field(default_factory=list)
    created: list[tuple[int, int]] = field(default_factory=list)    # (sheet row, case number)

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors})


def prepare(channel: str, value: Mapping[str, str], filename: str,
            data: bytes) -> tuple[ImportResult, list[tuple[int, dict[str, Any]]]]:
    """Read the file: the rows to check, or the file-level error (row 0) in the result."""
    result = ImportResult(channel, filename=filename)
    try:
        rows = spreadsheets.header_rows(spreadsheets.read_table(filename, data), columns_of(value), REQUIRED)
    except SheetError as err:
        result.errors.append(err.as_row_error())
        return result, []
    result.rows = len(rows)
    return result, rows


def parse_moment(value: Any) -> datetime:
    """A receipt time as exports write it (an Excel date-time cell, 2026-11-30 14:05[:00],
    2026/11/30 14:05, 2026年11月30日 14:05, or a day alone: its start), local time. Raises ValueError."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = unicodedata.normalize("NFKC", spreadsheets.cell_text(value)).strip().replace("T", " ")
        day_part, _, time_part = text.partition(" ")
        day = spreadsheets.parse_date(day_part)
        at = time()
        if time_part.strip():
            match = _TIME_RE.match(time_part.strip())
            if not match:
                raise ValueError(text)
            at = time(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))
        moment = datetime.combine(day, at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment.astimezone(UTC)


def _merchants(rows: list[tuple[int, dict[str, Any]]]) -> tuple[dict[str, int], dict[str, list[tuple[int, str]]]]:
    """The complainable shops the file names: by badge code, and by credit code (id, address key)."""
    badges = {spreadsheets.cell_text(c.get("badge_code")).lower() for _, c in rows} - {""}
    codes = {uscc.normalize(spreadsheets.cell_text(c.get("credit_code"))) for _, c in rows} - {""}
    by_badge: dict[str, int] = {}
    by_code: dict[str, list[tuple[int, str]]] = {}
    for chunk in _chunks(sorted(badges)):
        by_badge.update(db.session.execute(select(Merchant.badge_code, Merchant.id).where(
            Merchant.badge_code.in_(chunk), Merchant.status.in_(intake.COMPLAINABLE))).tuples().all())
    for chunk in _chunks(sorted(codes)):
        for code, merchant_id, key in db.session.execute(select(
                Merchant.credit_code, Merchant.id, Merchant.address_key).where(
                Merchant.credit_code.in_(chunk), Merchant.status.in_(intake.COMPLAINABLE))).tuples():
            by_code.setdefault(code, []).append((merchant_id, key))
    return by_badge, by_code


def _chunks(items: list[str], size: int = 500) -> Any:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def check(result: ImportResult, rows: list[tuple[int, dict[str, Any]]], now: datetime | None = None,
          recorded_by: User | None = None, progress: Callable[[int], None] | None = None) -> ImportResult:
    """Check every row; never writes. `progress(1)` per row."""
    now = now or datetime.now(UTC)
    by_badge, by_code = _merchants(rows)
    refs = [intake.normalise_ref(spreadsheets.cell_text(c.get("channel_ref"))) for _, c in rows]
    known: dict[str | None, int] = {}
    for chunk in _chunks(sorted(set(refs) - {""})):
        known.update(db.session.execute(select(Complaint.channel_ref, Complaint.id).where(
            Complaint.channel == result.channel, Complaint.channel_ref.in_(chunk))).tuples().all())
    seen: dict[str, int] = {}
    for number, cells in rows:
        errors: list[RowError] = []
        req = _request(result.channel, number, cells, by_badge, by_code, now, recorded_by, errors)
        if req is not None and not errors:
            if req.channel_ref in seen:
                errors.append(RowError(number, "channel_ref", "duplicate_in_file", req.channel_ref,
                                       {"row": seen[req.channel_ref]}))
            elif req.channel_ref in known:
                result.existing.append((number, known[req.channel_ref]))
            else:
                result.new.append((number, req))
            seen.setdefault(req.channel_ref, number)
        result.errors.extend(errors)
        if progress:
            progress(1)
    return result


def _request(channel: str, row: int, cells: dict[str, Any], by_badge: dict[str, int],
             by_code: dict[str, list[tuple[int, str]]], now: datetime, recorded_by: User | None,
             errors: list[RowError]) -> intake.ChannelRequest | None:
    text = {k: spreadsheets.cell_text(v) for k, v in cells.items()}
    if any(any(is_control_char(c) for c in v) for v in text.values()):
        errors.append(RowError(row, "", "control_characters"))
        return None
    for key in ("channel_ref", "received_at", "account"):
        if not text.get(key):
            errors.append(RowError(row, key, "required"))
    for key, limit in LIMITS.items():
        if len(text.get(key, "")) > limit:
            errors.append(RowError(row, key, "too_long", text[key][:40] + "…", {"max": limit}))
    ref = intake.normalise_ref(text.get("channel_ref"))
    if ref and not intake.REF_RE.match(ref):
        errors.append(RowError(row, "channel_ref", "bad_ref", text["channel_ref"][:40]))
    received: datetime | None = None
    if text.get("received_at"):
        try:
            received = parse_moment(cells["received_at"])
        except (ValueError, OverflowError):
            errors.append(RowError(row, "received_at", "bad_time", text["received_at"][:40]))
    merchant_id = _merchant(row, text, by_badge, by_code, errors)
    request_type = REQUEST_TYPES.get(unicodedata.normalize("NFKC", text.get("request_type", "")).casefold(),
                                     None if text.get("request_type") else "complaint")
    if request_type is None:
        errors.append(RowError(row, "request_type", "bad_request_type", text["request_type"][:40]))
    # A channel's own taxonomy has many more kinds: what is not one of ours is "other".
    problem = _PROBLEMS.get(unicodedata.normalize("NFKC", text.get("problem_type", "")).casefold(), "other")
    purchased_on: date | None = None
    if text.get("purchased_on"):
        try:
            purchased_on = spreadsheets.parse_date(cells["purchased_on"])
        except (ValueError, OverflowError):
            errors.append(RowError(row, "purchased_on", "bad_date", text["purchased_on"][:40]))
    amount: int | None = None
    if text.get("amount_paid"):
        try:
            amount = spreadsheets.parse_yuan(cells["amount_paid"], MAX_AMOUNT_CENTS)
        except ValueError:
            errors.append(RowError(row, "amount_paid", "bad_amount", text["amount_paid"][:40]))
    phone = unicodedata.normalize("NFKC", text.get("shopper_phone", "")).replace(" ", "").replace("-", "")
    if phone and not _MOBILE.match(phone):
        errors.append(RowError(row, "shopper_phone", "bad_phone", text["shopper_phone"][:40]))
    if errors or received is None or merchant_id is None or request_type is None:
        return None
    req = intake.ChannelRequest(
        channel=channel, channel_ref=ref, received_at=received, merchant_id=merchant_id,
        request_type=request_type, item=text.get("item", ""), purchased_on=purchased_on,
        amount_paid_cents=amount, problem_type=problem if problem in PROBLEM_TYPES else "other",
        account=text["account"], wants=(), shopper_name=text.get("shopper_name") or None,
        shopper_phone=phone or None, consent_method=intake.CONSENT_BY_CHANNEL[channel][0],
        recorded_by=recorded_by)
    try:
        intake.check(req, now)
    except intake.IntakeError as err:
        errors.append(RowError(row, err.field or "", err.code, text.get(err.field or "", "")[:40]))
        return None
    if purchased_on is not None and purchased_on > received.astimezone(LOCAL_TZ).date():
        errors.append(RowError(row, "purchased_on", "purchased_after_receipt", text["purchased_on"][:40]))
        return None
    return req


def _merchant(row: int, text: dict[str, str], by_badge: dict[str, int],
              by_code: dict[str, list[tuple[int, str]]], errors: list[RowError]) -> int | None:
    badge = text.get("badge_code", "").lower()
    if badge:
        found = by_badge.get(badge)
        if found is None:
            errors.append(RowError(row, "badge_code", "unknown_badge", badge[:40]))
        return found
    code = uscc.normalize(text.get("credit_code", ""))
    if not code:
        errors.append(RowError(row, "credit_code", "no_shop"))
        return None
    shops = by_code.get(code, [])
    if len(shops) > 1 and text.get("address"):
        key = address_key(text["address"])
        shops = [s for s in shops if s[1] == key]
    if not shops:
        errors.append(RowError(row, "credit_code", "unknown_shop", code))
        return None
    if len(shops) > 1:
        errors.append(RowError(row, "address", "ambiguous_shop", code, {"count": len(shops)}))
        return None
    return shops[0][0]


def load(result: ImportResult, progress: Callable[[int], None] | None = None, officer: User | None = None) -> int:
    """File the new rows of a file without errors, each as the staff form files one; a row
    whose reference was filed meanwhile joins the existing ones. Returns how many were filed.
    Each row commits as it is filed (as on the staff form); the import run commits after them."""
    if result.errors:
        return 0
    for number, req in result.new:
        try:
            filed = intake.record(req)
        except intake.IntakeError as err:
            if err.code != "duplicate" or err.case_id is None:
                raise
            db.session.rollback()
            result.existing.append((number, err.case_id))
        else:
            result.created.append((number, filed.id))
        if progress:
            progress(1)
    record(result, officer)
    db.session.commit()
    return len(result.created)


def record(result: ImportResult, officer: User | None, dry_run: bool = False) -> None:
    """Add the file's import run to the session (the officer's town, if any)."""
    record_run(channel_kind(result.channel), filename=result.filename, rows_read=result.rows,
               created=len(result.created), skipped=len(result.existing), errors=result.error_rows,
               officer=officer, town_id=officer.town_id if officer is not None else None, dry_run=dry_run)


FIELD_LABELS = {
    "channel_ref": _l("The channel's reference number"), "received_at": _l("Received at"),
    "account": _l("The request as received"), "badge_code": _l("Badge code"), "credit_code": _l("Credit code"),
    "address": _l("Shop address"), "request_type": _l("Kind of request"), "problem_type": _l("Problem type"),
    "item": _l("What was bought"), "purchased_on": _l("Bought on"), "amount_paid": _l("Amount paid"),
    "shopper_name": _l("Shopper's name"), "shopper_phone": _l("Shopper's mobile number"),
}
MESSAGES = {
    "required": _l("This column is required."),
    "too_long": _l("Too long: at most %(max)s characters."),
    "bad_ref": _l("A reference number has letters, digits and - _ . / : # only (at most 64)."),
    "bad_time": _l("Not a date and time, e.g. 2026-11-30 14:05."),
    "bad_date": _l("Not a date, e.g. 2026-11-30."),
    "bad_amount": _l("Enter the amount in yuan, e.g. 199 or 199.50."),
    "bad_phone": _l("Enter an 11-digit mainland mobile number, e.g. 13812345678."),
    "bad_request_type": _l("The kind must be 投诉 / 举报 / 咨询 (complaint / report / consultation)."),
    "unknown_badge": _l("No shop taking complaints has this badge code."),
    "no_shop": _l("Give the shop's badge code or credit code."),
    "unknown_shop": _l("No shop taking complaints has this credit code (and address)."),
    "ambiguous_shop": _l("%(count)s shops have this credit code: give the address or the badge code."),
    "duplicate_in_file": _l("Same reference as row %(row)s of this file."),
    "control_characters": _l("Remove the control characters from this field."),
    "received_in_future": _l("The time it was received cannot be in the future."),
    "received_too_old": _l("Received more than three years ago: check the date."),
    "purchased_after_receipt": _l("The purchase cannot be after the request was received."),
    "channel_ref": _l("A reference number has letters, digits and - _ . / : # only (at most 64)."),
}
MAPPING_MESSAGES = {
    "bad_line": _l("Line %(detail)s is not of the form: header = field."),
    "bad_header": _l("The header %(detail)s cannot be used."),
    "unknown_field": _l("%(detail)s is not one of our fields."),
    "header_twice": _l("The header %(detail)s is mapped twice."),
    "required_field": _l("The mapping must name a column for: %(detail)s."),
}


def describe(error: RowError) -> str:
    return spreadsheets.describe(error, MESSAGES, FIELD_LABELS)


def describe_mapping_error(err: MappingError) -> str:
    return str(MAPPING_MESSAGES[err.code]) % {"detail": err.detail}


def column_label(key: str) -> str:
    return str(FIELD_LABELS.get(key, key)) if key else ""
