"""partner keys: when each was last used (the admin's partner page)

Revision ID: e3b7c1d9a524
Revises: 6f2c9e1a4b83
Create Date: 2026-12-02 14:10:00

"""
import sqlalchemy as sa
from alembic import op

from pledge_registry.database import UTCDateTime

revision = 'e3b7c1d9a524'
down_revision = '6f2c9e1a4b83'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('partner_key', sa.Column('last_used_at', UTCDateTime(), nullable=True))


def downgrade():
    # SQLite's batch mode rebuilds the table from what it reflects, which may lose the
    # partial index's WHERE: it is dropped before and made again after.
    op.drop_index('ix_partner_key_partner_live', table_name='partner_key')
    with op.batch_alter_table('partner_key') as batch:
        batch.drop_column('last_used_at')
    op.create_index('ix_partner_key_partner_live', 'partner_key', ['partner_id'],
                    sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))
