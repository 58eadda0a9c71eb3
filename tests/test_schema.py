"""The models and the migrations describe one schema."""

from __future__ import annotations

import warnings
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pledge_registry.extensions import db


def _expression_indexes() -> set[str]:
    """Indexes on an expression: Alembic cannot compare them (SQLite does not reflect them,
    PostgreSQL gives back its own spelling); test_staff_lists checks that the queries use them."""
    return {index.name for table in db.metadata.tables.values() for index in table.indexes
            if any(not isinstance(e, sa.Column) for e in index.expressions) and index.name}


def test_models_match_the_migrated_database(app: Any) -> None:
    """What `flask db migrate` would write after a model change that has no migration."""
    expression_indexes = _expression_indexes()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        with warnings.catch_warnings():
            # SQLite's reflection and Alembic say they skip those same expression indexes.
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index",
                                    sa.exc.SAWarning)
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index",
                                    UserWarning)
            compared = compare_metadata(context, db.metadata)
        diff = [d for d in compared
                if not (isinstance(d, tuple) and d[0] in ("add_index", "remove_index")
                        and d[1].name in expression_indexes)]
        assert diff == []
        names = {row[0] for row in conn.execute(sa.text(
            "SELECT name FROM sqlite_master WHERE type = 'index'" if conn.dialect.name == "sqlite"
            else "SELECT indexname FROM pg_indexes"))}
    assert expression_indexes and expression_indexes <= names
