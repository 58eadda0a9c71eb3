"""Keyset pagination, the one way every staff list pages (templates/_macros/paging.html shows it).

A page is the next `per_page` rows after (or before) the last row seen, in the order of a
sort key and the row's id, so page 200 costs what page 1 costs: no OFFSET that walks past
every earlier row. The position travels in the query string as two numbers read with
`forms.query_int` (`after` and `after_id`, or `before` and `before_id`, each behind an
optional prefix when one page shows two lists); a time-stamp key travels as microseconds
since 1970. The rows are counted up to `COUNT_CAP` only: past it the page says "more than",
because an exact COUNT over a province's complaints is itself slower than the page.

The sort key must be served by an index (key, id) for the list to stay fast, and the
condition below keeps it usable as one: `key >= k AND (key > k OR id > i)` is an index
range on both engines, where SQLite would scan for the row value `(key, id) > (k, i)`
over an expression index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, DateTime, Select, and_, bindparam, func, literal, or_, select
from sqlalchemy.orm import QueryableAttribute

from .extensions import db
from .forms import query_int
from .urls import MAX_ID

PER_PAGE = 50
COUNT_CAP = 1000
MAX_KEY = 2**62
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Column = ColumnElement[Any] | QueryableAttribute[Any]  # a sort key: a mapped column or an expression
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, how many match (up to the cap), and where the others are."""

    items: list[Any]
    count: int               # rows matching, counted up to COUNT_CAP
    more: bool               # more than COUNT_CAP match
    next_args: dict[str, int] | None
    prev_args: dict[str, int] | None
    first_page: bool

    @property
    def pages_differ(self) -> bool:
        return self.next_args is not None or self.prev_args is not None


def _encode(value: Any) -> int:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) - _EPOCH) // _MICROSECOND
    return int(value)


def _decode(number: int, key: Column) -> Any:
    kind = key.type
    if isinstance(kind, DateTime) or isinstance(getattr(kind, "impl", None), DateTime):
        try:
            return _EPOCH + number * _MICROSECOND
        except OverflowError:  # a cursor beyond the calendar: past every row, or before all
            return datetime.max.replace(tzinfo=UTC) if number > 0 else datetime.min.replace(tzinfo=UTC)
    return number


def _cursor(prefix: str, side: str) -> tuple[int, int] | None:
    key = query_int(f"{prefix}{side}", None, -MAX_KEY, MAX_KEY)
    row_id = query_int(f"{prefix}{side}_id", None, 0, MAX_ID)
    return None if key is None or row_id is None else (key, row_id)


def keyset_page(query: Select[Any], key: Column, row_id: Column, *,
                per_page: int = PER_PAGE, descending: bool = False, prefix: str = "",
                count: bool = True, options: tuple[Any, ...] = ()) -> Page:
    """The page of `query` (one entity selected, no ORDER BY) that the request's cursor names,
    in the order of (`key`, `row_id`), ascending or `descending`; `options` (loader options)
    apply to the page's rows, not to the count."""
    after, before = _cursor(prefix, "after"), _cursor(prefix, "before")
    backwards = before is not None and after is None
    cursor = before if backwards else after
    # Going back means reading the other way from the cursor, then turning the rows round.
    upwards = descending == backwards
    page_query = query.options(*options).add_columns(key.label("_page_key"), row_id.label("_page_id"))
    if cursor is not None:
        k = bindparam(None, _decode(cursor[0], key), type_=key.type)
        i = literal(cursor[1])
        if upwards:
            page_query = page_query.where(key >= k, or_(key > k, and_(key == k, row_id > i)))
        else:
            page_query = page_query.where(key <= k, or_(key < k, and_(key == k, row_id < i)))
    order = (key.asc(), row_id.asc()) if upwards else (key.desc(), row_id.desc())
    rows = db.session.execute(page_query.order_by(*order).limit(per_page + 1)).all()
    beyond = len(rows) > per_page
    rows = list(rows[:per_page])
    if backwards:
        rows.reverse()
    items = [row[0] for row in rows]

    def args(side: str, row: Any) -> dict[str, int]:
        return {f"{prefix}{side}": _encode(row[-2]), f"{prefix}{side}_id": int(row[-1])}

    has_next = (beyond if not backwards else True) and bool(rows)
    has_prev = (cursor is not None if not backwards else beyond) and bool(rows)
    matching, more = (capped_count(query, row_id) if count else (len(items), False))
    return Page(items=items, count=matching, more=more,
                next_args=args("after", rows[-1]) if has_next else None,
                prev_args=args("before", rows[0]) if has_prev else None,
                first_page=not has_prev)


def capped_count(query: Select[Any], row_id: Column, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many rows `query` matches, counting no further than `cap`; and whether there are more."""
    limited = query.with_only_columns(row_id).order_by(None).limit(cap + 1).subquery()
    n = db.session.scalar(select(func.count()).select_from(limited)) or 0
    return min(n, cap), n > cap
