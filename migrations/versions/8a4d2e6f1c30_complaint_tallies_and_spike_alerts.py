"""complaint tallies and spike alerts

Complaint counts per local day and month and dimension, kept in the transaction that changes a
complaint (pledge_registry/analysis/tally.py); run `flask stats rebuild` after upgrading to count
the complaints already stored.

Revision ID: 8a4d2e6f1c30
Revises: 8d4f2b6e1a90
Create Date: 2026-12-02 08:00:02.435251

"""
import sqlalchemy as sa
from alembic import op

import pledge_registry.database

# revision identifiers, used by Alembic.
revision = '8a4d2e6f1c30'
down_revision = '8d4f2b6e1a90'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('complaint_tally',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grain', sa.String(length=8), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('request_type', sa.String(length=16), nullable=False),
    sa.Column('scope_town_id', sa.Integer(), nullable=False),
    sa.Column('dimension', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('accepted_on_time', sa.Integer(), nullable=False),
    sa.Column('accepted_late', sa.Integer(), nullable=False),
    sa.Column('finished_on_time', sa.Integer(), nullable=False),
    sa.Column('finished_late', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Integer(), nullable=False),
    sa.Column('resolved', sa.Integer(), nullable=False),
    sa.Column('surveys_answered', sa.Integer(), nullable=False),
    sa.Column('surveys_satisfied', sa.Integer(), nullable=False),
    sa.Column('amount_recovered_cents', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("grain IN ('day', 'month')", name=op.f('ck_complaint_tally_grain')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_tally')),
    sa.UniqueConstraint('grain', 'dimension', 'request_type', 'scope_town_id', 'period', 'key', name='uq_complaint_tally_key')
    )
    with op.batch_alter_table('complaint_tally', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_tally_series', ['grain', 'dimension', 'key', 'period'], unique=False)

    op.create_table('spike_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=False),
    sa.Column('dimension', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('last_week', sa.Date(), nullable=False),
    sa.Column('observed', sa.Integer(), nullable=False),
    sa.Column('baseline_mean', sa.Float(), nullable=False),
    sa.Column('p_value', sa.Float(), nullable=False),
    sa.Column('series', sa.JSON(), nullable=False),
    sa.Column('rule', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', pledge_registry.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_at', pledge_registry.database.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open', 'acknowledged')", name=op.f('ck_spike_alert_status')),
    sa.CheckConstraint('observed >= 0 AND baseline_mean >= 0', name=op.f('ck_spike_alert_counts')),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['user_account.id'], name=op.f('fk_spike_alert_acknowledged_by_id_user_account')),
    sa.ForeignKeyConstraint(['town_id'], ['town.id'], name=op.f('fk_spike_alert_town_id_town')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spike_alert')),
    sa.UniqueConstraint('town_id', 'dimension', 'key', 'week_start', name='uq_spike_alert_episode')
    )
    with op.batch_alter_table('spike_alert', schema=None) as batch_op:
        batch_op.create_index('ix_spike_alert_status_created', ['status', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_spike_alert_town_id'), ['town_id'], unique=False)

    op.create_table('spike_alert_event',
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_at', pledge_registry.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_spike_alert_event_actor_id_user_account')),
    sa.ForeignKeyConstraint(['alert_id'], ['spike_alert.id'], name=op.f('fk_spike_alert_event_alert_id_spike_alert')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spike_alert_event'))
    )
    with op.batch_alter_table('spike_alert_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spike_alert_event_alert_id'), ['alert_id'], unique=False)



def downgrade():
    with op.batch_alter_table('spike_alert_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spike_alert_event_alert_id'))

    op.drop_table('spike_alert_event')
    with op.batch_alter_table('spike_alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spike_alert_town_id'))
        batch_op.drop_index('ix_spike_alert_status_created')

    op.drop_table('spike_alert')
    with op.batch_alter_table('complaint_tally', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_tally_series')

    op.drop_table('complaint_tally')
