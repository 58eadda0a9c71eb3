"""Merchants in bulk: a town office imports its pledged merchants from an .xlsx or CSV file.

The file is read by the shared spreadsheet reader; every row is checked (credit code with its
check character, mobile number, category, commercial area of the town, status) before
anything is written, and nothing is written while any row has an error. A shop already
registered with the same credit code and address is left as it is and counted as such, so
importing the same file twice registers each shop once. Each new shop gets the status the
file gives (approved, pending or closed). Its owner is the merchant account whose login is
the contact mobile (shared by a business's branches), created when missing without a usable
password. Where asked (the importing officer's choice for the whole file, or the file's
"send sign-in link" column for a row), each owner whose account still awaits its first
password is sent a sign-in link by SMS, queued in the same transaction (auth.invites).
Rows go in through the ORM session, so the search index listener indexes the approved
shops in the same transaction.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import spreadsheets, uscc
from ..auth.invites import UNUSABLE_PREFIX, awaits_password, send_invite
from ..extensions import db
from ..forms import MOBILE_RE
from ..imports import record_run
from ..models import CATEGORIES, CommercialArea, Merchant, MerchantEvent, MerchantStatus, Role, Town, User, address_key
from ..spreadsheets import RowError, SheetError
from . import labels

COLUMNS: dict[str, tuple[str, ...]] = {
    "credit_code": ("统一社会信用代码", "社会信用代码", "信用代码", "credit code",
                    "unified social credit code", "uscc"),
    "legal_name": ("经营者名称", "企业名称", "主体名称", "单位名称", "legal name", "business name"),
    "shop_name": ("店铺名称", "门店名称", "店招名称", "招牌名称", "店名", "shop name", "sign name"),
    "address": ("经营地址", "店铺地址", "门店地址", "地址", "经营场所", "shop address", "address"),
    "area": ("商圈", "所属商圈", "商场", "commercial area", "area", "mall"),
    "category": ("行业类别", "行业", "经营类别", "category", "industry"),
    "contact_name": ("联系人", "负责人", "contact name", "contact"),
    "contact_phone": ("联系电话", "手机号码", "手机", "联系手机", "contact phone", "phone", "mobile"),
    "opening_hours": ("营业时间", "opening hours", "hours"),
    "status": ("状态", "登记状态", "审核状态", "status"),
    "invite": ("发送登录链接", "开通账号", "开通账户", "send sign-in link", "invite"),
}
REQUIRED = ("credit_code", "legal_name", "shop_name", "address", "category", "contact_name", "contact_phone",
            "status")
LIMITS = {"legal_name": 200, "shop_name": 100, "address": 200, "contact_name": 50, "opening_hours": 100}
STATUSES = {
    "已通过": "approved", "通过": "approved", "正常": "approved", "在营": "approved", "已承诺": "approved",
    "approved": "approved", "active": "approved",
    "待审核": "pending", "审核中": "pending", "pending": "pending",
    "已关闭": "closed", "关闭": "closed", "歇业": "closed", "注销": "closed", "closed": "closed",
}
CATEGORY_NAMES = {
    "food": ("餐饮", "食品", "餐饮食品", "食品餐饮"), "clothing": ("服装", "服装鞋帽", "鞋帽"),
    "property": ("物业", "物业服务"), "vehicles": ("汽车", "机动车", "车辆"), "appliances": ("家电", "家用电器"),
    "ebikes": ("电动自行车", "电动车"), "furniture": ("家具", "家居", "装修", "家居装修", "家具装修"),
    "beauty": ("美容", "美发", "美容美发", "美容美发化妆"), "education": ("教育", "培训", "教育培训"),
    "prepaid": ("预付卡", "预付式消费"), "telecoms": ("通信", "电信"), "other": ("其他",),
}
_CATEGORIES = {unicodedata.normalize("NFKC", n).casefold(): code
               for code, names in CATEGORY_NAMES.items() for n in (*names, code)}
YES_NO = {"是": True, "y": True, "yes": True, "1": True, "true": True, "√": True,
          "否": False, "n": False, "no": False, "0": False, "false": False, "": False}
_MOBILE = re.compile(MOBILE_RE)
UNUSABLE_PASSWORD = UNUSABLE_PREFIX  # no hash matches it: the owner signs in only after setting a password


@dataclass
class ShopRow:
    row: int
    values: dict[str, Any]


@dataclass
class ImportResult:
    town: Town
    rows: int = 0
    filename: str = ""
    new: list[ShopRow] = field(default_factory=list)
    existing: list[int] = field(default_factory=list)   # sheet rows already registered
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    owners_created: int = 0
    invited: int = 0

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors})


def importable_towns(user: User) -> list[Town]:
    """The towns an officer may import into: an admin any, a town's officer only its own,
    anyone else none (city staff without a town, stations, merchants)."""
    query = select(Town).order_by(Town.sort_order, Town.id)
    if user.is_admin:
        return list(db.session.scalars(query))
    if user.is_staff and user.town_id is not None:
        return list(db.session.scalars(query.where(Town.id == user.town_id)))
    return []


def prepare(town: Town, filename: str, data: bytes) -> tuple[ImportResult, list[tuple[int, dict[str, Any]]]]:
    """Read the file: the rows to check, or file-level errors (row 0) in the result."""
    result = ImportResult(town, filename=filename)
    try:
        rows = spreadsheets.header_rows(spreadsheets.read_table(filename, data), COLUMNS, REQUIRED)
    except SheetError as err:
        result.errors.append(err.as_row_error())
        return result, []
    result.rows = len(rows)
    return result, rows


def check(result: ImportResult, rows: list[tuple[int, dict[str, Any]]],
          progress: Callable[[int], None] | None = None) -> ImportResult:
    """Check every row; never writes. `progress(1)` per row."""
    areas = {unicodedata.normalize("NFKC", a.name).casefold(): a.id for a in db.session.scalars(
        select(CommercialArea).where(CommercialArea.town_id == result.town.id))}
    codes = {uscc.normalize(spreadsheets.cell_text(c.get("credit_code"))) for _, c in rows}
    known: set[tuple[str, str]] = set()
    for chunk in _chunks(sorted(codes)):
        known.update(db.session.execute(select(Merchant.credit_code, Merchant.address_key).where(
            Merchant.credit_code.in_(chunk), Merchant.status != MerchantStatus.REJECTED)).tuples())
    seen: dict[tuple[str, str], int] = {}
    for number, cells in rows:
        errors: list[RowError] = []
        values = _row_values(number, cells, areas, errors)
        key = (values.get("credit_code", ""), address_key(values.get("address", "")))
        if not errors:
            if key in seen:
                errors.append(RowError(number, "address", "duplicate_in_file", values["address"], {"row": seen[key]}))
            elif key in known:
                result.existing.append(number)
            else:
                result.new.append(ShopRow(number, values))
            seen.setdefault(key, number)
        result.errors.extend(errors)
        if progress:
            progress(1)
    return result


def _chunks(items: list[str], size: int = 500) -> Any:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _row_values(row: int, cells: dict[str, Any], areas: dict[str, int], errors: list[RowError]) -> dict[str, Any]:
    text = {k: spreadsheets.cell_text(v) for k, v in cells.items()}
    values: dict[str, Any] = {}
    for key in REQUIRED:
        if not text.get(key):
            errors.append(RowError(row, key, "required"))
    for key, limit in LIMITS.items():
        if len(text.get(key, "")) > limit:
            errors.append(RowError(row, key, "too_long", text[key][:40] + "…", {"max": limit}))
        values[key] = text.get(key, "")
    if text.get("credit_code"):
        try:
            values["credit_code"] = uscc.validate(text["credit_code"])
        except uscc.CreditCodeError:
            errors.append(RowError(row, "credit_code", "bad_credit_code", text["credit_code"]))
    phone = unicodedata.normalize("NFKC", text.get("contact_phone", "")).replace(" ", "").replace("-", "")
    if phone and not _MOBILE.match(phone):
        errors.append(RowError(row, "contact_phone", "bad_phone", text["contact_phone"]))
    values["contact_phone"] = phone
    category = text.get("category", "")
    if category:
        values["category"] = _CATEGORIES.get(unicodedata.normalize("NFKC", category).casefold())
        if values["category"] not in CATEGORIES:
            errors.append(RowError(row, "category", "bad_category", category))
    status = text.get("status", "")
    if status:
        values["status"] = STATUSES.get(unicodedata.normalize("NFKC", status).casefold())
        if values["status"] is None:
            errors.append(RowError(row, "status", "bad_status", status))
    invite = unicodedata.normalize("NFKC", text.get("invite", "")).casefold()
    values["invite"] = YES_NO.get(invite, False)
    if invite not in YES_NO:
        errors.append(RowError(row, "invite", "bad_yes_no", text["invite"]))
    area = text.get("area", "")
    values["area_id"] = None
    if area:
        values["area_id"] = areas.get(unicodedata.normalize("NFKC", area).casefold())
        if values["area_id"] is None:
            errors.append(RowError(row, "area", "unknown_area", area))
    if any(any(_is_control(c) for c in v) for v in text.values()):
        errors.append(RowError(row, "", "control_characters"))
    return values


def _is_control(c: str) -> bool:
    from ..forms import is_control_char

    return is_control_char(c)


def parse(town: Town, filename: str, data: bytes) -> ImportResult:
    result, rows = prepare(town, filename, data)
    return check(result, rows)


def load(result: ImportResult, officer: User | None, progress: Callable[[int], None] | None = None,
         invite_all: bool = False) -> int:
    """Register the new shops of a file without errors, in one transaction; returns how many.
    Owners are sent a sign-in link where `invite_all` or the row's own column asks for it.
    A file without errors is recorded as an import run, even when every shop was already there."""
    if result.errors:
        return 0
    if not result.new:
        record(result, officer)
        db.session.commit()
        return 0
    phones = {r.values["contact_phone"] for r in result.new}
    owners = {u.phone: u for chunk in _chunks(sorted(phones))
              for u in db.session.scalars(select(User).where(User.phone.in_(chunk)))}
    invited: set[int] = set()
    for shop in result.new:
        v = shop.values
        owner = owners.get(v["contact_phone"])
        if owner is not None and owner.role != Role.MERCHANT:
            result.errors.append(RowError(shop.row, "contact_phone", "phone_of_staff", v["contact_phone"]))
            continue
        if owner is None:
            owner = User(phone=v["contact_phone"], display_name=v["contact_name"],
                         password_hash=UNUSABLE_PASSWORD + secrets.token_hex(8), role=Role.MERCHANT)
            db.session.add(owner)
            owners[v["contact_phone"]] = owner
            result.owners_created += 1
        merchant = Merchant(owner=owner, credit_code=v["credit_code"], legal_name=v["legal_name"],
                            shop_name=v["shop_name"], address=v["address"], address_key=address_key(v["address"]),
                            town_id=result.town.id, area_id=v["area_id"], category=v["category"],
                            contact_name=v["contact_name"], contact_phone=v["contact_phone"],
                            opening_hours=v["opening_hours"], status=v["status"],
                            reviewed_by_id=officer.id if officer and v["status"] != "pending" else None)
        db.session.add(merchant)
        db.session.flush()
        db.session.add(MerchantEvent(merchant_id=merchant.id, from_status=None, to_status=v["status"],
                                     actor_id=officer.id if officer else None, note=labels.IMPORTED))
        if (invite_all or v["invite"]) and owner.id not in invited and awaits_password(owner):
            send_invite(owner)
            invited.add(owner.id)
        if progress:
            progress(1)
    if result.errors:
        db.session.rollback()
        result.owners_created = 0
        return 0
    result.created = len(result.new)
    record(result, officer)
    db.session.commit()
    result.invited = len(invited)
    return result.created


def record(result: ImportResult, officer: User | None, dry_run: bool = False) -> None:
    """Add the file's import run to the session (committed with the load)."""
    record_run("merchants", filename=result.filename, rows_read=result.rows,
               created=0 if dry_run else result.created, skipped=len(result.existing),
               errors=result.error_rows, officer=officer, town_id=result.town.id, dry_run=dry_run)


COLUMN_LABELS = {
    "credit_code": _l("Credit code"), "legal_name": _l("Legal name"), "shop_name": _l("Shop"),
    "address": _l("Shop address"), "area": _l("Commercial area"), "category": _l("Category"),
    "contact_name": _l("Contact person"), "contact_phone": _l("Contact mobile"),
    "opening_hours": _l("Opening hours"), "status": _l("Status"), "invite": _l("Send sign-in link"),
}
MESSAGES = {
    "required": _l("This column is required."),
    "too_long": _l("Too long: at most %(max)s characters."),
    "bad_credit_code": _l("Not a valid unified social credit code."),
    "bad_phone": _l("Enter an 11-digit mainland mobile number, e.g. 13812345678."),
    "bad_category": _l("Not one of the industry categories."),
    "bad_status": _l("The status must be 已通过 / 待审核 / 已关闭 (approved / pending / closed)."),
    "unknown_area": _l("No commercial area of this name in the town."),
    "duplicate_in_file": _l("Same as row %(row)s of this file."),
    "control_characters": _l("Remove the control characters from this field."),
    "phone_of_staff": _l("This mobile number is the login of a staff account."),
    "bad_yes_no": _l("Write 是 or 否 (yes or no)."),
}


def describe(error: RowError) -> str:
    return spreadsheets.describe(error, MESSAGES, COLUMN_LABELS)


def column_label(key: str) -> str:
    return str(COLUMN_LABELS.get(key, key)) if key else ""
