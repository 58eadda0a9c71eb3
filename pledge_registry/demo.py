"""Demo data for a city: Taicang's towns and commercial areas, pledge templates, and
merchants in every state. Used by `flask demo load` and by the benchmarks (at any size)."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, literal, null, select
from werkzeug.security import generate_password_hash

from . import uscc
from .extensions import db
from .models import (
    CATEGORIES,
    CommercialArea,
    Merchant,
    MerchantEvent,
    Pledge,
    PledgeEvent,
    PledgeTemplate,
    Role,
    Town,
    User,
    address_key,
    new_badge_code,
)

TOWNS = [
    ("城厢镇", "Chengxiang", ["南洋广场", "华发广场", "万达广场"]),
    ("沙溪镇", "Shaxi", ["沙溪古镇"]),
    ("浏河镇", "Liuhe", ["浏河老街"]),
    ("浮桥镇", "Fuqiao", []),
    ("璜泾镇", "Huangjing", []),
    ("双凤镇", "Shuangfeng", []),
    ("高新区", "High-tech Zone", ["月星家居广场"]),
    ("港区", "Port Zone", []),
]
AREA_EN = {"南洋广场": "Nanyang Plaza", "华发广场": "Huafa Plaza", "万达广场": "Wanda Plaza",
           "沙溪古镇": "Shaxi Ancient Town", "浏河老街": "Liuhe Old Street",
           "月星家居广场": "Yuexing Home Furnishing Plaza"}

TEMPLATES = {
    "genuine": (
        "正版正货承诺",
        "本店郑重承诺：\n"
        "一、只销售来源合法、质量合格的正版正货，不销售假冒伪劣、侵犯知识产权的商品。\n"
        "二、消费者要求时，如实出示商品来源凭证。\n"
        "三、经查实销售假冒商品的，依法退货退款并予以赔偿；存在欺诈的，按《消费者权益保护法》"
        "第五十五条退一赔三，赔偿金额不足五百元的按五百元赔偿。",
        "Genuine goods pledge",
        "This shop solemnly pledges:\n"
        "1. It sells only genuine goods from lawful sources, never counterfeit or infringing goods.\n"
        "2. It shows where goods come from when a shopper asks.\n"
        "3. If a counterfeit is found, it refunds and compensates as the law requires; for fraud, "
        "the refund plus three times the price, at least 500 yuan (Consumer Protection Law, art. 55).",
    ),
    "returns": (
        "线下无理由退货承诺",
        "本店承诺：在本店实体店购买的商品，自购买之日起{return_days}日内，在商品完好、"
        "出示购物凭证的前提下，消费者可无理由退货。\n"
        "退货条件：{conditions}\n"
        "不适用无理由退货的商品：{exclusions}。\n"
        "退款方式：{refund_method}，于{refund_days}日内退还。",
        "Offline no-reason returns pledge",
        "Goods bought in this shop can be returned within {return_days} days of purchase without "
        "giving a reason, if they are intact and the receipt is shown.\n"
        "Conditions: {conditions}\n"
        "Goods that cannot be returned without a reason: {exclusions}.\n"
        "Refund: {refund_method}, within {refund_days} days.",
    ),
}

SHOP_WORDS = ["鑫", "华", "福", "盛", "源", "兴", "隆", "泰", "嘉", "和", "美", "佳", "新", "金", "恒", "瑞"]
SHOP_KINDS = {
    "food": ["面馆", "烘焙坊", "超市", "茶餐厅"], "clothing": ["服饰", "鞋业", "童装"],
    "property": ["物业"], "vehicles": ["汽车销售", "汽修"], "appliances": ["电器", "数码"],
    "ebikes": ["电动车行"], "furniture": ["家居", "装饰"], "beauty": ["美容院", "美发"],
    "education": ["培训中心"], "prepaid": ["健身房", "洗衣店"], "telecoms": ["通讯"], "other": ["商行"],
}


def random_credit_code(rng: random.Random, region: str = "320585") -> str:
    """A structurally valid credit code (enterprise, Taicang region) with its check character."""
    body = "91" + region + "".join(rng.choice(uscc.ALPHABET) for _ in range(9))
    return body + uscc.check_character(body)


def ensure_places() -> None:
    if db.session.scalar(select(func.count()).select_from(Town)):
        return
    for order, (name, name_en, areas) in enumerate(TOWNS):
        town = Town(name=name, name_en=name_en, sort_order=order)
        db.session.add(town)
        for a_order, area in enumerate(areas):
            db.session.add(CommercialArea(town=town, name=area, name_en=AREA_EN[area], sort_order=a_order))
    db.session.commit()


def ensure_templates() -> None:
    for kind, (title_zh, body_zh, title_en, body_en) in TEMPLATES.items():
        exists = db.session.scalar(select(PledgeTemplate.id).where(PledgeTemplate.kind == kind))
        if exists is None:
            db.session.add(PledgeTemplate(kind=kind, version=1, title_zh=title_zh, body_zh=body_zh,
                                          title_en=title_en, body_en=body_en))
    db.session.commit()


def _state_for(i: int) -> tuple[str, dict[str, str]]:
    """Merchant status and pledge statuses by kind, cycling through every state."""
    cycle = [
        ("approved", {"genuine": "active", "returns": "active"}),
        ("approved", {"genuine": "active", "returns": "active"}),
        ("approved", {"genuine": "active", "returns": "active"}),
        ("approved", {"genuine": "active"}),
        ("approved", {"genuine": "active", "returns": "suspended"}),
        ("approved", {"genuine": "revoked", "returns": "active"}),
        ("approved", {"genuine": "expired", "returns": "expired"}),
        ("approved", {"genuine": "submitted", "returns": "submitted"}),
        ("pending", {"genuine": "submitted", "returns": "draft"}),
        ("rejected", {}),
        ("closed", {"genuine": "active"}),
        ("approved", {"genuine": "active", "returns": "active"}),
    ]
    return cycle[i % len(cycle)]


@dataclass(frozen=True)
class _Places:
    """The reference rows demo merchants are spread over."""

    towns: list[Town]
    areas_by_town: dict[int, list[int]]
    templates: dict[str, int]  # pledge kind -> template id (the latest version)


def _places() -> _Places:
    areas_by_town: dict[int, list[int]] = {}
    for area in db.session.scalars(select(CommercialArea)):
        areas_by_town.setdefault(area.town_id, []).append(area.id)
    templates = {t.kind: t.id for t in db.session.scalars(select(PledgeTemplate).order_by(PledgeTemplate.version))}
    return _Places(list(db.session.scalars(select(Town))), areas_by_town, templates)


def load_merchants(count: int, seed: int = 8736, owner_batch: int = 1, now: datetime | None = None,
                   with_events: bool = True, chunk: int = 5000) -> int:
    """Insert `count` merchants with pledges in every state, in bulk. Returns how many."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    places = _places()
    start_id = (db.session.scalar(select(func.max(Merchant.id))) or 0) + 1
    # Demo owners get a random password nobody knows: they exist to own shops, not to sign in.
    password_hash = generate_password_hash(secrets.token_urlsafe(32), method="scrypt")
    done = 0
    while done < count:
        n = min(chunk, count - done)
        _load_chunk(rng, places, start_id + done, n, password_hash, now, with_events)
        done += n
    if with_events:
        _add_first_pledge_events()
    return count


def _load_chunk(rng: random.Random, places: _Places, first: int, n: int, password_hash: str, now: datetime,
                with_events: bool) -> None:
    """Merchants first .. first + n - 1, each with its owner and pledges, in one transaction."""
    owner_ids = _insert_owners(first, n, password_hash, now)
    merchants, pledges = [], []
    for k, owner_id in enumerate(owner_ids):
        i = first + k
        merchants.append(_merchant_row(rng, places, i, owner_id, now))
        for kind, status in _state_for(i)[1].items():
            pledges.append((owner_id, {**_pledge_row(rng, places, kind, status, owner_id, now),
                                       "town_id": merchants[-1]["town_id"]}))
    db.session.execute(insert(Merchant), merchants)
    merchant_of = dict(db.session.execute(
        select(Merchant.owner_id, Merchant.id).where(Merchant.owner_id.in_(owner_ids))).tuples().all())
    if pledges:
        db.session.execute(insert(Pledge), [{**row, "merchant_id": merchant_of[owner_id]} for owner_id, row in pledges])
    if with_events:
        db.session.execute(insert(MerchantEvent), [
            {"merchant_id": mid, "from_status": None, "to_status": "pending", "actor_id": oid,
             "note": "", "created_at": now} for oid, mid in merchant_of.items()])
    db.session.commit()


def _insert_owners(first: int, n: int, password_hash: str, now: datetime) -> list[int]:
    """One merchant account per shop; their ids, in the shops' order."""
    users = [{"phone": None, "email": f"demo{first + k}-{secrets.token_hex(3)}@demo.invalid",
              "display_name": f"商户{first + k}", "password_hash": password_hash, "role": Role.MERCHANT,
              "session_token": secrets.token_urlsafe(24), "disabled": False, "created_at": now}
             for k in range(n)]
    db.session.execute(insert(User), users)
    return list(db.session.scalars(
        select(User.id).where(User.email.in_([u["email"] for u in users])).order_by(User.id)))


def _merchant_row(rng: random.Random, places: _Places, i: int, owner_id: int, now: datetime) -> dict[str, Any]:
    """The i-th demo shop: category and town by turns, name and address at random."""
    category = CATEGORIES[i % len(CATEGORIES)]
    town = places.towns[i % len(places.towns)]
    area_ids: list[int | None] = [*places.areas_by_town.get(town.id, [])] or [None]
    status = _state_for(i)[0]
    shop = rng.choice(SHOP_WORDS) + rng.choice(SHOP_WORDS) + rng.choice(SHOP_KINDS[category])
    address = f"{town.name}{rng.choice(['人民', '上海', '郑和', '县府', '新华'])}路{i}号"
    return {
        "owner_id": owner_id, "credit_code": random_credit_code(rng), "legal_name": f"太仓市{shop}有限公司",
        "shop_name": shop, "address": address, "address_key": address_key(address),
        "town_id": town.id, "area_id": area_ids[i % len(area_ids)], "category": category,
        "contact_name": "王经理", "contact_phone": f"139{i % 100000000:08d}",
        "opening_hours": "09:00-21:00", "status": status, "badge_code": new_badge_code(),
        "review_note": "证照信息不清晰" if status == "rejected" else "", "created_at": now,
        "public_version": 1,
    }


def _pledge_row(rng: random.Random, places: _Places, kind: str, status: str, owner_id: int,
                now: datetime) -> dict[str, Any]:
    """A pledge of `kind` in `status`, signed by the shop's owner (merchant_id added later)."""
    activated = now - timedelta(days=400 if status == "expired" else rng.randint(30, 300))
    live = status in ("active", "suspended", "revoked", "expired")
    returns = kind == "returns"
    return {
        "kind": kind, "template_id": places.templates[kind], "status": status,
        "return_days": rng.choice([7, 15, 30]) if returns else None,
        "refund_method": "original" if returns else None,
        "refund_days": 3 if returns else None,
        "conditions": "商品完好、配件齐全、凭购物小票" if returns else "",
        "excluded_goods": ["custom", "fresh", "hygiene"] if returns else [],
        "signed_by_id": owner_id, "created_at": activated,
        "submitted_at": activated if status != "draft" else None,
        "activated_at": activated if live else None,
        "expires_at": activated + timedelta(days=365) if live else None,
        "status_note": "抽查发现问题" if status in ("suspended", "revoked") else "",
    }


def _add_first_pledge_events() -> None:
    """Each pledge without an event gets the one that made it what it is."""
    db.session.execute(
        insert(PledgeEvent).from_select(
            ["pledge_id", "from_status", "to_status", "actor_id", "note", "created_at"],
            select(Pledge.id, null(), Pledge.status, Pledge.signed_by_id, literal(""), Pledge.created_at)
            .where(~Pledge.id.in_(select(PledgeEvent.pledge_id)))))
    db.session.commit()
