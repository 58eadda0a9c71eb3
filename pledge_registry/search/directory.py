"""The directory search: shops by shop name, legal name, address or credit code, with the
directory's filters, one page at a time and counted up to a cap.

A one-character query reads the unigram's primary-key range of the gram table; a longer one
reads its rarest bigram's range, joined on the next rarest, and confirms the real substring
in the normalised text. The filters are copied into the gram rows, so a filtered search never
leaves that range but for the pledge filter. Either way the database walks the range in id
order and stops at a page or at the cap: a search costs what it shows, not the registry's size.
When the filters pick fewer shops than the rarest gram, their index is walked instead. The
directory without a query lists merchant_search_text, which holds one row per listed shop.
A grade or a unit title that few shops hold (fewer than the rows the walk would take) is
walked itself, from its own index, the text and grams then probed per shop: a rare filter
never makes the search walk every listed shop to find none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from math import ceil
from typing import Any

from sqlalchemy import Select, exists, func, literal, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..localtime import local_today
from ..models import (
    Merchant,
    MerchantSearchGram,
    MerchantSearchText,
    Nomination,
    NominationStatus,
    Pledge,
    PledgeStatus,
    Rating,
)
from .text import MAX_QUERY, normalise, query_grams

COUNT_CAP = 1000  # past this a search says "more than 1,000" and lists the first 1,000
BIGRAMS_JOINED = 2  # the rarest bigrams intersected; the substring check does the rest
RARITY_PROBE = 5000  # a bigram's rows are counted up to this to rank it


@dataclass(frozen=True)
class DirectoryQuery:
    """What the shopper asked: the text as typed, and the filters (None or "" when unset).

    `grade` (the current rating's) and `unit_level` (a title held today) are probed per shop
    like the pledge filter; `oldest_first` walks the same range the other way."""

    text: str = ""
    town_id: int | None = None
    area_id: int | None = None
    category: str = ""
    pledge_kind: str = ""
    grade: str = ""
    unit_level: str = ""
    oldest_first: bool = False


def query_from_request() -> DirectoryQuery:
    """The directory page's filters from the query string, bounded; the staff export reads
    the same, so a file lists what the page showed."""
    from flask import request

    from ..forms import query_int, query_text
    from ..models import CATEGORIES, PledgeKind
    from ..urls import MAX_ID

    category = request.args.get("category", "")
    pledge_kind = request.args.get("pledge", "")
    return DirectoryQuery(query_text("q"), query_int("town", None, 1, MAX_ID), query_int("area", None, 1, MAX_ID),
                          category if category in CATEGORIES else "",
                          pledge_kind if pledge_kind in (PledgeKind.GENUINE, PledgeKind.RETURNS) else "")


@dataclass(frozen=True)
class DirectoryPage:
    """One page of shops, with the count up to COUNT_CAP (`capped` when there are more)."""

    items: list[Merchant]
    page: int
    per_page: int
    total: int
    capped: bool
    cap: int = COUNT_CAP

    @property
    def pages(self) -> int:
        return ceil(self.total / self.per_page)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _capped_count(stmt: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.limit(RARITY_PROBE).subquery())) or 0


def _rarest(grams: list[str]) -> tuple[list[str], int]:
    """The query's bigrams, rarest first, and the rarest one's count (0: nothing can match)."""
    counts = {}
    for gram in grams:
        counts[gram] = _capped_count(select(literal(1)).where(MerchantSearchGram.gram == gram))
        if counts[gram] == 0:
            return [], 0
    ranked = sorted(grams, key=lambda g: counts[g])
    return ranked, counts[ranked[0]]


def _matching_ids(query: DirectoryQuery) -> Select | None:
    """The ids of the matching shops, newest first; None when nothing can match.

    The rows walked are those of the rarer of the query's rarest gram and the filters (an
    index of merchant_search_text); the other side is probed by primary key.
    """
    text = normalise(query.text)[:MAX_QUERY]
    doc = MerchantSearchText
    filters = [(column, value) for column, value in (("town_id", query.town_id), ("area_id", query.area_id),
                                                      ("category", query.category or None)) if value is not None]
    listed = select(doc.merchant_id).where(*(getattr(doc, c) == v for c, v in filters))
    grams: list[str] = []
    from_text = True
    rarest = RARITY_PROBE
    if text:
        grams, rarest = _rarest(query_grams(text))
        if not rarest:
            return None
        from_text = bool(filters) and _capped_count(listed) < rarest
    # Everything but the walked rows is a correlated EXISTS, probed by primary key: the plan
    # then cannot start from a common gram that SQLite's statistics take for a rare one.
    position = func.strpos if db.session.get_bind().dialect.name == "postgresql" else func.instr
    holders = None
    if query.grade or query.unit_level:  # the rows the walk would take, against the holders
        holders = _rare_holders(query, min(rarest, _capped_count(listed)) if from_text else rarest)
    if holders is not None:
        stmt, id_column = holders
        stmt = stmt.where(exists().where(doc.merchant_id == id_column, *(getattr(doc, c) == v for c, v in filters),
                                         *([position(doc.body, text) > 0] if len(text) > 2 else [])))
        probed = grams[:BIGRAMS_JOINED]
    elif from_text:
        stmt, id_column, probed = listed, doc.merchant_id, grams[:BIGRAMS_JOINED]
        if len(text) > 2:  # bigrams in the text are not yet the query in the text
            stmt = stmt.where(position(doc.body, text) > 0)
    else:
        first = aliased(MerchantSearchGram)
        stmt = select(first.merchant_id).where(first.gram == grams[0], *(getattr(first, c) == v for c, v in filters))
        id_column, probed = first.merchant_id, grams[1:BIGRAMS_JOINED]
        if len(text) > 2:
            stmt = stmt.where(exists().where(doc.merchant_id == id_column, position(doc.body, text) > 0))
    for gram in probed:
        other = aliased(MerchantSearchGram)
        stmt = stmt.where(exists().where(other.gram == gram, other.merchant_id == id_column))
    if query.pledge_kind:
        stmt = stmt.where(exists().where(
            Pledge.merchant_id == id_column, Pledge.kind == query.pledge_kind,
            Pledge.status == PledgeStatus.ACTIVE, Pledge.expires_at > datetime.now(UTC)))
    if query.grade:
        stmt = stmt.where(exists().where(Rating.merchant_id == id_column, Rating.is_current,
                                         Rating.grade == query.grade))
    if query.unit_level:
        stmt = stmt.where(exists().where(
            Nomination.merchant_id == id_column, Nomination.level == query.unit_level,
            Nomination.status == NominationStatus.APPROVED, Nomination.title_expires_on >= local_today()))
    return stmt.order_by(id_column.asc() if query.oldest_first else id_column.desc())


def _rare_holders(query: DirectoryQuery, walked: int) -> tuple[Select, Any] | None:
    """The shops holding the asked grade or unit title, as rows to walk (and their merchant id
    column), when they are fewer than the `walked` rows the search would take otherwise; else
    None. Each holds it once: one current rating per shop, one live title per shop and level.
    Read from their own indexes (ix_rating_current_grade, ix_nomination_status_created) and
    sorted by id, which costs little since they are fewer than RARITY_PROBE."""
    sides = []
    if query.grade:
        sides.append((select(Rating.merchant_id).where(Rating.is_current, Rating.grade == query.grade),
                      Rating.merchant_id))
    if query.unit_level:
        sides.append((select(Nomination.merchant_id).where(
            Nomination.status == NominationStatus.APPROVED, Nomination.level == query.unit_level,
            Nomination.title_expires_on >= local_today()), Nomination.merchant_id))
    best = None
    for stmt, column in sides:
        count = _capped_count(stmt)
        if count < walked and (best is None or count < best[0]):
            best = (count, stmt, column)
    return None if best is None else (best[1], best[2])


def matching_ids(query: DirectoryQuery) -> Select | None:
    """Every listed shop matching `query`, newest first (the staff export); None when none can."""
    return _matching_ids(query)


def search_directory(query: DirectoryQuery, page: int, per_page: int) -> DirectoryPage:
    """The shops matching `query` on `page` (counted up to COUNT_CAP, listed that far)."""
    ids_query = _matching_ids(query)
    if ids_query is None:
        return DirectoryPage([], 1, per_page, 0, False)
    counted = ids_query.order_by(None).limit(COUNT_CAP + 1).subquery()
    total = db.session.scalar(select(func.count()).select_from(counted)) or 0
    capped = total > COUNT_CAP
    total = min(total, COUNT_CAP)
    page = max(1, min(page, ceil(total / per_page) or 1))
    offset = (page - 1) * per_page
    # Past the cap nothing is listed: the last page stops at the COUNT_CAP-th shop.
    ids = list(db.session.scalars(ids_query.limit(min(per_page, total - offset)).offset(offset))) if total else []
    found = {m.id: m for m in db.session.scalars(select(Merchant).where(Merchant.id.in_(ids)))} if ids else {}
    return DirectoryPage([found[i] for i in ids if i in found], page, per_page, total, capped, COUNT_CAP)
