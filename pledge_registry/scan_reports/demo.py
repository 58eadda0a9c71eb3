"""Demo data for the suspicious-scans page: scans of a few revoked, suspended, expired and
closed demo shops and of three forged codes, two shoppers' reports, and the alerts they raise.
Deterministic from the seed; the addresses are from the documentation ranges (RFC 5737)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import insert, select

from ..extensions import db
from ..models import Merchant, MerchantStatus, StickerReport, SuspiciousScan, Town
from ..pledges.standing import shop_standing
from .rules import source_key, source_of
from .services import raise_alerts

FORGED_CODES = ("fake7k2m9q4wx", "h8n3p5r7t2v4y", "zz9demo2forge")
_NETWORKS = ("192.0.2.{}", "198.51.100.{}", "203.0.113.{}")


def load_suspicious_scans(seed: int = 315, now: datetime | None = None) -> int:
    """Insert the demo's suspicious scans and reports, then raise alerts. Returns the scans."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    key = source_key(current_app.config["SECRET_KEY"])
    shops: dict[str, list[Merchant]] = {}
    candidates = select(Merchant).where(Merchant.status.in_((MerchantStatus.APPROVED, MerchantStatus.CLOSED)))
    for merchant in db.session.scalars(candidates.order_by(Merchant.id).limit(400)):
        state = shop_standing(merchant, now).state
        if state in ("suspended", "revoked", "expired", "closed") and len(shops.get(state, [])) < 3:
            shops.setdefault(state, []).append(merchant)
    targets: list[tuple[str, str, int | None]] = [(m.badge_code, state, m.id) for state, found in shops.items()
                                                 for m in found]
    targets += [(code, "unknown", None) for code in FORGED_CODES]
    rows = []
    for code, state, merchant_id in targets:
        # Revoked badges and forged codes are scanned often enough to raise an alert.
        count = rng.randint(6, 14) if state in ("revoked", "unknown") else rng.randint(1, 4)
        for _ in range(count):
            address = rng.choice(_NETWORKS).format(rng.randint(1, 254))
            rows.append({"scanned_at": now - timedelta(minutes=rng.randint(1, 20 * 60)), "code": code,
                         "state": state, "merchant_id": merchant_id, "source": source_of(address, key)})
    if rows:
        db.session.execute(insert(SuspiciousScan), rows)
    towns = list(db.session.scalars(select(Town).order_by(Town.sort_order, Town.id)))
    if towns:
        db.session.add_all([
            StickerReport(reported_at=now - timedelta(hours=3), code=FORGED_CODES[0], town_id=towns[0].id,
                          place="南洋广场二楼", shop_name="好运鞋店", note="贴在收银台旁边",
                          source=source_of("192.0.2.44", key)),
            StickerReport(reported_at=now - timedelta(hours=1), code=FORGED_CODES[0], town_id=towns[0].id,
                          place="南洋广场", shop_name="", note="", source=source_of("198.51.100.7", key)),
        ])
    db.session.commit()
    raise_alerts(now)
    return len(rows)
