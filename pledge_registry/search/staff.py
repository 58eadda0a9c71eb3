"""The staff's merchant search: every shop, whatever its status, by shop name, legal name,
address or (part of) its credit code, newest first, up to a limit.

The listed shops are found by the directory's own query over its index; the others (waiting
for review, rejected, closed) over the unlisted set, the same way: the rarest of the query's
grams picks the candidates in id order, the next rarest and the normalised text confirm
them. Each side stops at the limit and the two are merged by id, so a search costs what it
shows, not the registry's size.
"""

from __future__ import annotations

from sqlalchemy import Select, exists, func, literal, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import MerchantUnlistedGram, MerchantUnlistedText
from .directory import BIGRAMS_JOINED, RARITY_PROBE, DirectoryQuery, matching_ids
from .text import MAX_QUERY, normalise, query_grams


def _unlisted_ids(text: str) -> Select | None:
    """The ids of the unlisted shops matching the normalised `text`, newest first; None when
    none can match."""
    counts: dict[str, int] = {}
    for gram in query_grams(text):
        probe = select(literal(1)).where(MerchantUnlistedGram.gram == gram).limit(RARITY_PROBE).subquery()
        counts[gram] = db.session.scalar(select(func.count()).select_from(probe)) or 0
        if counts[gram] == 0:
            return None
    ranked = sorted(counts, key=lambda g: counts[g])
    first = aliased(MerchantUnlistedGram)
    stmt = select(first.merchant_id).where(first.gram == ranked[0])
    for gram in ranked[1:BIGRAMS_JOINED]:
        other = aliased(MerchantUnlistedGram)
        stmt = stmt.where(exists().where(other.gram == gram, other.merchant_id == first.merchant_id))
    if len(text) > 2:  # bigrams in the text are not yet the query in the text
        position = func.strpos if db.session.get_bind().dialect.name == "postgresql" else func.instr
        doc = MerchantUnlistedText
        stmt = stmt.where(exists().where(doc.merchant_id == first.merchant_id, position(doc.body, text) > 0))
    return stmt.order_by(first.merchant_id.desc())


def find_merchant_ids(q: str, limit: int) -> list[int]:
    """The ids of the `limit` newest shops of any status matching `q` (fewer when fewer match)."""
    text = normalise(q)[:MAX_QUERY]
    if not text:
        return []
    ids: set[int] = set()
    for side in (matching_ids(DirectoryQuery(text=q)), _unlisted_ids(text)):
        if side is not None:
            ids.update(db.session.scalars(side.limit(limit)))
    return sorted(ids, reverse=True)[:limit]
