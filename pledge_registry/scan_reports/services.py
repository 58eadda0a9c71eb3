"""Sticker reports, the alerts job, the retention purge and the staff list's query."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, request
from sqlalchemy import Select, delete, distinct, false, func, or_, select

from ..extensions import db
from ..models import Merchant, Role, ScanAlert, ScanAlertKind, StickerReport, SuspiciousScan, Town, User
from ..models.scans import CODE_LENGTH
from ..outbox import enqueue
from .rules import Thresholds, alert_period, alertable, source_key, source_of

log = logging.getLogger(__name__)


def thresholds() -> Thresholds:
    config = current_app.config
    return Thresholds(window_hours=config["SCAN_ALERT_WINDOW_HOURS"],
                      unknown_scans=config["SCAN_ALERT_UNKNOWN_SCANS"],
                      revoked_scans=config["SCAN_ALERT_REVOKED_SCANS"],
                      min_sources=config["SCAN_ALERT_MIN_SOURCES"])


# --- the shopper's report ------------------------------------------------------------------

def record_report(code: str, town_id: int | None, place: str, shop_name: str, note: str) -> StickerReport:
    """Keep where a shopper saw a sticker with an unknown code (the caller checked it is unknown)."""
    key = source_key(current_app.config["SECRET_KEY"])
    report = StickerReport(code=code[:CODE_LENGTH], town_id=town_id or None, place=place, shop_name=shop_name,
                           note=note, source=source_of(request.remote_addr, key))
    db.session.add(report)
    db.session.commit()
    return report


def town_choices() -> list[tuple[int, str]]:
    english = _english()
    return [(t.id, t.name_en if english else t.name)
            for t in db.session.scalars(select(Town).order_by(Town.sort_order, Town.id))]


def _english() -> bool:
    from ..i18n import select_locale

    return select_locale() == "en"


# --- alerts ------------------------------------------------------------------------------

@dataclass
class AlertRun:
    raised: int = 0
    notified: int = 0


def raise_alerts(now: datetime | None = None) -> AlertRun:
    """Raise an alert for each code over its threshold in the last window, once per window,
    and message the officers of its town through the outbox. Safe to run again."""
    now = now or datetime.now(UTC)
    rule = thresholds()
    since = now - timedelta(hours=rule.window_hours)
    period = alert_period(now, rule.window_hours)
    run = AlertRun()
    counted = (select(SuspiciousScan.code, SuspiciousScan.merchant_id, func.count(),
                      func.count(distinct(SuspiciousScan.source)))
               .where(SuspiciousScan.scanned_at >= since)
               .group_by(SuspiciousScan.code, SuspiciousScan.merchant_id))
    candidates: list[tuple[str, str, int | None, int, int]] = []
    for code, _, scans, sources in db.session.execute(counted.where(SuspiciousScan.state == "unknown")):
        if rule.unknown_alert(scans, sources) and alertable(code):
            candidates.append((ScanAlertKind.UNKNOWN_REPEATED, code, None, scans, sources))
    for code, merchant_id, scans, sources in db.session.execute(counted.where(SuspiciousScan.state == "revoked")):
        if rule.revoked_alert(scans, sources):
            candidates.append((ScanAlertKind.REVOKED_SCANNED, code, merchant_id, scans, sources))
    if not candidates:
        return run
    already = set(db.session.execute(
        select(ScanAlert.kind, ScanAlert.code).where(ScanAlert.period == period)).tuples())
    for kind, code, merchant_id, scans, sources in candidates:
        if (kind, code) in already:
            continue
        town_id = _town_of(code, merchant_id)
        alert = ScanAlert(raised_at=now, kind=kind, code=code, period=period, merchant_id=merchant_id,
                          town_id=town_id, scans=scans, sources=sources)
        db.session.add(alert)
        db.session.flush()
        alert.notified = _notify(alert)
        run.raised += 1
        run.notified += alert.notified
    db.session.commit()
    return run


def _town_of(code: str, merchant_id: int | None) -> int | None:
    """The shop's town; for an unknown code, the town most shoppers reported it in, if any."""
    if merchant_id is not None:
        return db.session.scalar(select(Merchant.town_id).where(Merchant.id == merchant_id))
    return db.session.scalar(
        select(StickerReport.town_id).where(StickerReport.code == code, StickerReport.town_id.is_not(None))
        .group_by(StickerReport.town_id).order_by(func.count().desc(), StickerReport.town_id).limit(1))


def _notify(alert: ScanAlert) -> int:
    """Message the town's officers (staff whose town it is); with no town known, nobody:
    the alert waits on the staff page. Returns how many messages were queued."""
    if alert.town_id is None:
        return 0
    officers = db.session.scalars(select(User).where(
        User.role.in_((Role.STAFF, Role.ADMIN)), User.town_id == alert.town_id, User.disabled.is_(False)))
    shop = db.session.get(Merchant, alert.merchant_id) if alert.merchant_id else None
    context = {"code": alert.code, "scans": alert.scans, "hours": thresholds().window_hours,
               "shop": shop.shop_name if shop else "", "address": shop.address if shop else "",
               "alert_id": alert.id}
    template = "scan_alert_unknown" if alert.kind == ScanAlertKind.UNKNOWN_REPEATED else "scan_alert_revoked"
    sent = 0
    for officer in officers:
        channel, recipient = ("email", officer.email) if officer.email else ("sms", officer.phone or "")
        if not recipient:
            continue
        enqueue(channel, recipient, template, context, dedupe_key=f"scan_alert:{alert.id}:{officer.id}")
        sent += 1
    return sent


# --- retention -----------------------------------------------------------------------------

def purge(now: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete scans, reports and alerts older than SCAN_LOG_RETENTION_DAYS (at most 30);
    in batches, so a large backlog never holds the write lock long. Returns rows deleted."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=min(30, current_app.config["SCAN_LOG_RETENTION_DAYS"]))
    total = 0
    for model, column in ((SuspiciousScan, SuspiciousScan.scanned_at), (StickerReport, StickerReport.reported_at),
                          (ScanAlert, ScanAlert.raised_at)):
        while True:
            ids = list(db.session.scalars(select(model.id).where(column < cutoff).order_by(model.id)
                                          .limit(batch_size)))
            if not ids:
                break
            db.session.execute(delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False))
            db.session.commit()
            total += len(ids)
    return total


# --- the staff page --------------------------------------------------------------------------

@dataclass(frozen=True)
class ScanFilter:
    code: str = ""
    state: str = ""
    merchant_id: int | None = None
    town_id: int | None = None
    area_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def args(self, days: dict[str, str]) -> dict[str, Any]:
        values = {"code": self.code, "state": self.state, "shop": self.merchant_id, "town": self.town_id,
                  "area": self.area_id, **days}
        return {k: v for k, v in values.items() if v}


def scans_query(f: ScanFilter) -> Select[Any]:
    """The suspicious scans matching the filter (newest first when paged by scanned_at)."""
    query = select(SuspiciousScan)
    if f.code:
        query = query.where(SuspiciousScan.code == f.code)
    if f.state:
        query = query.where(SuspiciousScan.state == f.state)
    if f.merchant_id:
        query = query.where(SuspiciousScan.merchant_id == f.merchant_id)
    if f.town_id or f.area_id:
        # A shop's own town or area; for an unknown code, where shoppers reported it.
        shops = select(Merchant.id)
        reported = select(StickerReport.code)
        if f.town_id:
            shops = shops.where(Merchant.town_id == f.town_id)
            reported = reported.where(StickerReport.town_id == f.town_id)
        if f.area_id:
            shops = shops.where(Merchant.area_id == f.area_id)
            reported = reported.where(false())  # a report names a town, not a commercial area
        query = query.where(or_(SuspiciousScan.merchant_id.in_(shops),
                                SuspiciousScan.merchant_id.is_(None) & SuspiciousScan.code.in_(reported)))
    if f.since:
        query = query.where(SuspiciousScan.scanned_at >= f.since)
    if f.until:
        query = query.where(SuspiciousScan.scanned_at < f.until)
    return query


def top_codes(f: ScanFilter, limit: int = 10) -> list[tuple[str, str, int | None, int, int, datetime]]:
    """The most scanned codes under the filter: (code, state, merchant id, scans, sources, last scan)."""
    sub = scans_query(f).subquery()
    rows = db.session.execute(
        select(sub.c.code, sub.c.state, sub.c.merchant_id, func.count(), func.count(distinct(sub.c.source)),
               func.max(sub.c.scanned_at))
        .group_by(sub.c.code, sub.c.state, sub.c.merchant_id)
        .order_by(func.count().desc(), sub.c.code).limit(limit))
    return [(r[0], r[1], r[2], r[3], r[4], _aware(r[5])) for r in rows]


def _aware(value: Any) -> datetime:
    """MAX() over a UTC column comes back as text or a naive datetime on SQLite."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def recent_alerts(limit: int = 20) -> list[ScanAlert]:
    return list(db.session.scalars(select(ScanAlert).order_by(ScanAlert.raised_at.desc(), ScanAlert.id.desc())
                                   .limit(limit)))


def reports_for(codes: set[str]) -> dict[str, list[StickerReport]]:
    """The shoppers' reports of these codes, newest first."""
    if not codes:
        return {}
    found: dict[str, list[StickerReport]] = {}
    for report in db.session.scalars(select(StickerReport).where(StickerReport.code.in_(codes))
                                     .order_by(StickerReport.reported_at.desc(), StickerReport.id.desc())):
        found.setdefault(report.code, []).append(report)
    return found
