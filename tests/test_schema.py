"""The models and the migrations describe one schema."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pledge_registry.extensions import db


def test_models_match_the_migrated_database(app: Any) -> None:
    """What `flask db migrate` would write after a model change that has no migration."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []
