"""stations' own targets, cases handed from a station to the bureau, paused deadline clocks

Revision ID: b2d5f8a31c42
Revises: a1c4e7f20b31
Create Date: 2026-12-02 08:20:00

"""
import sqlalchemy as sa
from alembic import op

from pledge_registry.database import UTCDateTime

revision = 'b2d5f8a31c42'
down_revision = 'a1c4e7f20b31'
branch_labels = None
depends_on = None

# SQLite's batch mode does not keep indexes on an expression: this one is made again after.
NEXT_DUE = sa.text("(CASE WHEN status = 'received' THEN acceptance_due_at ELSE completion_due_at END)")


def upgrade():
    with op.batch_alter_table('supervision_station') as batch:
        batch.add_column(sa.Column('acceptance_days', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('completion_days', sa.Integer(), nullable=True))
        batch.create_check_constraint('acceptance_days', 'acceptance_days IS NULL OR acceptance_days >= 0')
        batch.create_check_constraint('completion_days', 'completion_days IS NULL OR completion_days >= 0')
    op.drop_index('ix_complaint_next_due', table_name='complaint')
    with op.batch_alter_table('complaint') as batch:
        batch.add_column(sa.Column('handed_from_station_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('handed_to_bureau_at', UTCDateTime(), nullable=True))
        batch.create_foreign_key(batch.f('fk_complaint_handed_from_station_id_supervision_station'),
                                 'supervision_station', ['handed_from_station_id'], ['id'])
        batch.create_index(batch.f('ix_complaint_handed_from_station_id'), ['handed_from_station_id'])
    op.create_index('ix_complaint_next_due', 'complaint', [NEXT_DUE, 'id'])
    op.create_table(
        'clock_pause',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('complaint_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column('started_at', UTCDateTime(), nullable=False),
        sa.Column('started_by_id', sa.Integer(), nullable=False),
        sa.Column('ended_at', UTCDateTime(), nullable=True),
        sa.Column('ended_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("reason IN ('testing', 'appraisal', 'expert_review', 'other')",
                           name=op.f('ck_clock_pause_reason')),
        sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at', name=op.f('ck_clock_pause_ends_after_start')),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_clock_pause_complaint_id_complaint')),
        sa.ForeignKeyConstraint(['started_by_id'], ['user_account.id'],
                                name=op.f('fk_clock_pause_started_by_id_user_account')),
        sa.ForeignKeyConstraint(['ended_by_id'], ['user_account.id'],
                                name=op.f('fk_clock_pause_ended_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_clock_pause')),
    )
    op.create_index(op.f('ix_clock_pause_complaint_id'), 'clock_pause', ['complaint_id'])
    op.create_index('uq_clock_pause_open', 'clock_pause', ['complaint_id'], unique=True,
                    sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))


def downgrade():
    op.drop_index('uq_clock_pause_open', table_name='clock_pause')
    op.drop_index(op.f('ix_clock_pause_complaint_id'), table_name='clock_pause')
    op.drop_table('clock_pause')
    op.drop_index('ix_complaint_next_due', table_name='complaint')
    with op.batch_alter_table('complaint') as batch:
        batch.drop_index(batch.f('ix_complaint_handed_from_station_id'))
        batch.drop_constraint(batch.f('fk_complaint_handed_from_station_id_supervision_station'), type_='foreignkey')
        batch.drop_column('handed_to_bureau_at')
        batch.drop_column('handed_from_station_id')
    op.create_index('ix_complaint_next_due', 'complaint', [NEXT_DUE, 'id'])
    with op.batch_alter_table('supervision_station') as batch:
        batch.drop_constraint(batch.f('ck_supervision_station_completion_days'), type_='check')
        batch.drop_constraint(batch.f('ck_supervision_station_acceptance_days'), type_='check')
        batch.drop_column('completion_days')
        batch.drop_column('acceptance_days')
