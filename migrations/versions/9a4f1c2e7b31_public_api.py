"""the public API: when a merchant's public data last changed; partner systems and their keys

Revision ID: 9a4f1c2e7b31
Revises: 8a4d2e6f1c30
Create Date: 2026-12-02 08:10:00

"""
import sqlalchemy as sa
from alembic import op

from pledge_registry.database import UTCDateTime

revision = '9a4f1c2e7b31'
down_revision = '8a4d2e6f1c30'
branch_labels = None
depends_on = None

# SQLite's batch mode rebuilds the complaint table from what it reflects, and it does not
# reflect indexes on an expression: this one is dropped before and made again after (the
# same expression as the model's NEXT_DUE).
NEXT_DUE = sa.text("(CASE WHEN status = 'received' THEN acceptance_due_at ELSE completion_due_at END)")


def upgrade():
    with op.batch_alter_table('merchant') as batch:
        batch.add_column(sa.Column('public_changed_at', UTCDateTime(), nullable=True))
    # What existed before may have changed at any time: now is the only safe Last-Modified.
    op.execute(sa.text("UPDATE merchant SET public_changed_at = CURRENT_TIMESTAMP"))

    op.create_table(
        'partner',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_partner')),
        sa.UniqueConstraint('code', name=op.f('uq_partner_code')),
    )
    op.create_table(
        'partner_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('partner_id', sa.Integer(), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('revoked_at', UTCDateTime(), nullable=True),
        sa.CheckConstraint('length(secret_hash) = 64', name=op.f('ck_partner_key_secret_hash_length')),
        sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_partner_key_partner_id_partner')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_key')),
        sa.UniqueConstraint('prefix', name=op.f('uq_partner_key_prefix')),
    )
    op.create_index('ix_partner_key_partner_live', 'partner_key', ['partner_id'],
                    sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))
    op.drop_index('ix_complaint_next_due', table_name='complaint')
    with op.batch_alter_table('complaint') as batch:
        batch.add_column(sa.Column('partner_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f('fk_complaint_partner_id_partner'), 'partner', ['partner_id'], ['id'])
        batch.create_index('ix_complaint_partner', ['partner_id', 'id'])
        batch.create_check_constraint('partner_channel', "(channel = 'partner_api') = (partner_id IS NOT NULL)")
    op.create_index('ix_complaint_next_due', 'complaint', [NEXT_DUE, 'id'])


def downgrade():
    op.drop_index('ix_complaint_next_due', table_name='complaint')
    with op.batch_alter_table('complaint') as batch:
        batch.drop_constraint(batch.f('ck_complaint_partner_channel'), type_='check')
        batch.drop_index('ix_complaint_partner')
        batch.drop_constraint(batch.f('fk_complaint_partner_id_partner'), type_='foreignkey')
        batch.drop_column('partner_id')
    op.create_index('ix_complaint_next_due', 'complaint', [NEXT_DUE, 'id'])
    op.drop_index('ix_partner_key_partner_live', table_name='partner_key')
    op.drop_table('partner_key')
    op.drop_table('partner')
    with op.batch_alter_table('merchant') as batch:
        batch.drop_column('public_changed_at')
