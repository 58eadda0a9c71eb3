"""a pledge carries its shop's town, for the review queue's town filter

The pair (merchant_id, town_id) is a foreign key to the shop's (id, town_id), updated in
cascade: the schema keeps the copy equal to the shop's town.

Revision ID: 7c4a2e6d9f31
Revises: 7c3e9a1d5b20
Create Date: 2026-12-02 08:10:00

"""
import warnings
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = '7c4a2e6d9f31'
down_revision = '7c3e9a1d5b20'
branch_labels = None
depends_on = None

SUBMITTED_AT = "coalesce(submitted_at, created_at)"
# SQLite rebuilds the table for the new foreign key and cannot reflect indexes on an
# expression or with a WHERE: they are written out again after the rebuild.
SQLITE_INDEXES = {
    "ix_pledge_status_submitted": f"(status, {SUBMITTED_AT}, id)",
    "ix_pledge_status_kind_submitted": f"(status, kind, {SUBMITTED_AT}, id)",
}
SQLITE_PARTIAL = {
    "uq_pledge_standing": "(merchant_id, kind) WHERE status IN ('active', 'suspended')",
    "uq_pledge_pending": "(merchant_id, kind) WHERE status IN ('draft', 'submitted')",
}


@contextmanager
def _rebuilding_pledge():
    """The table rebuild, without SQLite's warnings about the indexes written out again below."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index",
                                sa.exc.SAWarning)
        with op.batch_alter_table('pledge', schema=None) as batch_op:
            yield batch_op


def _sqlite_indexes_back() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, columns in SQLITE_INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON pledge {columns}")
    for name, rest in SQLITE_PARTIAL.items():
        op.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON pledge {rest}")


def upgrade():
    op.create_index('uq_merchant_id_town', 'merchant', ['id', 'town_id'], unique=True)
    with op.batch_alter_table('pledge', schema=None) as batch_op:
        batch_op.add_column(sa.Column('town_id', sa.Integer(), nullable=True))
    op.execute("UPDATE pledge SET town_id = (SELECT merchant.town_id FROM merchant WHERE merchant.id = pledge.merchant_id)")
    with _rebuilding_pledge() as batch_op:
        batch_op.alter_column('town_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_pledge_merchant_town', 'merchant', ['merchant_id', 'town_id'],
                                    ['id', 'town_id'], onupdate='CASCADE')
    _sqlite_indexes_back()
    op.create_index('ix_pledge_status_town_submitted', 'pledge',
                    ['status', 'town_id', sa.text(SUBMITTED_AT), 'id'])
    op.create_index('ix_pledge_status_town_kind_submitted', 'pledge',
                    ['status', 'town_id', 'kind', sa.text(SUBMITTED_AT), 'id'])


def downgrade():
    op.drop_index('ix_pledge_status_town_kind_submitted', table_name='pledge')
    op.drop_index('ix_pledge_status_town_submitted', table_name='pledge')
    with _rebuilding_pledge() as batch_op:
        batch_op.drop_constraint('fk_pledge_merchant_town', type_='foreignkey')
        batch_op.drop_column('town_id')
    _sqlite_indexes_back()
    op.drop_index('uq_merchant_id_town', table_name='merchant')
