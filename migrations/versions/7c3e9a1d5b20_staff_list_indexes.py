"""indexes for the staff lists at province scale

Every staff list pages by keyset in the order of one of these (pledge_registry/paging.py).

Revision ID: 7c3e9a1d5b20
Revises: 7c1e9a0d5b42
Create Date: 2026-12-02 06:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '7c3e9a1d5b20'
down_revision = '7c1e9a0d5b42'
branch_labels = None
depends_on = None

# The same expressions as the models' (NEXT_DUE, SUBMITTED_AT): the queries must match them.
NEXT_DUE = sa.text("(CASE WHEN status = 'received' THEN acceptance_due_at ELSE completion_due_at END)")
SUBMITTED_AT = sa.text("coalesce(submitted_at, created_at)")


def upgrade():
    op.create_index('ix_complaint_next_due', 'complaint', [NEXT_DUE, 'id'])
    op.create_index('ix_pledge_status_submitted', 'pledge', ['status', SUBMITTED_AT, 'id'])
    op.create_index('ix_pledge_status_kind_submitted', 'pledge', ['status', 'kind', SUBMITTED_AT, 'id'])
    op.create_index('ix_merchant_status_created', 'merchant', ['status', 'created_at', 'id'])
    op.create_index('ix_nomination_status_created', 'nomination', ['status', 'created_at', 'id'])
    op.create_index('ix_rating_appeal_status_created', 'rating_appeal', ['status', 'created_at', 'id'])
    op.create_index('ix_suspension_proposal_status_created', 'suspension_proposal', ['status', 'created_at', 'id'])


def downgrade():
    op.drop_index('ix_suspension_proposal_status_created', table_name='suspension_proposal')
    op.drop_index('ix_rating_appeal_status_created', table_name='rating_appeal')
    op.drop_index('ix_nomination_status_created', table_name='nomination')
    op.drop_index('ix_merchant_status_created', table_name='merchant')
    op.drop_index('ix_pledge_status_kind_submitted', table_name='pledge')
    op.drop_index('ix_pledge_status_submitted', table_name='pledge')
    op.drop_index('ix_complaint_next_due', table_name='complaint')
