"""The search index kept in step with the merchant row, declared beside the model:

    __search__ = Searchable(text=("shop_name", ...), filters=("town_id", ...), listed=("status", "approved"))

At every flush one listener rewrites the index rows of each merchant inserted, or updated in
a declared column, in the transaction that changed it; a shop leaves the index when it is
deleted (ON DELETE CASCADE). A listed shop's rows are the directory's (merchant_search_*);
every other shop's (waiting for review, rejected, closed) are the unlisted set
(merchant_unlisted_*), which only the staff search reads: a shop moves from one set to the
other when its status does. SQL that bypasses the ORM session (the demo's bulk load) calls
`rebuild`, as `flask search rebuild` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import Connection, delete, event, func, insert, inspect, select, text
from sqlalchemy.orm import ColumnProperty, Session, UOWTransaction

from .text import document, grams_of

GRAM_COLUMNS = ("gram", "merchant_id", "town_id", "area_id", "category")
TEXT_COLUMNS = ("merchant_id", "town_id", "area_id", "category", "body")
UNLISTED_GRAM_COLUMNS = ("gram", "merchant_id")
UNLISTED_TEXT_COLUMNS = ("merchant_id", "status", "body")


@dataclass(frozen=True)
class Searchable:
    """Which columns of the merchant are searched, which are copied for filtering, and which
    column and value make a shop listed (in the directory's rows; the others are unlisted)."""

    text: tuple[str, ...]
    filters: tuple[str, ...]
    listed: tuple[str, str]

    @property
    def columns(self) -> frozenset[str]:
        return frozenset((*self.text, *self.filters, self.listed[0]))


def _declaration() -> Searchable:
    from ..models import Merchant

    return Merchant.__search__


def _check_declaration() -> None:
    """A declared column that is not a mapped column would silently never reindex: refuse it."""
    from ..models import Merchant

    mapper = inspect(Merchant)
    for name in _declaration().columns:
        if not isinstance(mapper.attrs.get(name), ColumnProperty):
            raise RuntimeError(f"Merchant.__search__ names {name!r}, not a column")
    if _declaration().filters != ("town_id", "area_id", "category"):
        raise RuntimeError("the index tables copy town_id, area_id and category: change them together")


def rows_for(merchant_id: int, values: Sequence[Any], spec: Searchable) -> tuple[list[tuple], tuple]:
    """The gram rows and the text row of one listed shop, from its text then filter values."""
    texts, filters = values[:len(spec.text)], tuple(values[len(spec.text):])
    grams = [(gram, merchant_id, *filters) for gram in sorted(grams_of(texts))]
    return grams, (merchant_id, *filters, document(texts))


def unlisted_rows_for(merchant_id: int, status: str, texts: Sequence[Any]) -> tuple[list[tuple], tuple]:
    """The gram rows and the text row of one shop that is not listed."""
    return [(gram, merchant_id) for gram in sorted(grams_of(texts))], (merchant_id, status, document(texts))


def _changed(session: Session) -> tuple[set[int], list[Any], list[Any]]:
    """Merchants whose index rows this flush made stale; of them, the listed and the others."""
    spec = _declaration()
    stale: set[int] = set()
    listed: list[Any] = []
    unlisted: list[Any] = []
    for obj in [*session.new, *session.dirty]:
        if getattr(type(obj), "__search__", None) is None or obj in session.deleted:
            continue
        if obj not in session.new:
            attrs = inspect(obj).attrs
            if not any(attrs[name].history.has_changes() for name in spec.columns):
                continue
        stale.add(obj.id)
        (listed if getattr(obj, spec.listed[0]) == spec.listed[1] else unlisted).append(obj)
    return stale, listed, unlisted


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    stale, listed, unlisted = _changed(session)
    if not stale:
        return
    from ..models import MerchantSearchGram, MerchantSearchText, MerchantUnlistedGram, MerchantUnlistedText

    spec = _declaration()
    connection = session.connection()
    ids = sorted(stale)
    for model in (MerchantSearchGram, MerchantSearchText, MerchantUnlistedGram, MerchantUnlistedText):
        connection.execute(delete(model).where(model.merchant_id.in_(ids)))
    gram_rows, text_rows = [], []
    for obj in listed:
        grams, body = rows_for(obj.id, [getattr(obj, c) for c in (*spec.text, *spec.filters)], spec)
        gram_rows += grams
        text_rows.append(body)
    if gram_rows:
        connection.execute(insert(MerchantSearchGram),
                           [dict(zip(GRAM_COLUMNS, r, strict=True)) for r in gram_rows])
        connection.execute(insert(MerchantSearchText),
                           [dict(zip(TEXT_COLUMNS, r, strict=True)) for r in text_rows])
    gram_rows, text_rows = [], []
    for obj in unlisted:
        grams, body = unlisted_rows_for(obj.id, getattr(obj, spec.listed[0]), [getattr(obj, c) for c in spec.text])
        gram_rows += grams
        text_rows.append(body)
    if text_rows:
        if gram_rows:
            connection.execute(insert(MerchantUnlistedGram),
                               [dict(zip(UNLISTED_GRAM_COLUMNS, r, strict=True)) for r in gram_rows])
        connection.execute(insert(MerchantUnlistedText),
                           [dict(zip(UNLISTED_TEXT_COLUMNS, r, strict=True)) for r in text_rows])


def _bulk_insert(connection: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """Many rows at DBAPI speed: COPY on PostgreSQL, executemany on SQLite."""
    raw: Any = connection.connection.dbapi_connection
    if connection.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in columns)
        raw.cursor().executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def fill(connection: Connection, spec: Searchable, chunk: int = 10_000,
         progress: Callable[[int], None] | None = None) -> int:
    """Empty the index and index every listed merchant again, on this connection (in its
    transaction); returns how many shops are listed. Used by `rebuild` and the migration."""
    connection.execute(text("DELETE FROM merchant_search_gram"))
    connection.execute(text("DELETE FROM merchant_search_text"))
    # The grams are staged unordered, then copied into the primary key in its order: far
    # faster than inserting at random places in a large B-tree.
    connection.execute(text("CREATE TEMPORARY TABLE search_gram_staging (gram VARCHAR(2), merchant_id INTEGER, "
                            "town_id INTEGER, area_id INTEGER, category VARCHAR(20))"))
    columns = ", ".join((*spec.text, *spec.filters))
    last, listed = 0, 0
    while True:
        batch = connection.execute(
            text(f"SELECT id, {columns} FROM merchant WHERE {spec.listed[0]} = :listed AND id > :last "
                 "ORDER BY id LIMIT :chunk"),
            {"listed": spec.listed[1], "last": last, "chunk": chunk}).all()
        if not batch:
            break
        gram_rows: list[tuple] = []
        text_rows: list[tuple] = []
        for row in batch:
            grams, body = rows_for(row[0], row[1:], spec)
            gram_rows += grams
            text_rows.append(body)
        _bulk_insert(connection, "search_gram_staging", GRAM_COLUMNS, gram_rows)
        _bulk_insert(connection, "merchant_search_text", TEXT_COLUMNS, text_rows)
        last, listed = batch[-1][0], listed + len(batch)
        if progress is not None:
            progress(len(batch))
    connection.execute(text(f"INSERT INTO merchant_search_gram ({', '.join(GRAM_COLUMNS)}) "
                            f"SELECT {', '.join(GRAM_COLUMNS)} FROM search_gram_staging ORDER BY gram, merchant_id"))
    connection.execute(text("DROP TABLE search_gram_staging"))
    # The planner's statistics: the search ranks grams itself, but the filters' indexes and
    # the joins are planned from them.
    connection.execute(text("ANALYZE merchant_search_gram"))
    connection.execute(text("ANALYZE merchant_search_text"))
    return listed


def fill_unlisted(connection: Connection, spec: Searchable, chunk: int = 10_000,
                  progress: Callable[[int], None] | None = None) -> int:
    """Empty the unlisted set and index every merchant that is not listed again, on this
    connection (in its transaction); returns how many. Used by `rebuild` and the migration."""
    connection.execute(text("DELETE FROM merchant_unlisted_gram"))
    connection.execute(text("DELETE FROM merchant_unlisted_text"))
    connection.execute(text("CREATE TEMPORARY TABLE unlisted_gram_staging (gram VARCHAR(2), merchant_id INTEGER)"))
    status = spec.listed[0]
    columns = ", ".join((status, *spec.text))
    last, unlisted = 0, 0
    while True:
        batch = connection.execute(
            text(f"SELECT id, {columns} FROM merchant WHERE {status} <> :listed AND id > :last "
                 "ORDER BY id LIMIT :chunk"),
            {"listed": spec.listed[1], "last": last, "chunk": chunk}).all()
        if not batch:
            break
        gram_rows: list[tuple] = []
        text_rows: list[tuple] = []
        for row in batch:
            grams, body = unlisted_rows_for(row[0], row[1], row[2:])
            gram_rows += grams
            text_rows.append(body)
        _bulk_insert(connection, "unlisted_gram_staging", UNLISTED_GRAM_COLUMNS, gram_rows)
        _bulk_insert(connection, "merchant_unlisted_text", UNLISTED_TEXT_COLUMNS, text_rows)
        last, unlisted = batch[-1][0], unlisted + len(batch)
        if progress is not None:
            progress(len(batch))
    connection.execute(text("INSERT INTO merchant_unlisted_gram (gram, merchant_id) "
                            "SELECT gram, merchant_id FROM unlisted_gram_staging ORDER BY gram, merchant_id"))
    connection.execute(text("DROP TABLE unlisted_gram_staging"))
    connection.execute(text("ANALYZE merchant_unlisted_gram"))
    connection.execute(text("ANALYZE merchant_unlisted_text"))
    return unlisted


def rebuild(progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the whole index (listed and unlisted shops) from the merchant table and commit;
    returns the shops listed."""
    from ..extensions import db

    connection = db.session.connection()
    listed = fill(connection, _declaration(), progress=progress)
    fill_unlisted(connection, _declaration(), progress=progress)
    db.session.commit()
    return listed


def indexed_count() -> int:
    """How many merchants a rebuild indexes, listed or not (the length of its progress bar)."""
    from ..extensions import db
    from ..models import Merchant

    return db.session.scalar(select(func.count()).select_from(Merchant)) or 0


def init_app(app: Flask) -> None:
    """Listen on the app's session (called by create_app)."""
    from ..extensions import db

    _check_declaration()
    if not event.contains(db.session, "after_flush", _after_flush):
        event.listen(db.session, "after_flush", _after_flush)
