"""What the public API reads, as plain data for its schemas: only what the public scan page
and the directory already show (no contact person, no phone, nothing about a shopper).

The merchant search is the directory's own (search.directory.search_directory).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from math import ceil
from typing import Any

from flask_babel import force_locale
from sqlalchemy import func, select

from ..analysis import trends
from ..analysis.trends import Levels
from ..complaints import stats as complaint_stats
from ..complaints.labels import PROBLEM_TYPE_LABELS
from ..compliance.services import current_reply
from ..extensions import db
from ..localtime import LOCAL_TZ, local_today
from ..models import (
    CATEGORIES,
    PROBLEM_TYPES,
    CommercialArea,
    Merchant,
    MerchantStatus,
    Nomination,
    NominationStatus,
    Rating,
    Town,
)
from ..nominations.services import named_units
from ..pledges.labels import REFUND_METHOD_LABELS, STANDARD_EXCLUSIONS
from ..pledges.standing import ShopStanding, shop_standing
from ..pledges.terms import render_terms
from ..ratings.services import current_grades, current_rating, history_query
from ..registry.labels import CATEGORY_LABELS
from ..search.directory import DirectoryQuery, search_directory
from ..urls import absolute_url
from .disclosure import Cell, suppress

# A shop the API shows on its own: listed (approved) or closed (its badge still says so).
SHOWN_STATUSES = (MerchantStatus.APPROVED, MerchantStatus.CLOSED)
LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class Found:
    """An answer and the time it last changed (the Last-Modified header; None: unknown)."""

    body: dict[str, Any]
    last_modified: datetime | None = None


# --- links and pages ---------------------------------------------------------------------

def _page_meta(endpoint: str, args: dict[str, Any], page: int, per_page: int, total: int,
               capped: bool = False, cap: int | None = None, **path: Any) -> dict[str, Any]:
    pages = max(1, ceil(total / per_page))
    query = {k: v for k, v in args.items() if v not in (None, "") and k not in ("page", "per_page")}

    def link(n: int) -> str:
        return absolute_url(endpoint, **path, **query, page=n, per_page=per_page)

    return {
        "page": page, "per_page": per_page, "total": total, "total_capped": capped,
        "total_cap": cap if cap is not None else total, "pages": pages,
        "links": {"self": link(page), "first": link(1), "last": link(pages),
                  "prev": link(page - 1) if page > 1 else None,
                  "next": link(page + 1) if page < pages else None},
    }


def _merchant_links(m: Merchant) -> dict[str, str]:
    return {"self": absolute_url("api_v1.merchant", merchant_id=m.id),
            "scan_page": absolute_url("public.scan", code=m.badge_code),
            "ratings": absolute_url("api_v1.merchant_ratings", merchant_id=m.id)}


def summary(m: Merchant, standing: ShopStanding, grade: str | None) -> dict[str, Any]:
    return {
        "id": m.id, "badge_code": m.badge_code, "shop_name": m.shop_name, "legal_name": m.legal_name,
        "credit_code": m.credit_code, "address": m.address, "town_id": m.town_id, "area_id": m.area_id,
        "category": m.category, "state": standing.state, "grade": grade, "links": _merchant_links(m),
    }


def _summaries(merchants: list[Merchant], now: datetime) -> list[dict[str, Any]]:
    grades = current_grades([m.id for m in merchants])
    return [summary(m, shop_standing(m, now), grades.get(m.id)) for m in merchants]


# --- merchants ---------------------------------------------------------------------------

def search(args: dict[str, Any]) -> Found:
    """The directory's search, with its filters from the query arguments."""
    query = DirectoryQuery(
        text=args["q"], town_id=args.get("town"), area_id=args.get("area"), category=args.get("category", ""),
        pledge_kind=args.get("pledge", ""), grade=args.get("grade", ""), unit_level=args.get("unit", ""),
        oldest_first=args["sort"] == "oldest")
    found = search_directory(query, page=args["page"], per_page=args["per_page"])
    body = _page_meta("api_v1.merchants", args, found.page, found.per_page, found.total, found.capped, found.cap)
    body["items"] = _summaries(found.items, datetime.now(UTC))
    return Found(body)


def shown_merchant(merchant_id: int) -> Merchant | None:
    merchant = db.session.get(Merchant, merchant_id)
    return merchant if merchant is not None and merchant.status in SHOWN_STATUSES else None


def _terms(pledge: Any) -> dict[str, dict[str, Any]]:
    out = {}
    for lang in LANGUAGES:
        with force_locale(lang):
            exclusions = {k: str(v) for k, v in STANDARD_EXCLUSIONS.items()}
            refunds = {k: str(v) for k, v in REFUND_METHOD_LABELS.items()}
        text = render_terms(pledge, lang, exclusions, refunds)
        out[lang] = {"title": text.title, "paragraphs": list(text.paragraphs)}
    return out


def _rating(rating: Rating | None) -> dict[str, Any] | None:
    if rating is None:
        return None
    factors = [{"key": f["key"], "points": f["points"], "max_points": f["max_points"], "detail": f["detail"]}
               for f in (rating.breakdown or {}).get("factors", [])]
    return {"grade": rating.grade, "score": rating.score, "cap": rating.cap, "model_version": rating.model_version,
            "computed_at": rating.computed_at, "factors": factors}


def _titles(merchant_id: int, today: date) -> tuple[list[dict[str, Any]], date | None]:
    """The titles held today, and the last day of the latest title that has run out."""
    rows = db.session.execute(select(Nomination.level, Nomination.title_expires_on).where(
        Nomination.merchant_id == merchant_id, Nomination.status == NominationStatus.APPROVED)).all()
    held = sorted(({"level": level, "title_expires_on": until} for level, until in rows
                   if until is not None and until >= today), key=lambda t: t["level"])
    ended = [until for _, until in rows if until is not None and until < today]
    return held, max(ended) if ended else None


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ).astimezone(UTC)


def detail(m: Merchant) -> Found:
    """One merchant: pledges and their terms, current rating factor by factor, reply, titles.

    Last-Modified is the merchant's last public change (public_page.py stamps it at every
    bump), or a later moment at which the answer changed by itself: a pledge running out, a
    title ending."""
    now = datetime.now(UTC)
    standing = shop_standing(m, now)
    rating = current_rating(m.id)
    reply = current_reply(m.id)
    titles, title_ended = _titles(m.id, local_today(now))
    body = summary(m, standing, rating.grade if rating else None)
    body.update({
        "opening_hours": m.opening_hours,
        "town": {"id": m.town.id, "name": m.town.name, "name_en": m.town.name_en},
        "area": {"id": m.area.id, "name": m.area.name, "name_en": m.area.name_en, "town_id": m.area.town_id}
        if m.area else None,
        "pledges": [{
            "kind": kind, "state": state, "template_version": pledge.template.version,
            "activated_at": pledge.activated_at, "expires_at": pledge.expires_at,
            "return_days": pledge.return_days, "refund_method": pledge.refund_method,
            "refund_days": pledge.refund_days, "conditions": pledge.conditions or "",
            "excluded_goods": list(pledge.excluded_goods or []), "terms": _terms(pledge),
        } for kind, pledge, state in standing.pledges],
        "rating": _rating(rating),
        "reply": {"text": reply.text, "published_at": reply.created_at} if reply else None,
        "titles": titles,
    })
    moments = [m.public_changed_at or m.reviewed_at or m.created_at]
    moments += [p.expires_at for _, p, _ in standing.pledges if p.expires_at and p.expires_at <= now]
    if title_ended is not None:
        moments.append(_local_midnight(title_ended + timedelta(days=1)))
    return Found(body, max(moments))


def rating_history(m: Merchant, page: int, per_page: int) -> Found:
    total = db.session.scalar(select(func.count()).select_from(history_query(m.id).subquery())) or 0
    page = max(1, min(page, ceil(total / per_page) or 1))
    rows = list(db.session.scalars(history_query(m.id).order_by(Rating.computed_at.desc(), Rating.id.desc())
                                   .limit(per_page).offset((page - 1) * per_page)))
    body = _page_meta("api_v1.merchant_ratings", {}, page, per_page, total, merchant_id=m.id)
    body["items"] = [{"grade": r.grade, "score": r.score, "cap": r.cap, "model_version": r.model_version,
                      "computed_at": r.computed_at, "current": r.is_current} for r in rows]
    newest = max((r.computed_at for r in rows), default=None)
    return Found(body, newest if page == 1 else None)


def units(level: str | None, town_id: int | None) -> Found:
    now = datetime.now(UTC)
    held = named_units(level, town_id)
    shops = _summaries([n.merchant for n in held], now)
    return Found({"items": [{"level": n.level, "title_expires_on": n.title_expires_on, "merchant": shop}
                            for n, shop in zip(held, shops, strict=True)]})


# --- reference lists ---------------------------------------------------------------------

def towns() -> Found:
    rows = db.session.scalars(select(Town).order_by(Town.sort_order, Town.id))
    return Found({"items": [{"id": t.id, "name": t.name, "name_en": t.name_en} for t in rows]})


def areas(town_id: int | None = None) -> Found:
    query = select(CommercialArea).order_by(CommercialArea.town_id, CommercialArea.sort_order, CommercialArea.id)
    if town_id is not None:
        query = query.where(CommercialArea.town_id == town_id)
    return Found({"items": [{"id": a.id, "name": a.name, "name_en": a.name_en, "town_id": a.town_id}
                            for a in db.session.scalars(query)]})


def _coded(codes: tuple[str, ...], labels: dict[str, Any]) -> Found:
    names: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        with force_locale(lang):
            names[lang] = {code: str(labels[code]) for code in codes}
    return Found({"items": [{"code": c, "name": names["zh"][c], "name_en": names["en"][c]} for c in codes]})


def categories() -> Found:
    return _coded(CATEGORIES, CATEGORY_LABELS)


def problem_types() -> Found:
    return _coded(PROBLEM_TYPES, PROBLEM_TYPE_LABELS)


# --- complaint statistics ----------------------------------------------------------------

def period_bounds(period: str) -> tuple[date, date]:
    """2026 → the year, 2026-03 → the month, 2026-Q1 → the quarter (first and last day)."""
    year = int(period[:4])
    if len(period) == 4:
        return date(year, 1, 1), date(year, 12, 31)
    if period[5] == "Q":
        first_month = 3 * (int(period[6]) - 1) + 1
        start = date(year, first_month, 1)
        months = 3
    else:
        start = date(year, int(period[5:7]), 1)
        months = 1
    after = date(year + (start.month + months - 1) // 12, (start.month + months - 1) % 12 + 1, 1)
    return start, after - timedelta(days=1)


def _measures(cell: Cell, levels: Levels) -> dict[str, Any]:
    if cell.suppressed:
        return {"count": None, "suppressed": True, "share_accepted_on_time": None,
                "share_finished_on_time": None, "satisfaction_rate": None, "amount_recovered_yuan": None}
    return {"count": levels.received, "suppressed": False,
            "share_accepted_on_time": levels.share_accepted_on_time,
            "share_finished_on_time": levels.share_finished_on_time,
            "satisfaction_rate": levels.satisfaction_rate,
            "amount_recovered_yuan": levels.amount_recovered_cents / 100}


def statistics(period: str, dimension: str, request_type: str, minimum: int) -> Found:
    """The staff's service levels for a period, in total and by one dimension, with every
    cell of fewer than `minimum` cases suppressed (disclosure.suppress).

    Read from the complaint tallies (analysis/trends.py), plus the open cases of the period
    already past a deadline (the only complaint rows read: a tally counts a case as late only
    once it closes). Only the asked dimension is read, not the staff page's five."""
    start, end = period_bounds(period)
    f = complaint_stats.StatsFilter(start, end, request_type=request_type).trend_filter()
    totals = trends.totals(f)
    rows = trends.breakdown(f, dimension).rows
    total_cell, *cells = suppress([totals.received, *(r.levels.received for r in rows)], minimum)
    return Found({
        "period": period, "start": start, "end": end, "dimension": dimension, "request_type": request_type,
        "minimum_count": minimum, "totals": _measures(total_cell, totals),
        "rows": [{"key": r.key or None, **_measures(cell, r.levels)}
                 for r, cell in zip(rows, cells, strict=True)],
    })
