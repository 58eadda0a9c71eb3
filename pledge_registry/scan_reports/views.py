"""The shopper's sticker report (from the unknown-code page) and staff's page of suspicious scans."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import paging
from ..extensions import db, limiter
from ..forms import query_int, query_text
from ..localtime import local_midnight, parse_day
from ..models import CommercialArea, Merchant, SuspiciousScan, Town
from ..models.scans import CODE_LENGTH
from ..public.scan import version_of
from ..security import public, staff_required
from ..urls import MAX_ID
from . import bp, services
from .forms import StickerReportForm
from .pages import unknown_badge_page
from .rules import SUSPICIOUS_STATES


def _report_limit() -> str:
    return current_app.config["STICKER_REPORT_LIMIT_PER_IP"]


@bp.route("/m/<code>/report", methods=["POST"])
@public
@limiter.limit(_report_limit, methods=["POST"])
def report(code: str):
    """Where a shopper saw a sticker whose code is not in the registry (only such codes)."""
    if len(code) > CODE_LENGTH or version_of(code) is not None:
        abort(404)
    form = StickerReportForm().set_towns(services.town_choices())
    if not form.validate_on_submit():
        return unknown_badge_page(code, form), 400
    services.record_report(code, form.town.data or None, form.place.data or "", form.shop_name.data or "",
                           form.note.data or "")
    return redirect(url_for(".reported", code=code))


@bp.route("/m/<code>/reported")
@public
def reported(code: str):
    return render_template("scan_reports/reported.html", code=code[:CODE_LENGTH])


# --- staff ---------------------------------------------------------------------------------


@bp.route("/staff/scans")
@staff_required
def scans():
    """Suspicious scans by code, shop, area and time, with the alerts and shoppers' reports."""
    state = request.args.get("state", "")
    day_from, day_to = parse_day(request.args.get("from", "")), parse_day(request.args.get("to", ""))
    f = services.ScanFilter(
        code=query_text("code", CODE_LENGTH), state=state if state in SUSPICIOUS_STATES else "",
        merchant_id=query_int("shop", None, 1, MAX_ID), town_id=query_int("town", None, 1, MAX_ID),
        area_id=query_int("area", None, 1, MAX_ID),
        since=local_midnight(day_from) if day_from else None,
        until=local_midnight(day_to + timedelta(days=1)) if day_to else None)
    days = {k: v.isoformat() for k, v in (("from", day_from), ("to", day_to)) if v}
    page = paging.keyset_page(
        services.scans_query(f), SuspiciousScan.scanned_at, SuspiciousScan.id, descending=True,
        options=(selectinload(SuspiciousScan.merchant).selectinload(Merchant.town),
                 selectinload(SuspiciousScan.merchant).selectinload(Merchant.area)))
    top = services.top_codes(f)
    shown = {s.code for s in page.items if s.merchant_id is None} | {c for c, st, *_ in top if st == "unknown"}
    merchant_ids = {m for _, _, m, *_ in top if m}
    return render_template(
        "scan_reports/scans.html", page=page, top=top, filters=f.args(days), f=f,
        states=sorted(SUSPICIOUS_STATES), reports=services.reports_for(shown),
        merchants={m.id: m for m in db.session.scalars(select(Merchant).where(Merchant.id.in_(merchant_ids)))}
        if merchant_ids else {},
        alerts=services.recent_alerts(), thresholds=services.thresholds(),
        towns=list(db.session.scalars(select(Town).order_by(Town.sort_order, Town.id))),
        areas=list(db.session.scalars(select(CommercialArea).order_by(CommercialArea.town_id,
                                                                      CommercialArea.sort_order))),
        retention_days=current_app.config["SCAN_LOG_RETENTION_DAYS"], me=current_user)
