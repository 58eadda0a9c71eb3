"""the current ratings by grade: the API's merchant search by a grade few shops hold

Revision ID: f4c8d2e6a913
Revises: e3b7c1d9a524
Create Date: 2026-12-02 14:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'f4c8d2e6a913'
down_revision = 'e3b7c1d9a524'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_rating_current_grade', 'rating', ['grade', 'merchant_id'],
                    sqlite_where=sa.text('is_current'), postgresql_where=sa.text('is_current'))


def downgrade():
    op.drop_index('ix_rating_current_grade', table_name='rating')
