"""suspicious scans, shoppers' sticker reports and scan alerts

Scans of unknown codes and of suspended, revoked, expired or closed badges; where shoppers
saw a sticker with an unknown code; the alerts both raise. Every row is deleted after at
most 30 days (`flask scans purge`), and none holds personal data beyond a hashed address.

Revision ID: 8d4f2b6e1a90
Revises: b2d5f8a31c42
Create Date: 2026-12-02 08:00:35

"""
import sqlalchemy as sa
from alembic import op

import pledge_registry.database

# revision identifiers, used by Alembic.
revision = '8d4f2b6e1a90'
down_revision = 'b2d5f8a31c42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sticker_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reported_at', pledge_registry.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=True),
    sa.Column('place', sa.String(length=100), nullable=False),
    sa.Column('shop_name', sa.String(length=100), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['town_id'], ['town.id'], name=op.f('fk_sticker_report_town_id_town')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sticker_report'))
    )
    with op.batch_alter_table('sticker_report', schema=None) as batch_op:
        batch_op.create_index('ix_sticker_report_code', ['code', 'reported_at'], unique=False)
        batch_op.create_index('ix_sticker_report_time', ['reported_at', 'id'], unique=False)

    op.create_table('scan_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('raised_at', pledge_registry.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('period', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=True),
    sa.Column('town_id', sa.Integer(), nullable=True),
    sa.Column('scans', sa.Integer(), nullable=False),
    sa.Column('sources', sa.Integer(), nullable=False),
    sa.Column('notified', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('unknown_repeated', 'revoked_scanned')", name=op.f('ck_scan_alert_kind')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_scan_alert_merchant_id_merchant')),
    sa.ForeignKeyConstraint(['town_id'], ['town.id'], name=op.f('fk_scan_alert_town_id_town')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_alert')),
    sa.UniqueConstraint('kind', 'code', 'period', name=op.f('uq_scan_alert_kind_code_period'))
    )
    with op.batch_alter_table('scan_alert', schema=None) as batch_op:
        batch_op.create_index('ix_scan_alert_time', ['raised_at', 'id'], unique=False)

    op.create_table('suspicious_scan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scanned_at', pledge_registry.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.CheckConstraint("(state = 'unknown') = (merchant_id IS NULL)", name=op.f('ck_suspicious_scan_merchant_known')),
    sa.CheckConstraint("state IN ('unknown', 'suspended', 'revoked', 'expired', 'closed')", name=op.f('ck_suspicious_scan_state')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_suspicious_scan_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suspicious_scan'))
    )
    with op.batch_alter_table('suspicious_scan', schema=None) as batch_op:
        batch_op.create_index('ix_suspicious_scan_code_time', ['code', 'scanned_at'], unique=False)
        batch_op.create_index('ix_suspicious_scan_merchant_time', ['merchant_id', 'scanned_at'], unique=False)
        batch_op.create_index('ix_suspicious_scan_state_time', ['state', 'scanned_at'], unique=False)
        batch_op.create_index('ix_suspicious_scan_time', ['scanned_at', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('suspicious_scan', schema=None) as batch_op:
        batch_op.drop_index('ix_suspicious_scan_time')
        batch_op.drop_index('ix_suspicious_scan_state_time')
        batch_op.drop_index('ix_suspicious_scan_merchant_time')
        batch_op.drop_index('ix_suspicious_scan_code_time')

    op.drop_table('suspicious_scan')
    with op.batch_alter_table('scan_alert', schema=None) as batch_op:
        batch_op.drop_index('ix_scan_alert_time')

    op.drop_table('scan_alert')
    with op.batch_alter_table('sticker_report', schema=None) as batch_op:
        batch_op.drop_index('ix_sticker_report_time')
        batch_op.drop_index('ix_sticker_report_code')

    op.drop_table('sticker_report')
