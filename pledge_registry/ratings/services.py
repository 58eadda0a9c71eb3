"""Ratings kept current: the admin's model, the nightly recompute, updates after events.

The pure model (``ratings.model``) rates one set of counts; ``aggregate`` gathers the counts
with set-based SQL. Here they meet the ``rating`` table:

- A new ``Rating`` row is written only when the grade, score, cap or model version
  changed; the previous row keeps its values and loses ``is_current``, so the rows of a
  merchant are its history. ``Merchant.public_version`` is bumped with every change
  (``public_page.bump_versions``) so the cached scan page shows the new grade at the next scan.
- ``recompute_all`` walks the rated merchants in chunks of ids: per chunk a fixed number of
  statements (six reads, one UPDATE demoting the old rows, one bulk INSERT, one UPDATE of
  public_version) and a commit, so a province takes seconds and the web keeps writing
  between chunks.
- ``update_merchant`` / ``update_merchants`` run the very same code for a few ids inside the
  caller's transaction and never commit: the change that caused the update (a complaint
  closed, a pledge suspended) and the new rating are committed together by the caller.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Row, Select, bindparam, or_, select, text

from ..database import UTCDateTime
from ..domain import DomainError
from ..extensions import db
from ..models import Merchant, Rating, Setting, User
from ..public_page import bump_versions
from . import aggregate
from .aggregate import Scope
from .model import DEFAULT_CONFIG, RatingConfig, RatingInput, compute, input_problems

log = logging.getLogger("pledge_registry.ratings")

SETTING_KEY = "rating_model"
CHUNK_SIZE = 50_000      # merchant ids per chunk of the nightly recompute
EVENT_BATCH = 500        # ids per query when an event touches many merchants at once
SQLITE_MMAP_BYTES = 2**30
COPY_MIN_ROWS = 50       # PostgreSQL: from this many new rows, write them with COPY


class RatingError(DomainError):
    """A rating rule refused the request; `code` says which, `detail` may explain."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.detail = detail


# --- the model's configuration -------------------------------------------------------------

def current_config() -> RatingConfig:
    """The model an admin saved (Setting "rating_model"), or the shipped one."""
    stored = db.session.get(Setting, SETTING_KEY)
    if stored is None:
        return DEFAULT_CONFIG
    try:
        return RatingConfig.from_dict(stored.value)
    except ValueError:  # never saved that way (save_config validates); do not stop the ratings
        log.exception("stored rating model is invalid; using the shipped model %s", DEFAULT_CONFIG.version)
        return DEFAULT_CONFIG


def save_config(admin: User, values: dict) -> RatingConfig:
    """Validate and store a new model; it must carry a version string not used before."""
    if not admin.is_admin:
        raise RatingError("not_admin")
    try:
        config = RatingConfig.from_dict(values)
    except (TypeError, ValueError) as err:
        raise RatingError("invalid", str(err)) from err
    current = current_config()
    if config.version == current.version:
        raise RatingError("same_version")
    used = set(db.session.scalars(select(Rating.model_version).distinct()))
    if config.version in used or config.version == DEFAULT_CONFIG.version:
        raise RatingError("version_used")
    stored = db.session.get(Setting, SETTING_KEY)
    if stored is None:
        stored = Setting(key=SETTING_KEY, value={})
        db.session.add(stored)
    stored.value = config.to_dict()
    stored.updated_by_id = admin.id
    db.session.commit()
    log.warning("rating model %s saved by user %s", config.version, admin.id)
    return config


# --- computing and storing -----------------------------------------------------------------

@dataclass(frozen=True)
class RecomputeResult:
    rated: int      # merchants rated
    changed: int    # of which got a new rating row
    seconds: float


def _current_rows(scope: Scope) -> dict[int, Row[Any]]:
    return {
        row[0]: row for row in db.session.execute(
            select(Rating.merchant_id, Rating.grade, Rating.score, Rating.cap, Rating.model_version)
            .where(Rating.is_current, scope.where(Rating.merchant_id)))
    }


def _ids_clause(column: str) -> str:
    """`column IN <a list bound as one parameter>`: one statement for any number of ids."""
    if db.session.get_bind().dialect.name == "postgresql":
        return f"{column} = ANY(:ids)"
    return f"{column} IN (SELECT value FROM json_each(:ids))"


def _ids_param(ids: list[int]) -> object:
    if db.session.get_bind().dialect.name == "postgresql":
        return ids
    return json.dumps(ids)


_INSERT = (
    "INSERT INTO rating (merchant_id, grade, score, cap, breakdown, model_version, is_current, cause, computed_at)"
    " VALUES (:merchant_id, :grade, :score, :cap, {breakdown}, :model_version, true, :cause, :computed_at)"
)


def _insert_statement():
    """The bulk INSERT, with the breakdown bound as JSON text serialised once per distinct rating."""
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    statement = text(_INSERT.format(breakdown="CAST(:breakdown AS JSON)" if postgresql else ":breakdown"))
    return statement.bindparams(bindparam("computed_at", type_=UTCDateTime()))


_COLUMNS = ("merchant_id", "grade", "score", "cap", "breakdown", "model_version", "is_current", "cause",
            "computed_at")


def _insert_rows(rows: list[dict]) -> None:
    """Write new rating rows: COPY on PostgreSQL (an executemany there costs 150 µs a row,
    a minute a province), one executemany on SQLite (in-process, no round trips)."""
    if db.session.get_bind().dialect.name != "postgresql" or len(rows) < COPY_MIN_ROWS:
        db.session.execute(_insert_statement(), rows)
        return
    # psycopg's own connection: its cursor is a context manager with copy().
    dbapi = cast(Any, db.session.connection().connection.dbapi_connection)
    with dbapi.cursor() as cursor, cursor.copy(f"COPY rating ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row((r["merchant_id"], r["grade"], r["score"], r["cap"], r["breakdown"],
                            r["model_version"], True, r["cause"], r["computed_at"]))


Memo = dict[tuple, tuple]


def _rate(scope: Scope, config: RatingConfig, cause: str, now: datetime, memo: Memo | None = None
          ) -> tuple[int, int]:
    """Rate every merchant in scope and store what changed; returns (rated, changed).

    Shops with equal counts get equal ratings, and most shops share their counts with many
    others (no complaint, no inspection, pledges of the same age): each distinct set of
    counts is rated and serialised once, in `memo`, which the caller may keep across chunks.
    """
    as_of, counts = aggregate.rating_counts(scope, now)
    if not counts:
        return 0, 0
    memo = {} if memo is None else memo
    current = _current_rows(scope)
    rows = []
    cause = cause[:60]
    for merchant_id, values in counts.items():
        rated = memo.get(values)
        if rated is None:
            inp = RatingInput(as_of, *values)
            if problems := input_problems(inp):
                log.warning("rating input of merchant %s clamped: %s", merchant_id, ", ".join(problems))
            rating = compute(inp, config)
            rated = memo[values] = (rating.grade, rating.score, rating.cap, rating.model_version,
                                    json.dumps(rating.to_dict(), ensure_ascii=False, separators=(",", ":")))
        old = current.get(merchant_id)
        if old is not None and old[1:] == rated[:4]:
            continue
        rows.append({"merchant_id": merchant_id, "grade": rated[0], "score": rated[1], "cap": rated[2],
                     "model_version": rated[3], "breakdown": rated[4], "cause": cause, "computed_at": now})
    if not rows:
        return len(counts), 0
    changed = [r["merchant_id"] for r in rows]
    params = {"ids": _ids_param(changed)}
    # The old rows first: one current row per merchant is a unique index.
    db.session.execute(text(
        f"UPDATE rating SET is_current = false WHERE is_current AND {_ids_clause('merchant_id')}"), params)
    _insert_rows(rows)
    # The session does not see these rows, so public_page's flush listener cannot bump for them.
    bump_versions(changed)
    # Ratings loaded in this session must not keep a stale is_current.
    changed_set = set(changed)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Rating) and obj.merchant_id in changed_set:
            db.session.expire(obj, ["is_current"])
    return len(counts), len(rows)


def rated_count() -> int:
    """How many merchants the recompute will rate (for a progress bar)."""
    from sqlalchemy import func

    return db.session.scalar(
        select(func.count()).select_from(Merchant).where(Merchant.status.in_(aggregate.RATED_STATUSES))) or 0


def recompute_all(progress: Callable[[int], None] | None = None, *, chunk_size: int = CHUNK_SIZE,
                  now: datetime | None = None, cause: str = "recompute") -> RecomputeResult:
    """Rate every merchant, chunk by chunk, committing each; `progress(n)` after each chunk."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    config = current_config()
    bounds = aggregate.id_bounds()
    if db.session.get_bind().dialect.name == "sqlite":
        # The counts look up complaint rows in merchant order, all over the file: memory
        # mapping spares a system call per page (about a third of the SQLite time).
        db.session.execute(text(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}"))
    db.session.commit()  # each chunk is its own short transaction
    rated = changed = 0
    memo: Memo = {}
    if bounds is not None:
        for scope in aggregate.chunks(bounds, chunk_size):
            n, c = _rate(scope, config, cause, now, memo)
            db.session.commit()
            rated += n
            changed += c
            if progress is not None:
                progress(n)
    seconds = time.perf_counter() - started
    log.info("ratings recomputed: %d rated, %d changed, model %s, %.1f s", rated, changed, config.version, seconds)
    return RecomputeResult(rated, changed, seconds)


def update_merchant(merchant_id: int, cause: str, now: datetime | None = None) -> bool:
    """Re-rate one merchant now, in the caller's transaction (flushed, never committed).

    Returns True when its rating changed. The caller commits, so the event and the rating
    it causes are stored together or not at all.
    """
    db.session.flush()
    return _rate(Scope.one(merchant_id), current_config(), cause, now or datetime.now(UTC))[1] > 0


def update_merchants(merchant_ids: Iterable[int], cause: str, now: datetime | None = None) -> int:
    """Re-rate a few merchants (an event touching several) in the caller's transaction."""
    ids = sorted(set(merchant_ids))
    if not ids:
        return 0
    db.session.flush()
    config, now = current_config(), now or datetime.now(UTC)
    changed = 0
    for start in range(0, len(ids), EVENT_BATCH):
        changed += _rate(Scope(ids=tuple(ids[start:start + EVENT_BATCH])), config, cause, now)[1]
    return changed


# --- reading -------------------------------------------------------------------------------

def current_rating(merchant_id: int) -> Rating | None:
    """The merchant's current rating row, or None before its first rating."""
    return db.session.scalar(
        select(Rating).where(Rating.merchant_id == merchant_id, Rating.is_current))


def current_grades(merchant_ids: Sequence[int]) -> dict[int, str]:
    """merchant id -> current grade, in one query (a page of the directory)."""
    if not merchant_ids:
        return {}
    return dict(db.session.execute(
        select(Rating.merchant_id, Rating.grade)
        .where(Rating.merchant_id.in_(list(merchant_ids)), Rating.is_current)).tuples().all())


def history_query(merchant_id: int) -> Select[tuple[Rating]]:
    """The merchant's ratings, unordered (the pages order them newest first)."""
    return select(Rating).where(Rating.merchant_id == merchant_id)


def rating_before(rating: Rating) -> Rating | None:
    """The merchant's rating just older than `rating` (what it moved from)."""
    return db.session.scalar(
        select(Rating).where(Rating.merchant_id == rating.merchant_id,
                             Rating.computed_at <= rating.computed_at,
                             or_(Rating.computed_at < rating.computed_at, Rating.id < rating.id))
        .order_by(Rating.computed_at.desc(), Rating.id.desc()).limit(1))


def history(merchant_id: int, limit: int = 100) -> list[Rating]:
    """The merchant's ratings, newest first (each row a change of grade, score, cap or model)."""
    return list(db.session.scalars(
        select(Rating).where(Rating.merchant_id == merchant_id)
        .order_by(Rating.computed_at.desc(), Rating.id.desc()).limit(limit)))
