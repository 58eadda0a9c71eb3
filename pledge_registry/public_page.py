"""What changes a merchant's public scan page, declared beside the models, and the one
listener that keeps `Merchant.public_version` true to it.

The scan page (/m/<code> and its .json) is cached per (code, public_version): a change it
shows must bump the version in the same transaction, or shoppers keep seeing the old page.
Rather than every service remembering to, each model whose rows the page shows says which
of its columns the page shows and how a row reaches its merchant:

    __public_page__ = PublicPage({"status", "expires_at"}, merchant="merchant_id")

and at every flush one listener bumps the version, once per merchant, for every such row
inserted, deleted, or updated in a declared column. A row shown on many merchants' pages (a
town's name) names them with `merchants`, a WHERE clause on the merchant table.

SQL that bypasses the ORM session (the set-based rating recompute) is invisible to the
listener: it calls `bump_versions` itself. Each bump also stamps `public_changed_at`, the
public API's Last-Modified.

On PostgreSQL a trigger on the merchant table notifies every worker's scan listener of a
bumped version when the transaction commits (public/scan_listener.py); the process that
commits also drops those merchants from its own listener at once (`_after_commit`), so
that its next scan never waits for the notification to come back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import ColumnElement, event, inspect, or_, text, update
from sqlalchemy.orm import ColumnProperty, Mapper, Session, UOWTransaction

from .database import utcnow

_BUMPED = "public_page_bumped"  # session.info: merchants whose version this flush bumped
_UNCOMMITTED = "public_page_uncommitted"  # ... and those this transaction bumped so far


@dataclass(frozen=True)
class PublicPage:
    """Which columns of a model the scan page shows, and whose page a row is on."""

    columns: frozenset[str]
    # The attribute holding the merchant's id ("id" on Merchant itself) ...
    merchant: str | None = None
    # ... or, for a row shown on many pages, a WHERE clause picking those merchants.
    merchants: Callable[[Any], ColumnElement[bool]] | None = field(default=None, compare=False)

    def __init__(self, columns: Iterable[str], *, merchant: str | None = None,
                 merchants: Callable[[Any], ColumnElement[bool]] | None = None) -> None:
        if (merchant is None) == (merchants is None):
            raise ValueError("a public page row names its merchant or its merchants, not both")
        object.__setattr__(self, "columns", frozenset(columns))
        object.__setattr__(self, "merchant", merchant)
        object.__setattr__(self, "merchants", merchants)


def declarations() -> dict[type, PublicPage]:
    """Every model that declares a public page, with its declaration."""
    from .database import Base

    return {m.class_: m.class_.__public_page__ for m in Base.registry.mappers
            if isinstance(getattr(m.class_, "__public_page__", None), PublicPage)}


def _check_declarations() -> None:
    """A declared column that is not a mapped column would silently never bump: refuse it."""
    for model, page in declarations().items():
        mapper: Mapper[Any] = inspect(model)
        for name in page.columns | ({page.merchant} if page.merchant else set()):
            if not isinstance(mapper.attrs.get(name), ColumnProperty):
                raise RuntimeError(f"{model.__name__}.__public_page__ names {name!r}, not a column")


def _affected(session: Session) -> tuple[set[int], list[ColumnElement[bool]]]:
    ids: set[int] = set()
    wheres: list[ColumnElement[bool]] = []

    def add(obj: Any, page: PublicPage, old_too: bool) -> None:
        if page.merchants is not None:
            wheres.append(page.merchants(obj))
            return
        assert page.merchant is not None
        found = [getattr(obj, page.merchant)]
        if old_too:  # a row moved to another merchant leaves the old page too
            found += inspect(obj).attrs[page.merchant].history.deleted
        ids.update(i for i in found if i is not None)  # None: a row not on a merchant yet

    for obj in session.new:
        page = getattr(type(obj), "__public_page__", None)
        # A new row shown on many pages (a town, a template version) is on none of them yet:
        # no merchant can name it before it exists.
        if page is not None and page.merchants is None:
            add(obj, page, old_too=False)
    for obj in session.deleted:
        if (page := getattr(type(obj), "__public_page__", None)) is not None:
            add(obj, page, old_too=True)
    for obj in session.dirty:
        page = getattr(type(obj), "__public_page__", None)
        if page is None:
            continue
        attrs = inspect(obj).attrs
        if any(attrs[name].history.has_changes() for name in page.columns):
            add(obj, page, old_too=True)
    return ids, wheres


def _bump(session: Session, ids: Collection[int], wheres: list[ColumnElement[bool]]) -> None:
    from .models import Merchant

    connection = session.connection()
    criteria: list[Any] = list(wheres)
    if ids:
        # The ids as one bound parameter: a nightly recompute passes tens of thousands,
        # more than SQLite allows parameters in one statement.
        if connection.dialect.name == "postgresql":
            criteria.append(text("merchant.id = ANY(:ids)").bindparams(ids=sorted(ids)))
        else:
            criteria.append(text("merchant.id IN (SELECT value FROM json_each(:ids))")
                            .bindparams(ids=json.dumps(sorted(ids))))
    connection.execute(update(Merchant).where(or_(*criteria))
                       .values(public_version=Merchant.public_version + 1, public_changed_at=utcnow()))


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    ids, wheres = _affected(session)
    if not ids and not wheres:
        return
    _bump(session, ids, wheres)
    for key in (_BUMPED, _UNCOMMITTED):
        bumped = session.info.setdefault(key, set())
        bumped.update(ids)
        if wheres:
            bumped.add(None)  # some merchants, not known by id: every one


def _after_flush_postexec(session: Session, _context: UOWTransaction) -> None:
    bumped = session.info.pop(_BUMPED, None)
    if bumped:
        _expire_loaded(session, bumped)


def _expire_loaded(session: Session, ids: set[int | None]) -> None:
    """Loaded merchants must not keep the version the UPDATE just replaced."""
    from .models import Merchant

    every = None in ids
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Merchant) and (every or obj.id in ids):
            session.expire(obj, ["public_version", "public_changed_at"])


def bump_versions(merchant_ids: Collection[int]) -> None:
    """Bump the version of these merchants' pages, for changes made with SQL the ORM session
    does not see (the set-based rating recompute); ORM changes are bumped by the listener."""
    from .extensions import db

    if not merchant_ids:
        return
    _bump(db.session(), merchant_ids, [])
    _expire_loaded(db.session(), set(merchant_ids))
    db.session().info.setdefault(_UNCOMMITTED, set()).update(merchant_ids)


def _after_commit(session: Session) -> None:
    bumped = session.info.pop(_UNCOMMITTED, None)
    if bumped and has_app_context():
        from .public.scan_listener import forget_committed

        forget_committed(current_app, bumped)


def _after_rollback(session: Session) -> None:
    session.info.pop(_UNCOMMITTED, None)


def init_app(app: Flask) -> None:
    """Listen on the app's session (called by create_app)."""
    from .extensions import db

    _check_declarations()
    # db.session is a scoped_session: listening on it covers every session it makes.
    if not event.contains(db.session, "after_flush", _after_flush):
        event.listen(db.session, "after_flush", _after_flush)
        event.listen(db.session, "after_flush_postexec", _after_flush_postexec)
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_rollback", _after_rollback)
