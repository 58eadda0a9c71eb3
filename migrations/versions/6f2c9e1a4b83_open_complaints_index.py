"""the staff queue's index over the open cases only

The queue lists open cases by their next deadline; the index on that key over every case
walks the closed ones too (most of the table), which the filters then drop row by row.
This one holds the open cases only (partial, on both engines). No table is altered.

Revision ID: 6f2c9e1a4b83
Revises: 5e8b1d4c7a20
Create Date: 2026-12-02 14:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = '6f2c9e1a4b83'
down_revision = '5e8b1d4c7a20'
branch_labels = None
depends_on = None

# The same expression and condition as the model's (NEXT_DUE, IS_OPEN): the queries must match them.
NEXT_DUE = sa.text("(CASE WHEN status = 'received' THEN acceptance_due_at ELSE completion_due_at END)")
OPEN = sa.text("status IN ('received', 'accepted', 'with_merchant', 'merchant_answered', 'mediating')")


def upgrade():
    op.create_index('ix_complaint_open_next_due', 'complaint', [NEXT_DUE, 'id'], sqlite_where=OPEN,
                    postgresql_where=OPEN)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite's planner takes a partial index over a sort only once it has statistics;
        # PostgreSQL's autovacuum gathers its own.
        op.execute("ANALYZE complaint")


def downgrade():
    op.drop_index('ix_complaint_open_next_due', table_name='complaint')
