"""Demo only: requests from other channels entered through the staff form's own service, a
case with its 12315 number, and a 12345 export to try `flask complaints import-channel` on
(written to the instance folder, naming demo shops). Safe to run again: a reference entered
before is skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from .. import spreadsheets
from ..extensions import db
from ..localtime import LOCAL_TZ
from ..models import Channel, Complaint, Merchant, MerchantStatus, Role, User
from . import intake

DEMO_EXPORT = "demo-12345-export.csv"
DEMO_12315_REF = "3205852026000000001"
_REQUESTS = (  # (channel, reference, hours ago, consent, item, problem, account)
    ("phone", "DH-DEMO-0001", 2, "oral", "电动自行车", "quality",
     "来电反映：新买的电动车充电器两天就坏了，商家推说人为损坏。"),
    ("12345", "TC-DEMO-20261101", 30, "channel", "健身卡", "contract_terms",
     "12345转办：健身房突然停业，预付卡余额不退。"),
    ("letter", "XF-DEMO-017", 72, "written", "羊毛衫", "genuine_doubt",
     "来信反映：标称100%羊毛，洗后严重缩水，怀疑成分不符。"),
)


def load(now: datetime | None = None) -> int:
    """Enter the demo's channel requests, give one web case its 12315 number and write the demo
    export; returns how many requests were entered."""
    now = now or datetime.now(UTC)
    officer = db.session.scalar(select(User).where(User.role == Role.STAFF).order_by(User.id))
    shops = list(db.session.scalars(select(Merchant).where(Merchant.status == MerchantStatus.APPROVED)
                                    .order_by(Merchant.id).limit(8)))
    if officer is None or len(shops) < len(_REQUESTS):
        return 0
    entered = 0
    for n, (shop, (channel, ref, hours, consent, item, problem, account)) in enumerate(
            zip(shops, _REQUESTS, strict=False)):
        if intake.existing_case(channel, ref) is not None:
            continue
        intake.record(intake.ChannelRequest(
            channel=channel, channel_ref=ref, received_at=now - timedelta(hours=hours), merchant_id=shop.id,
            request_type="complaint", item=item, purchased_on=None, amount_paid_cents=None, problem_type=problem,
            account=account, wants=("refund",), shopper_name="示例市民", shopper_phone=f"1390000{n:04d}",
            consent_method=consent, recorded_by=officer), now)
        entered += 1
    _register_one_on_12315(officer, now)
    _write_export(shops[len(_REQUESTS):], now)
    return entered


def _register_one_on_12315(officer: User, now: datetime) -> None:
    if db.session.scalar(select(Complaint.id).where(Complaint.registered_12315_ref == DEMO_12315_REF)):
        return
    case = db.session.scalar(select(Complaint).where(
        Complaint.channel == Channel.WEB, Complaint.registered_12315_ref.is_(None),
        Complaint.request_type == "complaint").order_by(Complaint.received_at.desc()))
    if case is not None:
        case.registered_12315_ref, case.registered_12315_at = DEMO_12315_REF, now
        db.session.commit()


def _write_export(shops: list[Merchant], now: datetime) -> None:
    """A 12345 export as the hotline's system might write it, in the built-in mapping's columns."""
    day = now.astimezone(LOCAL_TZ) - timedelta(days=1)
    rows = [[f"TC{day:%Y%m%d}{n:04d}", f"{day:%Y-%m-%d} {9 + n}:15", "投诉", text, shop.credit_code,
             f"1390000{n:04d}", "示例市民"]
            for n, (shop, text) in enumerate(zip(shops, ("商家拒绝七天无理由退货。", "充值卡余额不退。",
                                                         "外卖食品变质。"), strict=False), start=1)]
    header = ("工单编号", "受理时间", "诉求类型", "诉求内容", "统一社会信用代码", "联系电话", "来电人")
    body = spreadsheets.write_csv(header, rows)
    Path(current_app.instance_path, DEMO_EXPORT).write_bytes(body)
