"""complaint tallies per business (credit code) and indexes of each period's rows by size

Revision ID: a7d2c4e9b615
Revises: c5e1a7d3f920
Create Date: 2026-12-03 14:30:00

The business rows are derived from the merchant rows already stored (the same counts, summed
over a credit code's shops), in the shop's town and across towns, as the tally rule counts
them from now on: no complaint is read again.
"""
import sqlalchemy as sa
from alembic import op

revision = 'a7d2c4e9b615'
down_revision = 'c5e1a7d3f920'
branch_labels = None
depends_on = None

COUNTERS = ("received", "accepted_on_time", "accepted_late", "finished_on_time", "finished_late",
            "closed", "resolved", "surveys_answered", "surveys_satisfied", "amount_recovered_cents")
ALL_TOWNS = 0


def upgrade():
    op.create_index('ix_complaint_tally_ranked', 'complaint_tally',
                    ['grain', 'dimension', 'request_type', 'scope_town_id', 'period', 'received'], unique=False)
    op.create_index('ix_complaint_tally_ranked_any_town', 'complaint_tally',
                    ['grain', 'dimension', 'request_type', 'period', 'received'], unique=False)
    columns = ", ".join(COUNTERS)
    sums = ", ".join(f"SUM(t.{name})" for name in COUNTERS)
    # Joined on the key as text: a cast of the key to a number could meet a non-numeric key
    # before the filter that excludes it.
    for scope, grouped in (("t.scope_town_id", ", t.scope_town_id"), (str(ALL_TOWNS), "")):
        op.execute(sa.text(
            f"INSERT INTO complaint_tally (grain, period, request_type, scope_town_id, dimension, key, {columns}) "
            f"SELECT t.grain, t.period, t.request_type, {scope}, 'business', m.credit_code, {sums} "
            "FROM complaint_tally t JOIN merchant m ON CAST(m.id AS VARCHAR(40)) = t.key "
            "WHERE t.dimension = 'merchant' "
            f"GROUP BY t.grain, t.period, t.request_type{grouped}, m.credit_code"))


def downgrade():
    op.execute(sa.text("DELETE FROM complaint_tally WHERE dimension = 'business'"))
    op.drop_index('ix_complaint_tally_ranked_any_town', table_name='complaint_tally')
    op.drop_index('ix_complaint_tally_ranked', table_name='complaint_tally')
