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
# The gram columns' types in a fill's staging table.
STAGING_TYPES = {"gram": "VARCHAR(2)", "merchant_id": "INTEGER", "town_id": "INTEGER", "area_id": "INTEGER",
                 "category": "VARCHAR(20)"}


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


@dataclass(frozen=True)
class _Set:
    """One of the index's two sets of rows: the listed shops' (the directory's) or the
    others'. Its tables, their columns, and the merchant columns its rows are made from."""

    listed: bool
    gram_table: str
    text_table: str
    gram_columns: tuple[str, ...]
    text_columns: tuple[str, ...]
    staging: str  # a fill's temporary table for the grams

    def sources(self, spec: Searchable) -> tuple[str, ...]:
        """The merchant columns read for a shop's rows (after its id)."""
        return (*spec.text, *spec.filters) if self.listed else (spec.listed[0], *spec.text)

    def rows(self, merchant_id: int, values: Sequence[Any], spec: Searchable) -> tuple[list[tuple], tuple]:
        """A shop's gram rows and text row, from its values of `sources`."""
        if self.listed:
            return rows_for(merchant_id, values, spec)
        return unlisted_rows_for(merchant_id, values[0], values[1:])


LISTED = _Set(True, "merchant_search_gram", "merchant_search_text", GRAM_COLUMNS, TEXT_COLUMNS,
              "search_gram_staging")
UNLISTED = _Set(False, "merchant_unlisted_gram", "merchant_unlisted_text", UNLISTED_GRAM_COLUMNS,
                UNLISTED_TEXT_COLUMNS, "unlisted_gram_staging")


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
    for target, objs, gram_model, text_model in ((LISTED, listed, MerchantSearchGram, MerchantSearchText),
                                                 (UNLISTED, unlisted, MerchantUnlistedGram, MerchantUnlistedText)):
        gram_rows, text_rows = [], []
        for obj in objs:
            grams, body = target.rows(obj.id, [getattr(obj, c) for c in target.sources(spec)], spec)
            gram_rows += grams
            text_rows.append(body)
        if gram_rows:
            connection.execute(insert(gram_model), [dict(zip(target.gram_columns, r, strict=True)) for r in gram_rows])
        if text_rows:
            connection.execute(insert(text_model), [dict(zip(target.text_columns, r, strict=True)) for r in text_rows])


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


def fill(connection: Connection, spec: Searchable, *, listed: bool = True, chunk: int = 10_000,
         progress: Callable[[int], None] | None = None) -> int:
    """Empty one set of the index, the listed shops' (or with `listed=False` the others'),
    and index its merchants again, on this connection (in its transaction); returns how
    many. Used by `rebuild` and the migrations."""
    target = LISTED if listed else UNLISTED
    connection.execute(text(f"DELETE FROM {target.gram_table}"))
    connection.execute(text(f"DELETE FROM {target.text_table}"))
    # The grams are staged unordered, then copied into the primary key in its order: far
    # faster than inserting at random places in a large B-tree.
    staged = ", ".join(f"{c} {STAGING_TYPES[c]}" for c in target.gram_columns)
    connection.execute(text(f"CREATE TEMPORARY TABLE {target.staging} ({staged})"))
    columns = ", ".join(target.sources(spec))
    belongs = "=" if listed else "<>"
    last, count = 0, 0
    while True:
        batch = connection.execute(
            text(f"SELECT id, {columns} FROM merchant WHERE {spec.listed[0]} {belongs} :listed AND id > :last "
                 "ORDER BY id LIMIT :chunk"),
            {"listed": spec.listed[1], "last": last, "chunk": chunk}).all()
        if not batch:
            break
        gram_rows: list[tuple] = []
        text_rows: list[tuple] = []
        for row in batch:
            grams, body = target.rows(row[0], row[1:], spec)
            gram_rows += grams
            text_rows.append(body)
        _bulk_insert(connection, target.staging, target.gram_columns, gram_rows)
        _bulk_insert(connection, target.text_table, target.text_columns, text_rows)
        last, count = batch[-1][0], count + len(batch)
        if progress is not None:
            progress(len(batch))
    gram_columns = ", ".join(target.gram_columns)
    connection.execute(text(f"INSERT INTO {target.gram_table} ({gram_columns}) "
                            f"SELECT {gram_columns} FROM {target.staging} ORDER BY gram, merchant_id"))
    connection.execute(text(f"DROP TABLE {target.staging}"))
    # The planner's statistics: the search ranks grams itself, but the filters' indexes and
    # the joins are planned from them.
    connection.execute(text(f"ANALYZE {target.gram_table}"))
    connection.execute(text(f"ANALYZE {target.text_table}"))
    return count


def rebuild(progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the whole index (listed and unlisted shops) from the merchant table and commit;
    returns the shops listed."""
    from ..extensions import db

    connection = db.session.connection()
    listed = fill(connection, _declaration(), progress=progress)
    fill(connection, _declaration(), listed=False, progress=progress)
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
