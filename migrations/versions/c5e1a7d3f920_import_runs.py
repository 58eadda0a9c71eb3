"""import runs: one row per file an importer read (merchants, inspections, penalties, a channel's export)

Revision ID: c5e1a7d3f920
Revises: f4c8d2e6a913
Create Date: 2026-12-02 15:50:00

"""
import sqlalchemy as sa
from alembic import op

import pledge_registry.database

revision = 'c5e1a7d3f920'
down_revision = 'f4c8d2e6a913'
branch_labels = None
depends_on = None

KINDS = ("merchants", "inspections", "penalties", "channel:web", "channel:12315", "channel:12345", "channel:phone",
         "channel:letter", "channel:walk_in", "channel:referral", "channel:station_desk", "channel:partner_api")


def upgrade():
    op.create_table('import_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', pledge_registry.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=True),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=120), nullable=False),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")", name=op.f('ck_import_run_kind')),
    sa.CheckConstraint('rows_read >= 0 AND created >= 0 AND skipped >= 0 AND errors >= 0',
                       name=op.f('ck_import_run_counts')),
    sa.ForeignKeyConstraint(['officer_id'], ['user_account.id'], name=op.f('fk_import_run_officer_id_user_account')),
    sa.ForeignKeyConstraint(['town_id'], ['town.id'], name=op.f('fk_import_run_town_id_town')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_run'))
    )
    op.create_index('ix_import_run_time', 'import_run', ['created_at', 'id'])
    op.create_index('ix_import_run_town_time', 'import_run', ['town_id', 'created_at', 'id'])
    op.create_index('ix_import_run_kind_time', 'import_run', ['kind', 'created_at', 'id'])


def downgrade():
    op.drop_table('import_run')
