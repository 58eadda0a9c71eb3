"""complaint channels: where a request came in, its reference there, its 12315 number

Every existing complaint was filed on the web form, so it becomes channel 'web' with the
consent given on that form.

Revision ID: a1c4e7f20b31
Revises: b4e2d9c17a30
Create Date: 2026-12-02 08:10:00

"""
import sqlalchemy as sa
from alembic import op

from pledge_registry.database import UTCDateTime

revision = 'a1c4e7f20b31'
down_revision = 'b4e2d9c17a30'
branch_labels = None
depends_on = None

CHANNELS = ('web', '12315', '12345', 'phone', 'letter', 'walk_in', 'referral', 'station_desk', 'partner_api')
CONSENT_METHODS = ('web_form', 'oral', 'written', 'channel')


# SQLite's batch mode rebuilds the table from what it reflects, and it does not reflect
# indexes on an expression: this one is dropped before and made again after (the same
# expression as the model's NEXT_DUE).
NEXT_DUE = sa.text("(CASE WHEN status = 'received' THEN acceptance_due_at ELSE completion_due_at END)")


def _in(column, values):
    return column + ' IN (' + ', '.join(f"'{v}'" for v in values) + ')'


def upgrade():
    op.drop_index('ix_complaint_next_due', table_name='complaint')
    with op.batch_alter_table('complaint') as batch:
        batch.add_column(sa.Column('consent_method', sa.String(length=16), server_default='web_form', nullable=False))
        batch.add_column(sa.Column('channel', sa.String(length=16), server_default='web', nullable=False))
        batch.add_column(sa.Column('channel_ref', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('registered_12315_ref', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('registered_12315_at', UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('recorded_by_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f('fk_complaint_recorded_by_id_user_account'), 'user_account',
                                 ['recorded_by_id'], ['id'])
        batch.create_unique_constraint(batch.f('uq_complaint_channel_channel_ref'), ['channel', 'channel_ref'])
        batch.create_unique_constraint(batch.f('uq_complaint_registered_12315_ref'), ['registered_12315_ref'])
        batch.create_check_constraint('channel', _in('channel', CHANNELS))
        batch.create_check_constraint('consent_method', _in('consent_method', CONSENT_METHODS))
    op.create_index('ix_complaint_channel_received', 'complaint', ['channel', 'received_at'])
    op.create_index('ix_complaint_next_due', 'complaint', [NEXT_DUE, 'id'])


def downgrade():
    op.drop_index('ix_complaint_channel_received', table_name='complaint')
    op.drop_index('ix_complaint_next_due', table_name='complaint')
    with op.batch_alter_table('complaint') as batch:
        batch.drop_constraint(batch.f('ck_complaint_consent_method'), type_='check')
        batch.drop_constraint(batch.f('ck_complaint_channel'), type_='check')
        batch.drop_constraint(batch.f('uq_complaint_registered_12315_ref'), type_='unique')
        batch.drop_constraint(batch.f('uq_complaint_channel_channel_ref'), type_='unique')
        batch.drop_constraint(batch.f('fk_complaint_recorded_by_id_user_account'), type_='foreignkey')
        batch.drop_column('recorded_by_id')
        batch.drop_column('registered_12315_at')
        batch.drop_column('registered_12315_ref')
        batch.drop_column('channel_ref')
        batch.drop_column('channel')
        batch.drop_column('consent_method')
    op.create_index('ix_complaint_next_due', 'complaint', [NEXT_DUE, 'id'])
